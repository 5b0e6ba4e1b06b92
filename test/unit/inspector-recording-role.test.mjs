// A connection panel's files name its window's role and hold the channel's directions (client→server /
// server→client), as `sipc record` writes them, so that `sipc replay`, Wireshark and Open Capture… read a recording
// made from the server's side the right way round; files without a role (earlier versions, the restore spill) keep
// the window's own view (sent/received). Checked with an independent pcapng parser and JSON.parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore } from './inspector-core.mjs';
import { packetDirection, parsePcapng } from '../cli/pcapng.mjs';
import { testTempDir } from '../debris.mjs';

const core = await loadCore();
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The inspector's host sources, bundled with the 'vscode' stub (EventEmitter, Disposable). */
async function loadSources() {
  const outfile = join(root, 'test/out/unit', `recording-role-sources-${process.pid}.cjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, 'extension/src/inspector/host/sources.ts')], outfile, bundle: true, platform: 'node', format: 'cjs',
    target: 'node20', logLevel: 'silent', alias: { vscode: join(root, 'test/unit/vscode-stub.cjs') }, external: ['koffi'],
  });
  process.on('exit', () => rmSync(outfile, { force: true }));
  return createRequire(import.meta.url)(outfile);
}
const sources = await loadSources();

/** The window's view of a session: what it sent and received (and an event between). */
function windowRows() {
  const text = (s) => new TextEncoder().encode(s);
  return [
    { kind: 'message', seq: 0, direction: 'received', timestamp: 1764000000000, length: 2, data: text('hi') },
    { kind: 'message', seq: 1, direction: 'sent', timestamp: 1764000000001, length: 5, data: text('hello') },
    { kind: 'event', seq: 2, timestamp: 1764000000002, event: 'peer-gone', detail: 'the peer closed the channel' },
  ];
}

function encode(format, meta, entries) {
  const encoder = new core.CaptureEncoder(format, meta);
  return Buffer.concat([...encoder.start(), ...entries.flatMap((e) => encoder.entry(e))]);
}

function decode(bytes) {
  const decoder = new core.CaptureDecoder();
  const entries = [...decoder.push(bytes), ...decoder.end()];
  return { decoder, entries };
}

const directions = (entries) => entries.filter((e) => e.kind === 'message').map((e) => e.direction);

test('a server-side panel writes pcapng with its role and the channel\'s directions', () => {
  const bytes = encode('pcapng', { channel: 'orders', mode: 'peer', role: () => 'server' }, windowRows());
  const file = parsePcapng(bytes);
  assert.deepEqual(file.interfaces.map((i) => i.comments), [['sipc role: server']]);
  // The server received "hi" (client→server, outbound) and sent "hello" (server→client, inbound).
  assert.deepEqual(file.packets.map((p) => [packetDirection(p), p.comment]), [
    ['to-server', 'client→server'], ['to-client', 'server→client'], [null, 'sipc event peer-gone: the peer closed the channel']]);
  const { decoder, entries } = decode(bytes);
  assert.equal(decoder.role, 'server');
  assert.deepEqual(directions(entries), ['to-server', 'to-client']);
});

test('a client-side panel writes JSON Lines with its role and the channel\'s directions', () => {
  const bytes = encode('jsonl', { channel: 'orders', mode: 'peer', role: () => 'client' }, windowRows());
  const [header, ...lines] = bytes.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(header.role, 'client');
  assert.deepEqual(lines.map((l) => l.direction ?? l.event), ['to-client', 'to-server', 'peer-gone']);
  const { decoder, entries } = decode(bytes);
  assert.equal(decoder.role, 'client');
  assert.deepEqual(directions(entries), ['to-client', 'to-server']);
});

test('the role is asked for each row: a window that connects (or reconnects as the other side) mid-recording', () => {
  for (const format of ['pcapng', 'jsonl']) {
    let role;
    const encoder = new core.CaptureEncoder(format, { channel: 'c', mode: 'peer', role: () => role });
    const chunks = [...encoder.start()]; // not connected yet: the file names no role
    const [received, sent] = windowRows();
    role = 'client';
    chunks.push(...encoder.entry(sent));
    role = 'server';
    chunks.push(...encoder.entry(sent), ...encoder.entry(received));
    const bytes = Buffer.concat(chunks);
    const { decoder, entries } = decode(bytes);
    assert.equal(decoder.role, undefined, format);
    assert.deepEqual(directions(entries), ['to-server', 'to-client', 'to-server'], format);
  }
});

test('without a role (the restore spill, earlier versions) rows are written and read as the window\'s view', () => {
  for (const format of ['pcapng', 'jsonl']) {
    const bytes = encode(format, { channel: 'c', mode: 'peer' }, windowRows());
    if (format === 'pcapng') {
      const file = parsePcapng(bytes);
      assert.deepEqual(file.interfaces[0].comments, []);
      assert.deepEqual(file.packets.slice(0, 2).map((p) => [packetDirection(p), p.comment]), [['to-client', 'received'], ['to-server', 'sent']]);
    } else {
      assert.equal(JSON.parse(bytes.toString('utf8').split('\n')[0]).role, undefined);
    }
    const { decoder, entries } = decode(bytes);
    assert.equal(decoder.role, undefined);
    assert.deepEqual(directions(entries), ['received', 'sent'], format);
  }
  // An observer's rows are the channel's already; the file says it was an observer.
  const observed = encode('jsonl', { channel: 'c', mode: 'observer', role: 'observer' },
    [{ kind: 'message', seq: 0, direction: 'to-server', timestamp: 1, length: 0, data: new Uint8Array(0) }]);
  const { decoder, entries } = decode(observed);
  assert.equal(decoder.role, 'observer');
  assert.deepEqual(directions(entries), ['to-server']);
});

test('a reader places sent/received rows of a file that names a server or client role', () => {
  // pcapng: the interface names the role while the packets hold the window's view (another writer may do that).
  const encoder = new core.PcapngEncoder({ interfaceName: 'c', role: 'server' });
  const pcapng = Buffer.concat([...encoder.start(), ...windowRows().flatMap((e) => encoder.entry(e))]);
  assert.deepEqual(parsePcapng(pcapng).packets.slice(0, 2).map((p) => p.comment), ['received', 'sent']);
  assert.deepEqual(directions(decode(pcapng).entries), ['to-server', 'to-client']);
  // JSON Lines: the header's role.
  const header = core.jsonlHeaderLine({ channel: 'c', mode: 'peer', exported: 0, role: 'client' });
  const jsonl = [header, ...windowRows().map((e) => core.jsonlEntryLine(e, 'c'))].join('\n');
  const parsed = core.parseJsonl(jsonl);
  assert.equal(parsed.header.role, 'client');
  assert.deepEqual(directions(parsed.entries), ['to-client', 'to-server']);
  // An unknown role is no role.
  const odd = core.parseJsonl([header.replace('"role":"client"', '"role":"both"'), core.jsonlEntryLine(windowRows()[1], 'c')].join('\n'));
  assert.equal(odd.header.role, undefined);
  assert.deepEqual(directions(odd.entries), ['sent']);
});

test('rows of another channel (an opened recording) keep their direction, and its interface names no role', () => {
  const other = { kind: 'message', seq: 3, direction: 'sent', timestamp: 5, length: 1, data: Uint8Array.of(7), channel: 'billing' };
  const bytes = encode('pcapng', { channel: 'orders', mode: 'file', role: 'server' }, [...windowRows(), other]);
  const file = parsePcapng(bytes);
  assert.deepEqual(file.interfaces.map((i) => [i.name, i.comments]), [['orders', ['sipc role: server']], ['billing', []]]);
  assert.equal(file.packets.at(-1).comment, 'sent');
});

test('Open Capture… of a panel file without a role adds a note row; with a role it does not', async () => {
  const dir = testTempDir('role');
  try {
    const { FileSource } = sources;
    const log = { info() {}, warn() {}, error() {} };
    const notes = [];
    for (const [name, role] of [['old.pcapng', undefined], ['new.pcapng', () => 'server']]) {
      const path = join(dir, name);
      writeFileSync(path, encode('pcapng', { channel: 'c', mode: 'peer', ...(role ? { role } : {}) }, windowRows()));
      const capture = new core.Capture();
      const source = new FileSource(path, capture, log);
      await source.loaded;
      assert.equal(source.recordingRole(), role?.());
      notes.push([...capture.entries()].filter((e) => e.kind === 'event' && e.event === 'note').map((e) => e.detail));
      source.dispose();
    }
    assert.equal(notes[0].length, 1);
    assert.match(notes[0][0], /does not say whether that window was the server or the client/);
    assert.deepEqual(notes[1], []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** This window's connection as the connection panel's source sees it: a role, messages, state changes. */
function fakeConnection(role) {
  const listeners = { message: new Set(), state: new Set() };
  const on = (set) => (listener) => { set.add(listener); return { dispose: () => set.delete(listener) }; };
  return {
    role, state: 'connected', receivedMessages: [], peerPid: () => 4242, info: () => undefined,
    onDidMessage: on(listeners.message), onDidChangeState: on(listeners.state), onDidError: on(new Set()),
    message(direction, text) { for (const l of listeners.message) l({ direction, data: new TextEncoder().encode(text), timestamp: 1764000000000 }); },
  };
}

test('a connection panel records from its window\'s role, and keeps it after the connection closes', () => {
  const changed = new Set();
  let current = fakeConnection('server');
  const manager = { get: () => current, onDidChange: (l) => { changed.add(l); return { dispose: () => changed.delete(l) }; } };
  const capture = new core.Capture();
  const source = new sources.PeerSource('orders', manager, capture);
  assert.equal(source.recordingRole(), 'server');
  // What the panel's recording is given (panel.ts encoder()): the role asked of the source for each row.
  const encoder = new core.CaptureEncoder('jsonl', { channel: 'orders', mode: 'peer', role: () => source.recordingRole() });
  const chunks = [...encoder.start()];
  capture.onAppend((entry) => chunks.push(...encoder.entry(entry)));
  current.message('received', 'hi');
  current.message('sent', 'hello');
  // The window disconnects: its rows are still the server's.
  current = undefined;
  for (const l of changed) l();
  assert.equal(source.role(), undefined);
  assert.equal(source.recordingRole(), 'server');
  // It connects again, now as the client.
  current = fakeConnection('client');
  for (const l of changed) l();
  current.message('sent', 'again');
  const { decoder, entries } = decode(Buffer.concat(chunks));
  assert.equal(decoder.role, 'server');
  assert.deepEqual(entries.filter((e) => e.kind === 'message').map((e) => [e.direction, new TextDecoder().decode(e.data)]),
    [['to-server', 'hi'], ['to-client', 'hello'], ['to-server', 'again']]);
  assert.equal(source.recordingRole(), 'client');
  source.dispose();
});

test('an opened file\'s statistics bar names the file and the side it was recorded from, not live peers ("server — · client —")', async () => {
  const dir = testTempDir('file-stats');
  const log = { info() {}, warn() {}, error() {} };
  try {
    const opened = [];
    for (const [file, meta] of [['server.pcapng', { channel: 'orders', mode: 'peer', role: () => 'server' }],
      ['observed.jsonl', { channel: 'orders', mode: 'observer', role: 'observer' }],
      ['earlier-version.pcapng', { channel: 'orders', mode: 'peer' }]]) {
      const path = join(dir, file);
      writeFileSync(path, encode(file.endsWith('.jsonl') ? 'jsonl' : 'pcapng', meta, windowRows()));
      const source = new sources.FileSource(path, new core.Capture(), log);
      await source.loaded;
      const status = source.status();
      assert.equal(status.info, undefined, 'a file has no live channel');
      opened.push(core.peersText({ state: status.state, directions: [], retained: 0, retainedBytes: 0, dropped: 0, maxMessages: 1, file: status.file }));
      source.dispose();
    }
    // A file that does not say its side (an earlier version's) is named alone.
    assert.deepEqual(opened, ['server.pcapng · recorded by the server', 'observed.jsonl · recorded by an observer', 'earlier-version.pcapng']);
    // A live panel still shows the holders.
    assert.equal(core.peersText({ state: 'connected', directions: [], retained: 0, retainedBytes: 0, dropped: 0, maxMessages: 1,
      serverPid: 4242, serverAlive: true, serverProcess: '4242 node', clientPid: 17, clientAlive: false }), 'server 4242 node · client 17 (dead)');
    assert.equal(core.peersText({ state: 'waiting', directions: [], retained: 0, retainedBytes: 0, dropped: 0, maxMessages: 1 }), 'server — · client —');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
