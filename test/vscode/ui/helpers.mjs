// What the sipc UI tests share (not a test file: the harness runs ui/*.test.mjs): the CLI and the run's channel
// prefix, a CLI peer, and the workbench steps the tests repeat (connect, open the inspector). The workbench itself
// and its generic steps (pickInQuickInput, answerFileDialog) are in ../harness/workbench.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCommand, webviewFrame, poll, pickInQuickInput, repoRoot } from '../harness/workbench.mjs';

export const cli = process.env.SIPC_CLI || join(repoRoot, 'helper/build/linux-x64/sipc');
// Channel names carry the harness's run prefix, which it checks for leftovers once every test ended.
export const namePrefix = process.env.SIPC_TEST_NAME_PREFIX || `vt-${process.pid}-`;

/**
 * The CLI peer (`sipc connect NAME --format hex`): stdin lines become messages, received messages come out as hex
 * lines in `received`. Ended, and its channel removed, after the test.
 */
export function startCliPeer(t, name) {
  const child = spawn(cli, ['connect', name, '--format', 'hex', '--linger', 'inf'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const received = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      received.push(buffered.slice(0, newline).replace(/[^0-9a-f]/gi, '').toLowerCase());
      buffered = buffered.slice(newline + 1);
    }
  });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
    spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  return { child, received, stderr: () => stderr };
}

/**
 * SIPC: Connect to Channel… `name`. Under load the picker's listing and the palette can be slow, or the list taken
 * before the channel existed: then it closes the picker and runs the command again.
 */
export async function connectTo(page, name) {
  const command = 'SIPC: Connect to Channel…';
  const widget = page.locator('.quick-input-widget');
  await poll(async () => {
    await runCommand(page, command);
    if (!(await widget.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, () => false))) return false;
    await widget.locator('input').first().fill(name);
    const listed = await widget.locator('.quick-input-list .monaco-list-row', { hasText: name }).first()
      .waitFor({ timeout: 10_000 }).then(() => true, () => false);
    if (!listed) {
      await page.keyboard.press('Escape');
      return false;
    }
    await page.keyboard.press('Enter');
    return true;
  }, { what: `${command} to offer ${name}`, timeoutMs: 60_000, intervalMs: 1000 });
}

/**
 * SIPC: Open Inspector on this window's connection to `name` (it asks which connection only when there are several),
 * until the panel shows the channel. Returns the inspector's frame.
 */
export async function openInspectorOn(page, name) {
  await poll(async () => {
    await runCommand(page, 'SIPC: Open Inspector');
    if (await page.locator('.quick-input-widget').isVisible()) await pickInQuickInput(page, name);
    return webviewFrame(page).locator('#title', { hasText: name }).isVisible({ timeout: 8000 }).catch(() => false);
  }, { what: 'the inspector panel to show the channel', timeoutMs: 60_000, intervalMs: 1000 });
  return webviewFrame(page);
}
