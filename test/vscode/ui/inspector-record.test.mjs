// The inspector's timeline, Record to File…, the export confirmation and Open Capture… in a real VS Code
// (code-server + the packaged .vsix), with real CLI peers: an observer panel shows peers attaching, closing and dying
// (kill -9) as event rows; the Record button streams to a pcapng while the status bar counts, and stops; the JSON Lines
// export's notification opens the file in an editor; Open Capture… shows the recording (and a damaged file's error).
// A connection panel of a window that is the channel's server records the channel's directions and its role, so that
// `sipc replay` plays the session the right way round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answerFileDialog, pickInQuickInput, poll, repoRoot, runCommand, screenshot, startWorkbench, webviewFrame } from '../harness/workbench.mjs';
import { parsePcapng, packetDirection } from '../../cli/pcapng.mjs';
import { openInspectorOn } from './helpers.mjs';

const cli = process.env.SIPC_CLI || join(repoRoot, 'helper/build/linux-x64/sipc');
const namePrefix = process.env.SIPC_TEST_NAME_PREFIX || `vt-${process.pid}-`;

function run(args) {
  const result = spawnSync(cli, args, { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `sipc ${args.join(' ')}: ${result.stderr}`);
  return result;
}

test('inspector timeline, Record to File…, export confirmation and Open Capture… in the workbench', { timeout: 300_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}inspector-record`;
  const echo = spawn(cli, ['echo', name], { stdio: 'ignore' });
  const children = [echo];
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  await poll(() => spawnSync(cli, ['stat', name]).status === 0, { what: 'the echo server to create the channel' });
  const wb = await startWorkbench({ theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;

  await runCommand(page, 'SIPC: Inspect Channel…');
  await pickInQuickInput(page, name);
  const frame = webviewFrame(page);
  await frame.locator('#title', { hasText: name }).waitFor({ timeout: 30_000 });
  await frame.locator('#listViewport .row.event', { hasText: 'observing' }).waitFor({ timeout: 15_000 });

  // The timeline: a client that sends and closes, then one killed with SIGKILL, each with its pid. (Each stays until
  // told, so the observer surely sees it attached: a one-shot `sipc send` can come and go between two looks.)
  const polite = spawn(cli, ['connect', name], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(polite);
  await frame.locator('#listViewport .row.event', { hasText: `client pid ${polite.pid} attached` }).waitFor({ timeout: 15_000 });
  polite.stdin.end('first\n');
  await frame.locator('#listViewport .row.event', { hasText: `client pid ${polite.pid} closed the channel` }).waitFor({ timeout: 15_000 });
  assert.match(await frame.locator('#listViewport .row.event', { hasText: `client pid ${polite.pid} closed` }).innerText(), /peer-closed/);
  const doomed = spawn(cli, ['connect', name, '--linger', 'inf'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(doomed);
  await frame.locator('#listViewport .row.event', { hasText: `client pid ${doomed.pid} attached` }).waitFor({ timeout: 15_000 });
  doomed.kill('SIGKILL');
  const died = frame.locator('#listViewport .row.event', { hasText: 'peer-died' }).first();
  await died.waitFor({ timeout: 15_000 });
  assert.match(await died.innerText(), new RegExp(`client pid ${doomed.pid} died without closing`));
  await screenshot(page, 'inspector-timeline-events');

  // The lossless toggle: the observer is attached again in lossless mode, and a row says so.
  await frame.locator('#lossless').check();
  await frame.locator('#listViewport .row.event', { hasText: 'lossless observation on' }).waitFor({ timeout: 15_000 });
  assert.equal(await frame.locator('#lossless').isChecked(), true);

  // Record to File…: the Record button asks where, the status bar counts, the button (now Stop) closes the file.
  const recording = join(wb.folder, 'session.pcapng');
  await answerFileDialog(page, () => frame.locator('#record').click(), recording, () => existsSync(recording), `the recording at ${recording}`);
  await frame.locator('#recordLabel', { hasText: 'Stop recording' }).waitFor({ timeout: 15_000 });
  const statusItem = page.locator('.statusbar-item', { hasText: `Observe: ${name}` });
  await statusItem.waitFor({ timeout: 15_000 });
  // A client that stays, so the echo server's answers reach it: three messages each way.
  const talker = spawn(cli, ['connect', name, '--linger', 'inf'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(talker);
  talker.stdin.write('one\ntwo\nthree\n');
  await poll(async () => /6 msgs/.test(await statusItem.innerText()), { what: 'the status bar to count 6 messages (3 each way)', timeoutMs: 20_000 });
  await screenshot(page, 'inspector-recording-status');
  await frame.locator('#record').click();
  await frame.locator('#recordLabel', { hasText: 'Record' }).waitFor({ timeout: 15_000 });
  await statusItem.waitFor({ state: 'hidden', timeout: 15_000 });
  await page.locator('.notifications-toasts', { hasText: 'recorded 6 messages' }).waitFor({ timeout: 15_000 });
  const capture = parsePcapng(readFileSync(recording));
  assert.deepEqual(capture.interfaces.map((i) => [i.name, i.comments]), [[name, ['sipc role: observer']]]);
  const messages = capture.packets.filter((p) => packetDirection(p) !== null);
  assert.deepEqual(messages.filter((p) => packetDirection(p) === 'to-server').map((p) => p.data.toString()), ['one', 'two', 'three']);
  assert.deepEqual(messages.filter((p) => packetDirection(p) === 'to-client').map((p) => p.data.toString()), ['one', 'two', 'three']);
  assert.ok(capture.packets.some((p) => /^sipc event peer-attached: client pid \d+/.test(p.comment)), 'the peers\' events are in the file');

  // The JSON Lines export's confirmation offers Reveal in Explorer and Open (a workspace file, text): Open shows it.
  const jsonl = join(wb.folder, 'capture.jsonl');
  await answerFileDialog(page, () => frame.locator('#exportJsonl').click(), jsonl, () => existsSync(jsonl) && readFileSync(jsonl).length > 0, `the export at ${jsonl}`);
  const toast = page.locator('.notification-toast', { hasText: 'exported' }).filter({ hasText: 'capture.jsonl' });
  await toast.waitFor({ timeout: 15_000 });
  assert.deepEqual((await toast.locator('.monaco-button').allInnerTexts()).map((s) => s.trim()).filter((s) => s !== ''), ['Reveal in Explorer', 'Open']);
  await screenshot(page, 'inspector-export-confirmation');
  await toast.locator('.monaco-button', { hasText: 'Open' }).click();
  await page.locator('.tabs-container .tab', { hasText: 'capture.jsonl' }).waitFor({ timeout: 15_000 });
  await page.locator('.monaco-editor .view-lines', { hasText: '"format":"sipc-capture"' }).waitFor({ timeout: 15_000 });

  // Open Capture… shows the recording in a read-only panel: the messages, the peers' events, the file's badge.
  await answerFileDialog(page, () => runCommand(page, 'SIPC: Open Capture…'), recording,
    async () => page.locator('.tabs-container .tab', { hasText: 'Capture: session.pcapng' }).isVisible(), 'the capture panel');
  const opened = webviewFrame(page);
  await opened.locator('#mode', { hasText: 'capture file (read-only)' }).waitFor({ timeout: 30_000 });
  await opened.locator('#listViewport .row.event', { hasText: 'opened' }).waitFor({ timeout: 15_000 });
  await poll(async () => (await opened.locator('#listViewport .row:not(.event)', { hasText: 'three' }).count()) === 2, { what: 'both copies of "three" listed' });
  await opened.locator('#listViewport .row.event', { hasText: 'peer-attached' }).first().waitFor();
  assert.equal(await opened.locator('#sendBox').isVisible(), false, 'no send box for a file');
  // No live peers for a file: the statistics bar names the file and the side it was recorded from instead.
  await opened.locator('#stats', { hasText: 'session.pcapng · recorded by an observer' }).waitFor({ timeout: 15_000 });
  assert.doesNotMatch(await opened.locator('#stats').innerText(), /server —/);
  await screenshot(page, 'inspector-open-capture');

  // A damaged copy: the entries before the damage, an error row, and a notification naming the offset.
  const damaged = join(wb.folder, 'damaged.pcapng');
  const bytes = readFileSync(recording);
  writeFileSync(damaged, bytes.subarray(0, bytes.length - 6));
  await answerFileDialog(page, () => runCommand(page, 'SIPC: Open Capture…'), damaged,
    async () => page.locator('.tabs-container .tab', { hasText: 'Capture: damaged.pcapng' }).isVisible(), 'the damaged capture panel');
  await page.locator('.notification-toast', { hasText: /damaged\.pcapng cannot be read past entry \d+: the file ends inside the block at offset \d+/ }).waitFor({ timeout: 15_000 });
  const broken = webviewFrame(page);
  await broken.locator('#listViewport .row.event', { hasText: 'truncated recording' }).waitFor({ timeout: 15_000 });
  await poll(async () => (await broken.locator('#listViewport .row:not(.event)', { hasText: 'one' }).count()) === 2, { what: 'the messages before the damage' });
});

test('a connection panel of the channel\'s server records its role and the channel\'s directions', { timeout: 240_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}panel-server`;
  const children = [];
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  const wb = await startWorkbench({ theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;

  // SIPC: Connect to Channel… with a new name: this window creates the channel (its server), with the default options.
  await runCommand(page, 'SIPC: Connect to Channel…');
  await pickInQuickInput(page, name);
  for (const step of ['(1/2)', '(2/2)']) {
    await page.locator('.quick-input-widget', { hasText: step }).waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
  }
  await poll(() => spawnSync(cli, ['stat', name]).status === 0, { what: 'the window to create the channel', timeoutMs: 30_000 });
  let answers = '';
  const client = spawn(cli, ['connect', name, '--linger', 'inf'], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(client);
  client.stdout.on('data', (chunk) => { answers += chunk; });
  const frame = await openInspectorOn(page, name);
  await frame.locator('#mode', { hasText: 'server' }).waitFor({ timeout: 15_000 });

  const recording = join(wb.folder, 'server-side.pcapng');
  await answerFileDialog(page, () => frame.locator('#record').click(), recording, () => existsSync(recording), `the recording at ${recording}`);
  await frame.locator('#recordLabel', { hasText: 'Stop recording' }).waitFor({ timeout: 15_000 });
  // The client says hi; this window (the server) answers from the send box.
  client.stdin.write('hi\n');
  await frame.locator('#listViewport .row.in', { hasText: 'hi' }).waitFor({ timeout: 15_000 });
  const input = frame.locator('#sendInput');
  await input.fill('hello back');
  await input.press('Enter');
  await poll(() => answers.includes('hello back'), { what: 'the client to receive the answer', timeoutMs: 15_000 });
  await frame.locator('#record').click();
  await frame.locator('#recordLabel', { hasText: 'Record' }).waitFor({ timeout: 15_000 });
  await page.locator('.notifications-toasts', { hasText: 'recorded 2 messages' }).waitFor({ timeout: 15_000 });

  const capture = parsePcapng(readFileSync(recording));
  assert.deepEqual(capture.interfaces.map((i) => [i.name, i.comments]), [[name, ['sipc role: server']]]);
  assert.deepEqual(capture.packets.filter((p) => packetDirection(p) !== null).map((p) => [packetDirection(p), p.data.toString(), p.comment]),
    [['to-server', 'hi', 'client→server'], ['to-client', 'hello back', 'server→client']]);
  const listed = run(['replay', recording, '--list']);
  const messageLines = listed.stdout.split('\n').filter((line) => / (client→server|server→client) \d+ B /.test(line));
  assert.deepEqual(messageLines.map((line) => line.split(' ').slice(1).join(' ')), [`${name} client→server 2 B "hi"`, `${name} server→client 10 B "hello back"`]);
  assert.equal(listed.stderr, '');
});
