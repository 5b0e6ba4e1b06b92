// Record to File… in the real extension host: every entry of an inspector panel streams to a file for as long as the
// recording runs, whatever the panel retains; the status bar shows the progress; Stop Recording (or closing the
// panel) leaves a complete file. The files are read back with the tests' independent pcapng parser and JSON.parse.
'use strict';

const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const vscode = require('vscode');
const { repoRoot, uniqueName, tempDir, until, cli, extensionApi } = require('./helpers');

describe('Record to File…', function () {
  this.timeout(60_000);
  let api;
  let dir;
  const peers = [];

  before(async () => {
    api = await extensionApi();
    dir = await tempDir('record-suite');
  });

  after(async () => {
    await vscode.workspace.getConfiguration('sipc.inspector').update('retainedMessages', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('sipc.stopRecording').then(undefined, () => undefined);
    await vscode.commands.executeCommand('sipc.disconnectAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  /** This window connected (as server) to a CLI echo client, with the inspector open on the connection. */
  async function echoConnection(label) {
    const name = uniqueName(label);
    const pending = vscode.commands.executeCommand('sipc.connect', { name });
    await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
    peers.push(cli(['echo', name]));
    await pending;
    await vscode.commands.executeCommand('sipc.openInspector', { name });
    await until(() => api.inspector.snapshot('peer', name)?.entries.some((e) => e.kind === 'event' && e.event === 'attached'), 'the inspector attaches');
    return { name, connection: api.connections.get(name) };
  }

  it('streams every message of a panel to pcapng beyond its retention, with progress in the status bar, until stopped', async () => {
    await vscode.workspace.getConfiguration('sipc.inspector').update('retainedMessages', 100, vscode.ConfigurationTarget.Global);
    const { name, connection } = await echoConnection('rec');
    const file = path.join(dir, 'session.pcapng');
    const started = await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'peer', name, file });
    assert.strictEqual(started.path, file);
    assert.deepStrictEqual(api.inspector.recordings().map((r) => r.path), [file]);
    assert.match(api.inspector.recordingStatusText(), new RegExp(`^\\$\\(record\\) Inspect: ${name}: \\d+ msgs, `));
    // Asking again for the same panel is refused: one recording per panel.
    const again = await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'peer', name, file: path.join(dir, 'twice.pcapng') });
    assert.strictEqual(again, undefined);
    assert.strictEqual(fs.existsSync(path.join(dir, 'twice.pcapng')), false);

    const total = 150;
    const sent = Array.from({ length: total }, (_, i) => `m${i}`);
    for (const text of sent) await connection.send(Buffer.from(text));
    await until(() => connection.receivedCount === total, `all ${total} echoes arrive`, 20_000);
    await until(() => api.inspector.recordings()[0]?.progress.messages === 2 * total, () => `the recording counts ${2 * total} messages (${JSON.stringify(api.inspector.recordings())})`, 10_000);
    await until(() => api.inspector.recordingStatusText().includes(`${2 * total} msgs`), () => `the status bar says ${2 * total} msgs: ${api.inspector.recordingStatusText()}`, 5_000);
    // Plain text (a Markdown tooltip would be lexed on the extension host's main thread at every update).
    const [line, ...rest] = api.inspector.recordingStatusTooltip().split('\n');
    const start = `Inspect: ${name} → ${file}: ${2 * total} messages, `;
    assert.ok(line.startsWith(start), line);
    assert.match(line.slice(start.length), /^[\d.]+ (B|KiB|MiB)$/);
    assert.deepStrictEqual(rest, ['', 'Click to stop.']);
    assert.ok(api.inspector.snapshot('peer', name).entries.length <= 100, 'the panel keeps only 100 entries');

    const stopped = await vscode.commands.executeCommand('sipc.stopRecording');
    assert.strictEqual(stopped.length, 1);
    assert.strictEqual(stopped[0].progress.messages, 2 * total);
    assert.strictEqual(stopped[0].progress.dropped, 0);
    assert.deepStrictEqual(api.inspector.recordings(), []);
    assert.strictEqual(api.inspector.recordingStatusText(), '', 'the status bar item is hidden');
    assert.strictEqual(api.inspector.recordingStatusTooltip(), '');
    const snapshot = api.inspector.snapshot('peer', name);
    assert.ok(snapshot.entries.some((e) => e.kind === 'event' && e.event === 'recording-stopped' && e.detail.startsWith(`${2 * total} messages recorded to ${file}`)));

    const { parsePcapng, packetDirection } = await import(pathToFileURL(path.join(repoRoot, 'test/cli/pcapng.mjs')).href);
    const capture = parsePcapng(fs.readFileSync(file));
    // The interface names this window's role: it created the channel, so it is the server.
    assert.deepStrictEqual(capture.interfaces, [{ linkType: 147, name, tsresol: 9, comments: ['sipc role: server'] }]);
    const messages = capture.packets.filter((p) => packetDirection(p) !== null);
    // In the channel's directions, as `sipc record` writes them: what this server sent went server→client (inbound),
    // the client's echoes came client→server (outbound); every byte as sent, in order.
    assert.deepStrictEqual(messages.filter((p) => p.comment === 'server→client').map((p) => p.data.toString()), sent);
    assert.deepStrictEqual(messages.filter((p) => p.comment === 'client→server').map((p) => p.data.toString()), sent);
    assert.ok(messages.every((p) => packetDirection(p) === (p.comment === 'client→server' ? 'to-server' : 'to-client')));
    assert.strictEqual(messages.length, 2 * total);
    // The first entry is the event row that says the recording started; times are whole microseconds in ns.
    assert.match(capture.packets[0].comment, new RegExp(`^sipc event recording: recording every entry to .*session\\.pcapng \\(pcapng\\)$`));
    assert.ok(capture.packets.every((p) => p.timestampNs % 1000n === 0n));
  });

  it('records to JSON Lines (with text), and closing the panel ends the recording with a complete file', async () => {
    const { name, connection } = await echoConnection('recj');
    const file = path.join(dir, 'session.jsonl');
    await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'peer', name, file });
    // One at a time, so the file's order is known: each echo arrives before the next send.
    await connection.send(Buffer.from('héllo'));
    await until(() => connection.receivedCount === 1, 'the first echo arrives');
    await connection.send(Buffer.from([0xff, 0x00, 0xfe]));
    await until(() => connection.receivedCount === 2, 'the second echo arrives');
    await until(() => api.inspector.recordings()[0]?.progress.messages === 4, 'the recording has the four messages');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until(() => api.inspector.recordings().length === 0, 'closing the panel ends its recording');
    // The file is closed a moment later, with everything recorded in it.
    await until(() => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"type":"message"')).length === 4, 'the file holds the four messages');
    const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.strictEqual(header.format, 'sipc-capture');
    assert.deepStrictEqual(header.channels, [name]);
    assert.strictEqual(header.mode, 'peer');
    assert.strictEqual(header.role, 'server');
    const messages = lines.filter((l) => l.type === 'message');
    assert.deepStrictEqual(messages.map((m) => [m.direction, m.text, Buffer.from(m.data, 'base64').toString('hex')]), [
      ['to-client', 'héllo', Buffer.from('héllo').toString('hex')],
      ['to-server', 'héllo', Buffer.from('héllo').toString('hex')],
      ['to-client', undefined, 'ff00fe'],
      ['to-server', undefined, 'ff00fe'],
    ]);
    assert.ok(messages.every((m) => m.channel === name && typeof m.timestampNs === 'number'));
  });

  it('refuses a panel that is not open and a file it cannot create, clearly', async () => {
    const { name } = await echoConnection('recbad');
    const errors = [];
    const original = vscode.window.showErrorMessage;
    vscode.window.showErrorMessage = (message) => {
      errors.push(message);
      return Promise.resolve(undefined);
    };
    try {
      await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'observer', name, file: path.join(dir, 'x.pcapng') });
      await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'peer', name, file: path.join(dir, 'no', 'such', 'dir.pcapng') });
    } finally {
      vscode.window.showErrorMessage = original;
    }
    assert.strictEqual(errors.length, 2, errors.join(' | '));
    assert.match(errors[0], /No inspector panel is open on .* \(observer\)/);
    assert.match(errors[1], /ENOENT/);
    assert.deepStrictEqual(api.inspector.recordings(), []);
  });
});

describe('Open Capture…', function () {
  this.timeout(60_000);
  let api;
  let dir;
  const peers = [];

  before(async () => {
    api = await extensionApi();
    dir = await tempDir('open-suite');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  afterEach(async () => {
    await vscode.commands.executeCommand('sipc.disconnectAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
  });

  const webviewTabs = () =>
    vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.input instanceof vscode.TabInputWebview);
  const rowsOf = (entries) => entries.map((e) => (e.kind === 'message' ? [e.direction, Buffer.from(e.data).toString('hex')] : ['event', e.event]));

  /** A recording of this window's echo connection: `count` messages each way, then the file is closed. */
  async function recordedSession(file, count) {
    const name = uniqueName('open');
    const pending = vscode.commands.executeCommand('sipc.connect', { name });
    await until(() => api.connections.get(name)?.state === 'waiting', 'waiting for the client');
    peers.push(cli(['echo', name]));
    await pending;
    await vscode.commands.executeCommand('sipc.openInspector', { name });
    await until(() => api.inspector.snapshot('peer', name)?.entries.some((e) => e.kind === 'event' && e.event === 'attached'), 'the inspector attaches');
    await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'peer', name, file });
    const connection = api.connections.get(name);
    for (let i = 0; i < count; i++) {
      await connection.send(Buffer.from(i % 3 === 0 ? [0xfe, i] : `message ${i}`));
      await until(() => connection.receivedCount === i + 1, `echo ${i}`);
    }
    await until(() => api.inspector.recordings()[0]?.progress.messages === 2 * count, 'everything is recorded');
    const live = api.inspector.snapshot('peer', name).entries.filter((e) => e.kind === 'message');
    await vscode.commands.executeCommand('sipc.stopRecording', { mode: 'peer', name });
    await until(() => api.inspector.recordings().length === 0, 'the recording stops');
    return { name, live };
  }

  for (const extension of ['pcapng', 'jsonl']) {
    it(`opens a ${extension} recording in a read-only panel with the same messages, directions and times`, async () => {
      const file = path.join(dir, `session.${extension}`);
      const { live } = await recordedSession(file, 6);
      await until(() => {
        try {
          return fs.statSync(file).size > 0 && !api.inspector.recordings().length;
        } catch {
          return false;
        }
      }, 'the file is closed');
      assert.strictEqual(await vscode.commands.executeCommand('sipc.openCapture', file), file);
      await until(() => webviewTabs().some((tab) => tab.label === `Capture: session.${extension}`), 'the capture tab opens');
      const opened = api.inspector.snapshot('file', file);
      assert.strictEqual(opened.title, `Capture: session.${extension}`);
      const messages = opened.entries.filter((e) => e.kind === 'message');
      // The file holds the channel's directions: this window, the server, sent server→client and received client→server.
      const asServer = { sent: 'to-client', received: 'to-server' };
      assert.deepStrictEqual(rowsOf(messages), rowsOf(live.map((m) => ({ ...m, direction: asServer[m.direction] }))));
      // Microseconds survive the round trip (pcapng stores ns, JSON Lines ms with fractions).
      assert.deepStrictEqual(messages.map((m) => Math.round(m.timestamp * 1000)), live.map((m) => Math.round(m.timestamp * 1000)));
      assert.ok(opened.entries.some((e) => e.kind === 'event' && e.event === 'recording'), 'the recording\'s own event row is in it');
      assert.ok(opened.entries.some((e) => e.kind === 'event' && e.event === 'opened' && e.detail.startsWith(`${opened.entries.length - 1} entries of channel `)));
    });
  }

  it('shows what a damaged file holds before the damage and says where it is damaged', async () => {
    const good = path.join(dir, 'good.pcapng');
    await recordedSession(good, 4);
    await until(() => !api.inspector.recordings().length && fs.statSync(good).size > 0, 'the file is closed');
    const bytes = fs.readFileSync(good);
    const damaged = path.join(dir, 'damaged.pcapng');
    fs.writeFileSync(damaged, bytes.subarray(0, bytes.length - 7));
    const errors = [];
    const original = vscode.window.showErrorMessage;
    vscode.window.showErrorMessage = (message) => {
      errors.push(message);
      return Promise.resolve(undefined);
    };
    try {
      await vscode.commands.executeCommand('sipc.openCapture', damaged);
      await vscode.commands.executeCommand('sipc.openCapture', path.join(dir, 'absent.pcapng'));
      fs.writeFileSync(path.join(dir, 'text.jsonl'), 'hello, not a capture\n');
      await vscode.commands.executeCommand('sipc.openCapture', path.join(dir, 'text.jsonl'));
    } finally {
      vscode.window.showErrorMessage = original;
    }
    assert.strictEqual(errors.length, 3, errors.join(' | '));
    assert.match(errors[0], /Could not open the capture: .*damaged\.pcapng cannot be read past entry \d+: the file ends inside the block at offset \d+ \(truncated recording\?\)/);
    assert.match(errors[1], /absent\.pcapng cannot be opened: .*ENOENT/);
    assert.match(errors[2], /text\.jsonl cannot be opened: this is neither pcapng nor JSON Lines/);
    const shown = api.inspector.snapshot('file', damaged);
    assert.ok(shown, 'the panel of the damaged file stays open');
    const messages = shown.entries.filter((e) => e.kind === 'message');
    assert.strictEqual(messages.length, 7, 'all but the cut last message');
    assert.ok(shown.entries.some((e) => e.kind === 'event' && e.event === 'error' && /truncated recording/.test(e.detail)));
  });
});
