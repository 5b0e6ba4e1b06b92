// Record to File… in the real extension host: every entry of an inspector panel streams to a file for as long as the
// recording runs, whatever the panel retains; the status bar shows the progress; Stop Recording (or closing the
// panel) leaves a complete file. The files are read back with the tests' independent pcapng parser and JSON.parse.
'use strict';

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');
const vscode = require('vscode');
const { repoRoot, uniqueName, until, cli, extensionApi } = require('./helpers');

describe('Record to File…', function () {
  this.timeout(60_000);
  let api;
  let dir;
  const peers = [];

  before(async () => {
    api = await extensionApi();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipc-record-suite-'));
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
    assert.ok(api.inspector.snapshot('peer', name).entries.length <= 100, 'the panel keeps only 100 entries');

    const stopped = await vscode.commands.executeCommand('sipc.stopRecording');
    assert.strictEqual(stopped.length, 1);
    assert.strictEqual(stopped[0].progress.messages, 2 * total);
    assert.strictEqual(stopped[0].progress.dropped, 0);
    assert.deepStrictEqual(api.inspector.recordings(), []);
    assert.strictEqual(api.inspector.recordingStatusText(), '', 'the status bar item is hidden');
    const snapshot = api.inspector.snapshot('peer', name);
    assert.ok(snapshot.entries.some((e) => e.kind === 'event' && e.event === 'recording-stopped' && e.detail.startsWith(`${2 * total} messages recorded to ${file}`)));

    const { parsePcapng, packetDirection } = await import(pathToFileURL(path.join(repoRoot, 'test/cli/pcapng.mjs')).href);
    const capture = parsePcapng(fs.readFileSync(file));
    assert.deepStrictEqual(capture.interfaces, [{ linkType: 147, name, tsresol: 9 }]);
    const messages = capture.packets.filter((p) => packetDirection(p) !== null);
    // Sent is outbound (what the parser calls to-server), received inbound; every byte as sent, in order.
    assert.deepStrictEqual(messages.filter((p) => p.comment === 'sent').map((p) => p.data.toString()), sent);
    assert.deepStrictEqual(messages.filter((p) => p.comment === 'received').map((p) => p.data.toString()), sent);
    assert.ok(messages.every((p) => packetDirection(p) === (p.comment === 'sent' ? 'to-server' : 'to-client')));
    assert.strictEqual(messages.length, 2 * total);
    // The first entry is the event row that says the recording started; times are whole microseconds in ns.
    assert.match(capture.packets[0].comment, new RegExp(`^sipc event recording: recording every entry to .*session\\.pcapng \\(pcapng\\)$`));
    assert.ok(capture.packets.every((p) => p.timestampNs % 1000n === 0n));
  });

  it('records to JSON Lines (with text), and closing the panel ends the recording with a complete file', async () => {
    const { name, connection } = await echoConnection('recj');
    const file = path.join(dir, 'session.jsonl');
    await vscode.commands.executeCommand('sipc.recordToFile', { mode: 'peer', name, file });
    await connection.send(Buffer.from('héllo'));
    await connection.send(Buffer.from([0xff, 0x00, 0xfe]));
    await until(() => connection.receivedCount === 2, 'both echoes arrive');
    await until(() => api.inspector.recordings()[0]?.progress.messages === 4, 'the recording has the four messages');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until(() => api.inspector.recordings().length === 0, 'closing the panel ends its recording');
    await until(() => {
      const text = fs.readFileSync(file, 'utf8');
      return text.endsWith('\n') && text.includes('"recording-stopped"') === false && text.split('\n').length >= 6;
    }, 'the file is complete');
    const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.strictEqual(header.format, 'sipc-capture');
    assert.deepStrictEqual(header.channels, [name]);
    assert.strictEqual(header.mode, 'peer');
    const messages = lines.filter((l) => l.type === 'message');
    assert.deepStrictEqual(messages.map((m) => [m.direction, m.text, Buffer.from(m.data, 'base64').toString('hex')]), [
      ['sent', 'héllo', Buffer.from('héllo').toString('hex')],
      ['received', 'héllo', Buffer.from('héllo').toString('hex')],
      ['sent', undefined, 'ff00fe'],
      ['received', undefined, 'ff00fe'],
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
