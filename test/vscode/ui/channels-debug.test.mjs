// The channels view and debugger-aware peers in a real VS Code (code-server + the packaged .vsix): the grouped view
// (This window / Live / Stale), filtered to this run's channels, and a Node program that uses the sipc Node API
// launched with F5 under the built-in JavaScript debugger and stopped at a `debugger` statement: its channel shows
// "paused in debugger". Screenshots in the dark and light themes go to test/out/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorkbench, runCommand, screenshot, poll, repoRoot, pickInQuickInput } from '../harness/workbench.mjs';
import { newRunDir } from '../harness/cache.mjs';
import { cli, namePrefix } from './helpers.mjs';


test('channels view grouped and a Node debuggee paused in the debugger, dark and light', { timeout: 300_000 }, async (t) => {
  const base = `${namePrefix}ui-`;
  const names = { live2: `${base}x-2`, live10: `${base}x-10`, stale: `${base}old`, debuggee: `${base}debuggee` };
  const children = [];
  t.after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const name of Object.values(names)) spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  for (const name of [names.live10, names.live2]) children.push(spawn(cli, ['echo', name], { stdio: 'ignore' }));
  const dying = spawn(cli, ['recv', names.stale], { stdio: 'ignore' });
  await poll(() => spawnSync(cli, ['stat', names.stale]).status === 0, { what: 'the channel that will go stale' });
  dying.kill('SIGKILL');

  // A workspace with the debuggee and a launch configuration for F5.
  const folder = join(newRunDir('channels-debug'), 'workspace');
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  copyFileSync(join(repoRoot, 'test/vscode/suite/fixtures/debuggee.js'), join(folder, 'debuggee.js'));
  writeFileSync(join(folder, '.vscode/launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [{
      type: 'node', request: 'launch', name: 'sipc debuggee', program: '${workspaceFolder}/debuggee.js',
      args: [names.debuggee], env: { SIPC_API_PATH: join(repoRoot, 'dist/api.js') }, console: 'internalConsole',
    }],
  }, null, 2));

  const wb = await startWorkbench({ folder, theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;

  await page.locator('.activitybar .action-item a[aria-label^="SIPC"]').first().click();
  await poll(async () => {
    await runCommand(page, 'SIPC: Filter Channels…');
    const input = page.locator('.quick-input-widget input').first();
    if (!(await input.isVisible())) return false;
    await input.fill(base);
    await page.keyboard.press('Enter');
    return true;
  }, { what: 'the channel filter', timeoutMs: 60_000, intervalMs: 1000 });
  const tree = page.locator('.pane-body .monaco-list-row');
  await tree.filter({ hasText: names.live2 }).first().waitFor();
  const labels = async () => (await tree.locator('.label-name').allInnerTexts()).map((t) => t.trim());
  const live = (await labels()).filter((l) => l.startsWith(`${base}x-`));
  assert.deepEqual(live, [names.live2, names.live10], 'natural order: x-2 before x-10');
  assert.ok((await labels()).includes('Stale'), 'the Stale group is listed');

  // Start Debugging (F5): the debuggee starts under the JavaScript debugger and stops at its `debugger` statement.
  await runCommand(page, 'Debug: Start Debugging');
  const pausedRow = tree.filter({ hasText: names.debuggee }).filter({ hasText: 'paused in debugger' });
  await poll(() => pausedRow.first().isVisible().catch(() => false), { what: 'the debuggee\'s channel paused in debugger', timeoutMs: 90_000, intervalMs: 500 })
    .catch(async (error) => { throw new Error(`${error.message} (screenshot: ${await screenshot(page, 'failed-channels-debug')})`); });
  await screenshot(page, 'channels-debug-paused-dark');
  await runCommand(page, 'Preferences: Color Theme');
  await pickInQuickInput(page, 'Light Modern');
  await poll(async () => (await page.locator('.monaco-workbench.vs').count()) > 0, { what: 'the light theme' });
  await pausedRow.first().waitFor();
  await screenshot(page, 'channels-debug-paused-light');

  // Stop the session (continuing and the mark going away is checked in test/vscode/suite/debugging.test.js).
  await runCommand(page, 'Debug: Stop');
});
