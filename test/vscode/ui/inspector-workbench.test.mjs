// End to end in a real VS Code (code-server + the packaged .vsix) with a real peer process, the `sipc` CLI:
// the CLI's messages appear as rows with the right sizes and bytes, the hex view shows those bytes, the send
// box reaches the CLI byte-exact, and the pcapng export is read back by tshark. Screenshots of the panel in
// the dark and light themes go to test/out/screenshots/. Needs `npm run package` first (or the harness's
// SIPC_VSCODE_EXTENSIONS_DIR), Debian chromium, and tshark for the export check.
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorkbench, runCommand, webviewFrame, screenshot, poll, pickInQuickInput, answerFileDialog } from '../harness/workbench.mjs';
import { cli, namePrefix, startCliPeer, connectTo, openInspectorOn } from './helpers.mjs';
import { loadCore } from '../../unit/inspector-core.mjs';

/** An inline script injected into the inspector page, which its CSP must refuse; browsers name it by its hash. */
const CSP_PROBE = 'window.sipcInjectedScriptRan = true;';
const CSP_PROBE_HASH = createHash('sha256').update(CSP_PROBE).digest('base64');

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

test('inspector in the workbench: CLI traffic, hex view, send box, pcapng export, themes', { timeout: 240_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}inspector-ui`;
  const peer = startCliPeer(t, name);
  const wb = await startWorkbench({ theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;

  await connectTo(page, name);
  const frame = await openInspectorOn(page, name);
  await frame.locator('#state', { hasText: 'connected' }).waitFor();

  // The page runs under its own CSP: nothing by default, scripts only with this render's nonce (128 bits or
  // more), so a script injected without it does not run.
  const csp = await frame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp, /(^|;)\s*default-src 'none'/);
  const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? '';
  const nonce = /'nonce-([A-Za-z0-9+/=_-]+)'/.exec(scriptSrc)?.[1];
  assert.ok(nonce && Buffer.from(nonce, 'base64').length >= 16, `script-src has a nonce of 128 bits or more: ${csp}`);
  assert.doesNotMatch(scriptSrc, /unsafe-inline|unsafe-eval|\*/, 'script-src allows nothing else');
  const injectedRan = await frame.locator('body').evaluate((body, text) => {
    const script = document.createElement('script');
    script.textContent = text;
    body.append(script);
    return window.sipcInjectedScriptRan === true;
  }, CSP_PROBE);
  assert.equal(injectedRan, false, 'an inline script without the nonce is refused');

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
  await poll(() => peer.received.length >= 2, { what: `the CLI to print two messages (got ${JSON.stringify(peer.received)}, stderr: ${peer.stderr()})`, timeoutMs: 15_000 });
  assert.deepEqual(peer.received.slice(0, 2), ['deadbeef000d', Buffer.from('ping é\r\n').toString('hex')]);
  await poll(async () => (await frame.locator('#listViewport .row.out').count()) === 2, { what: 'two sent rows' });

  // Send a file: every byte value, as one message, picked in the open dialog (a path quick input on the web).
  const fileBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const filePath = join(wb.folder, 'all-bytes.bin');
  writeFileSync(filePath, fileBytes);
  await answerFileDialog(page, () => frame.locator('#sendFile').click(), filePath, () => peer.received.length >= 3, 'the CLI to receive the file');
  assert.equal(peer.received[2], fileBytes.toString('hex'));
  await poll(async () => (await frame.locator('#listViewport .row.out').count()) === 3, { what: 'three sent rows' });

  await inbound.nth(0).click();
  await frame.locator('#hexView .hex .b.sel').count();
  await screenshot(page, 'inspector-workbench-dark');

  // Export the capture as pcapng through the save dialog, and read it back with tshark.
  if (hasTshark) {
    const target = join(wb.folder, 'capture.pcapng');
    await answerFileDialog(page, () => frame.locator('#exportPcapng').click(), target, () => existsSync(target) && readFileSync(target).length > 0, `the export at ${target}`);
    const fields = spawnSync('tshark', ['-r', target, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.packet_flags_direction'], { encoding: 'utf8' });
    assert.equal(fields.status, 0, fields.stderr);
    const rows = fields.stdout.trim().split('\n').map((l) => l.split('\t'));
    // Event rows are packets without payload and direction 0 (as `sipc record` writes them); the messages follow.
    assert.ok(rows.some(([len, dir]) => len === '0' && dir === '0x00000000'), 'the event rows are in the file');
    assert.deepEqual(rows.filter(([, dir]) => dir !== '0x00000000'),
      [['18', '0x00000001'], [String(binary.length), '0x00000001'], ['6', '0x00000002'], ['9', '0x00000002'], ['256', '0x00000002']]);
    const dump = spawnSync('tshark', ['-r', target, '-x'], { encoding: 'utf8' }).stdout;
    const hex = dump.split('\n').map((l) => /^[0-9a-f]{4}  ((?:[0-9a-f]{2} ?)+)/.exec(l)?.[1]).filter(Boolean).join(' ').replace(/\s+/g, '');
    assert.equal(hex, Buffer.concat([Buffer.from('hello from the cli'), binary, Buffer.from('deadbeef000d', 'hex'), Buffer.from('ping é\r\n'), fileBytes]).toString('hex'));
  } else {
    t.diagnostic('tshark is not installed (Debian package tshark): the pcapng read-back was skipped');
  }

  // The same panel in the light theme.
  await runCommand(page, 'Preferences: Color Theme');
  await pickInQuickInput(page, 'Light Modern');
  await poll(async () => (await page.locator('.monaco-workbench.vs').count()) > 0, { what: 'the light theme' });
  await frame.locator('#listViewport .row').first().waitFor();
  await screenshot(page, 'inspector-workbench-light');
  await runCommand(page, 'Preferences: Color Theme');
  await pickInQuickInput(page, 'Dark High Contrast');
  await poll(async () => (await page.locator('.monaco-workbench.hc-black').count()) > 0, { what: 'the high contrast theme' });
  await frame.locator('#listViewport .row').first().waitFor();
  await screenshot(page, 'inspector-workbench-high-contrast');

  // Hidden and shown again: the webview is rebuilt from the extension's capture and its own saved state.
  await frame.locator('#filterText').fill('cli');
  await poll(async () => (await frame.locator('#listViewport .row:not([hidden])').count()) === 2, { what: 'the text filter' });
  await runCommand(page, 'File: New Untitled Text File');
  await poll(async () => !(await frame.locator('#title').isVisible().catch(() => false)), { what: 'the inspector to be hidden' });
  await page.locator('.tabs-container .tab', { hasText: `Inspect: ${name}` }).click();
  await webviewFrame(page).locator('#title', { hasText: name }).waitFor({ timeout: 20_000 });
  const shown = webviewFrame(page);
  assert.equal(await shown.locator('#filterText').inputValue(), 'cli', 'the filter survives hide/show');
  await poll(async () => (await shown.locator('#listViewport .row:not([hidden])').count()) === 2, { what: 'the filtered rows after show' });
  await shown.locator('#listViewport .row.selected', { hasText: 'hello from the cli' }).waitFor();

  // The peer leaves: an event row says so.
  peer.child.kill('SIGTERM');
  await shown.locator('#listViewport .row.event', { hasText: 'peer-gone' }).waitFor({ timeout: 15_000 });
  await shown.locator('#state', { hasText: 'peer-gone' }).waitFor();

  // Reloaded: the serializer brings the panel back; this window's connection did not survive the reload.
  await runCommand(page, 'Developer: Reload Window');
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('.tabs-container .tab', { hasText: `Inspect: ${name}` }).click({ timeout: 60_000 });
  const restored = webviewFrame(page);
  await restored.locator('#title', { hasText: name }).waitFor({ timeout: 30_000 });
  await restored.locator('#filterEvents').waitFor();
  await restored.locator('#filterText').fill('');
  await restored.locator('#listViewport .row.event', { hasText: 'not-connected' }).waitFor({ timeout: 15_000 });
  // Its rows from before the reload come back from the panel's spill (not from the webview state), then a row says so.
  await restored.locator('#listViewport .row', { hasText: 'hello from the cli' }).first().waitFor({ timeout: 15_000 });
  await restored.locator('#listViewport .row.event', { hasText: 'peer-gone' }).first().waitFor();
  await restored.locator('#listViewport .row.event', { hasText: 'restored' }).waitFor();
  // (The browser's report of the probe refused above names the probe's hash; any other report fails.)
  assert.deepEqual(wb.console.filter((line) => /Content Security Policy|Refused to (load|apply|execute)/i.test(line) &&
    !line.includes(CSP_PROBE_HASH)), [],
    'the webview loads everything it needs under its CSP');
});

test('inspector in the workbench: observer mode sees both directions of two CLI processes', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}inspector-observe`;
  const echo = spawn(cli, ['echo', name], { stdio: 'ignore' });
  t.after(() => {
    if (echo.exitCode === null) echo.kill('SIGTERM');
    spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  await poll(() => spawnSync(cli, ['stat', name]).status === 0, { what: 'the echo server to create the channel' });
  const wb = await startWorkbench({ theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;
  await runCommand(page, 'SIPC: Inspect Channel…');
  await pickInQuickInput(page, name);
  const frame = webviewFrame(page);
  await frame.locator('#mode', { hasText: 'observer' }).waitFor({ timeout: 30_000 });
  assert.equal(await frame.locator('#sendBox').isHidden(), true, 'an observer cannot send');

  // A client that stays until its reply came back, so the echo's answer is seen too.
  const client = spawn(cli, ['connect', name, '--format', 'hex', '--linger', '2000'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.after(() => { if (client.exitCode === null) client.kill('SIGTERM'); });
  client.stdin.end(Buffer.from([0x01, 0x02, 0x03, 0xfe, 0xff, 0x0a]));
  await frame.locator('#listViewport .row.out', { hasText: 'client→server' }).first().waitFor({ timeout: 15_000 });
  const toServer = frame.locator('#listViewport .row.out').first();
  assert.equal((await toServer.locator('.c-size').textContent()).trim(), '5');
  await toServer.click();
  await frame.locator('#detailTitle', { hasText: 'client→server · 5 bytes' }).waitFor();
  const hexBytes = await frame.locator('#hexView .hex-line').first().locator('.hex .b').allTextContents();
  assert.equal(hexBytes.filter((b) => b.trim() !== '').join(' '), '01 02 03 fe ff');
  // The echo's reply towards the client is seen too.
  await frame.locator('#listViewport .row.in', { hasText: 'server→client' }).first().waitFor({ timeout: 15_000 });
  await screenshot(page, 'inspector-workbench-observer');

  // Save the selected message's bytes; export the capture as JSON Lines and read it back byte-exact.
  await toServer.click();
  const saved = join(wb.folder, 'message.bin');
  await answerFileDialog(page, () => frame.locator('#saveBytes').click(), saved, () => existsSync(saved), `the saved message at ${saved}`);
  assert.deepEqual([...readFileSync(saved)], [1, 2, 3, 0xfe, 0xff]);
  const jsonl = join(wb.folder, 'capture.jsonl');
  await answerFileDialog(page, () => frame.locator('#exportJsonl').click(), jsonl, () => existsSync(jsonl) && readFileSync(jsonl).length > 0, `the JSON Lines export at ${jsonl}`);
  const { header, entries } = (await loadCore()).parseJsonl(readFileSync(jsonl, 'utf8'));
  assert.equal(header.channel, name);
  assert.equal(header.mode, 'observer');
  const messages = entries.filter((e) => e.kind === 'message');
  assert.deepEqual(messages.map((m) => [m.direction, [...m.data]]),
    [['to-server', [1, 2, 3, 0xfe, 0xff]], ['to-client', [1, 2, 3, 0xfe, 0xff]]]);

  // Open in an editor tab: the hex dump of the selected message.
  await toServer.click();
  await frame.locator('#openEditor').click();
  await page.locator('.monaco-editor .view-lines', { hasText: '00000000  01 02 03 fe ff' }).waitFor({ timeout: 15_000 });
});

test('inspector in the workbench: a flood of 100,000 messages is kept within the retention setting', { timeout: 240_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}inspector-flood`;
  const peer = startCliPeer(t, name);
  const wb = await startWorkbench({ settings: { 'sipc.inspector.retainedMessages': 50000 }, viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;
  await connectTo(page, name);
  const frame = await openInspectorOn(page, name);
  await frame.locator('#state', { hasText: 'connected' }).waitFor();

  // One message per line, as fast as the channel takes them.
  peer.child.stdin.write(Array.from({ length: 100_000 }, (_, i) => String(i)).join('\n') + '\n');
  await frame.locator('#stats', { hasText: 'received: 100,000 msgs' }).waitFor({ timeout: 120_000 });
  // 100,000 messages and the 'attached' event: the oldest 50,001 entries made room for the newest 50,000.
  await frame.locator('#dropped', { hasText: '50,001 oldest messages dropped' }).waitFor({ timeout: 10_000 });
  await frame.locator('#stats', { hasText: 'kept 50,000/50,000' }).waitFor();
  await frame.locator('#listViewport').focus();
  await page.keyboard.press('End');
  await frame.locator('#listViewport .row.selected .c-preview', { hasText: /^99999$/ }).waitFor();
  await frame.locator('#detailTitle', { hasText: '5 bytes' }).waitFor();
  await page.keyboard.press('Home');
  await frame.locator('#listViewport .row.selected .c-preview', { hasText: /^50000$/ }).waitFor();
  await screenshot(page, 'inspector-workbench-flood');
});
