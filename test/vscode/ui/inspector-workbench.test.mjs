// End to end in a real VS Code (code-server + the packaged .vsix) with a real peer process, the `sipc` CLI:
// the CLI's messages appear as rows with the right sizes and bytes, the hex view shows those bytes, the send
// box reaches the CLI byte-exact, and the pcapng export is read back by tshark. Screenshots of the panel in
// the dark and light themes go to test/out/screenshots/. Needs `npm run package` first (or the harness's
// SIPC_VSCODE_EXTENSIONS_DIR), Debian chromium, and tshark for the export check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorkbench, runCommand, webviewFrame, screenshot, poll, repoRoot } from '../harness/workbench.mjs';

const cli = process.env.SIPC_CLI || join(repoRoot, 'helper/build/linux-x64/sipc');
const hasTshark = spawnSync('tshark', ['--version']).status === 0;

/** The CLI peer: stdin lines become messages, received messages come out as hex lines. */
function startCliPeer(t, name) {
  const child = spawn(cli, ['connect', name, '--format', 'hex', '--linger', 'inf'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const received = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
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

/** Picks `label` in the open quick input (typing it first), retrying until it is listed. */
async function pickInQuickInput(page, text) {
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible' });
  await widget.locator('input').first().fill(text);
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor();
  await page.keyboard.press('Enter');
}

test('inspector in the workbench: CLI traffic, hex view, send box, pcapng export, themes', { timeout: 240_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `inspector-ui-${process.pid}`;
  const peer = startCliPeer(t, name);
  const wb = await startWorkbench({ theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;

  await runCommand(page, 'SIPC: Connect to Channel…');
  await pickInQuickInput(page, name);
  // Open Inspector asks which connection only when there are several; with one it opens at once.
  await poll(async () => {
    await runCommand(page, 'SIPC: Open Inspector');
    const picker = page.locator('.quick-input-widget');
    if (await picker.isVisible()) await pickInQuickInput(page, name);
    return webviewFrame(page).locator('#title', { hasText: name }).isVisible({ timeout: 8000 }).catch(() => false);
  }, { what: 'the inspector panel to show the channel', timeoutMs: 60_000, intervalMs: 1000 });
  const frame = webviewFrame(page);
  await frame.locator('#state', { hasText: 'connected' }).waitFor();

  // The peer sends a text line and a binary message (stdin lines become messages, without the newline).
  const binary = Buffer.from([0x00, 0x01, 0x7f, 0xfe, 0xff, 0x80, 0x1b]);
  peer.child.stdin.write('hello from the cli\n');
  peer.child.stdin.write(Buffer.concat([binary, Buffer.from('\n')]));
  const inbound = frame.locator('#listViewport .row.in');
  await poll(async () => (await inbound.count()) === 2, { what: 'two received rows', timeoutMs: 15_000 });
  assert.equal((await inbound.nth(0).locator('.c-size').textContent()).trim(), '18');
  assert.equal((await inbound.nth(0).locator('.c-preview').textContent()).trim(), 'hello from the cli');
  assert.equal((await inbound.nth(1).locator('.c-size').textContent()).trim(), String(binary.length));

  await inbound.nth(1).click();
  await frame.locator('#detailTitle', { hasText: `${binary.length} bytes` }).waitFor();
  const hexBytes = await frame.locator('#hexView .hex-line').first().locator('.hex .b').allTextContents();
  assert.equal(hexBytes.filter((b) => b.trim() !== '').join(' '), '00 01 7f fe ff 80 1b');

  // The send box reaches the peer byte-exact: hex, and text with a CRLF line ending.
  const input = frame.locator('#sendInput');
  await frame.locator('#sendFormat').selectOption('hex');
  await input.fill('de ad be ef 00 0d');
  await input.press('Enter');
  await frame.locator('#sendFormat').selectOption('text');
  await frame.locator('#lineEnding').selectOption('crlf');
  await input.fill('ping é');
  await input.press('Enter');
  await poll(() => peer.received.length >= 2, { what: `the CLI to print two messages (stderr: ${peer.stderr()})`, timeoutMs: 15_000 });
  assert.deepEqual(peer.received.slice(0, 2), ['deadbeef000d', Buffer.from('ping é\r\n').toString('hex')]);
  await poll(async () => (await frame.locator('#listViewport .row.out').count()) === 2, { what: 'two sent rows' });

  await inbound.nth(0).click();
  await frame.locator('#hexView .hex .b.sel').count();
  await screenshot(page, 'inspector-workbench-dark');

  // Export the capture as pcapng through the save dialog, and read it back with tshark.
  if (hasTshark) {
    const target = join(wb.folder, 'capture.pcapng');
    await frame.locator('#exportPcapng').click();
    const dialog = page.locator('.quick-input-widget');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('input').first().fill(target);
    await page.keyboard.press('Enter');
    await poll(() => existsSync(target) && readFileSync(target).length > 0, { what: `the export at ${target}`, timeoutMs: 15_000 });
    const fields = spawnSync('tshark', ['-r', target, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.packet_flags_direction'], { encoding: 'utf8' });
    assert.equal(fields.status, 0, fields.stderr);
    assert.deepEqual(fields.stdout.trim().split('\n').map((l) => l.split('\t')),
      [['18', '0x00000001'], [String(binary.length), '0x00000001'], ['6', '0x00000002'], ['9', '0x00000002']]);
    const dump = spawnSync('tshark', ['-r', target, '-x'], { encoding: 'utf8' }).stdout;
    const hex = dump.split('\n').map((l) => /^[0-9a-f]{4}  ((?:[0-9a-f]{2} ?)+)/.exec(l)?.[1]).filter(Boolean).join(' ').replace(/\s+/g, '');
    assert.equal(hex, Buffer.concat([Buffer.from('hello from the cli'), binary, Buffer.from('deadbeef000d', 'hex'), Buffer.from('ping é\r\n')]).toString('hex'));
  } else {
    t.diagnostic('tshark is not installed (Debian package tshark): the pcapng read-back was skipped');
  }

  // The same panel in the light theme.
  await runCommand(page, 'Preferences: Color Theme');
  await pickInQuickInput(page, 'Light Modern');
  await poll(async () => (await page.locator('.monaco-workbench.vs').count()) > 0, { what: 'the light theme' });
  await frame.locator('#listViewport .row').first().waitFor();
  await screenshot(page, 'inspector-workbench-light');
});
