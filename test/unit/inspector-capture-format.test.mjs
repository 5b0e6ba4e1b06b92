// A capture file in either format (extension/src/inspector/shared/captureFormat.ts): the format a file name asks
// for, what the encoder writes for each kind of panel (checked with the tests' own pcapng parser and JSON.parse),
// and how the decoder tells the format from the first bytes, however few arrive at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';
import { packetDirection, parsePcapng } from '../cli/pcapng.mjs';

const core = await loadCore();
const bytes = (s) => new TextEncoder().encode(s);

function encode(format, meta, entries, now = 0) {
  const encoder = new core.CaptureEncoder(format, meta);
  return Buffer.concat([...encoder.start(now), ...entries.flatMap((e) => encoder.entry(e))]);
}

const rows = () => [
  { kind: 'message', seq: 0, direction: 'sent', timestamp: 1, length: 1, data: bytes('s') },
  { kind: 'message', seq: 1, direction: 'received', timestamp: 2, length: 1, data: bytes('r') },
  { kind: 'message', seq: 2, direction: 'sent', timestamp: 3, length: 1, data: bytes('o'), channel: 'other' },
  { kind: 'event', seq: 3, timestamp: 4, event: 'note', detail: 'd' },
];

test('formatOfFileName: .jsonl, .ndjson and .json (any case) are JSON Lines, anything else pcapng', () => {
  for (const name of ['a.jsonl', 'a.ndjson', 'a.json', 'A.JSONL', '/x.pcapng/b.Json']) assert.equal(core.formatOfFileName(name), 'jsonl', name);
  for (const name of ['a.pcapng', 'a.pcap', 'a.jsonl.pcapng', 'jsonl', 'a.jsonlx', 'ajson', '']) assert.equal(core.formatOfFileName(name), 'pcapng', name);
});

test('capture encoder (pcapng): the interface is the channel, described by the panel\'s mode, and names the role when there is one', () => {
  const file = encode('pcapng', { channel: 'orders', mode: 'observer' }, rows());
  const parsed = parsePcapng(file);
  assert.equal(parsed.application, 'sipc inspector');
  assert.deepEqual(parsed.interfaces.map((i) => [i.name, i.comments]), [['orders', []], ['other', []]]);
  assert.ok(file.includes(Buffer.from('sipc channel (observer)')), 'if_description names the mode');
  assert.deepEqual(parsed.packets.map((p) => [p.channel, p.comment]), [['orders', 'sent'], ['orders', 'received'], ['other', 'sent'], ['orders', 'sipc event note: d']]);
  const tool = parsePcapng(encode('pcapng', { channel: 'c', mode: 'peer', application: 'my tool', role: 'client' }, []));
  assert.equal(tool.application, 'my tool');
  assert.deepEqual(tool.interfaces.map((i) => i.comments), [['sipc role: client']]);
  assert.throws(() => new core.CaptureEncoder('pcapng', { channel: 'c', mode: 'peer' }).entry(rows()[0]), /entry\(\) before start\(\)/);
});

test('capture encoder: a server or client role places the window\'s own channel\'s sent/received rows in the channel\'s direction', () => {
  const server = parsePcapng(encode('pcapng', { channel: 'c', mode: 'peer', role: 'server' }, rows()));
  assert.deepEqual(server.packets.map((p) => [p.comment, packetDirection(p)]),
    [['server→client', 'to-client'], ['client→server', 'to-server'], ['sent', 'to-server'], ['sipc event note: d', null]],
    'the other channel\'s row keeps its direction');
  const client = encode('jsonl', { channel: 'c', mode: 'peer', role: 'client' }, rows(), 1764000000123);
  const lines = client.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].role, 'client');
  assert.equal(lines[0].exported, '2025-11-24T16:00:00.123Z', 'the start time given');
  assert.equal(lines[0].application, 'sipc inspector');
  assert.deepEqual(lines.slice(1).map((l) => l.direction ?? l.event), ['to-server', 'to-client', 'sent', 'note']);
  assert.deepEqual(lines.slice(1).map((l) => l.channel), ['c', 'c', 'other', 'c']);
  // An observer records the channel's directions already; a role asked each time may be unknown for a while.
  const observer = encode('jsonl', { channel: 'c', mode: 'observer', role: 'observer' }, rows());
  assert.deepEqual(observer.toString('utf8').trim().split('\n').slice(1, 3).map((l) => JSON.parse(l).direction), ['sent', 'received']);
  let role;
  const encoder = new core.CaptureEncoder('jsonl', { channel: 'c', mode: 'peer', role: () => role });
  const header = JSON.parse(Buffer.concat(encoder.start(0)).toString('utf8'));
  assert.equal('role' in header, false, 'no role known at the start: none written');
  const direction = (entry) => JSON.parse(Buffer.concat(encoder.entry(entry)).toString('utf8')).direction;
  assert.equal(direction(rows()[0]), 'sent');
  role = 'server';
  assert.equal(direction(rows()[0]), 'to-client');
  role = 'client';
  assert.equal(direction(rows()[0]), 'to-server');
  assert.equal(direction({ ...rows()[0], direction: 'to-client' }), 'to-client', 'a channel direction stays');
});

test('capture decoder: the format is told by the first four bytes, however they arrive', () => {
  const pcapng = encode('pcapng', { channel: 'c', mode: 'peer', role: 'server' }, rows());
  const jsonl = encode('jsonl', { channel: 'c', mode: 'peer', role: 'client' }, rows());
  for (const [file, format, role] of [[pcapng, 'pcapng', 'server'], [jsonl, 'jsonl', 'client']]) {
    const decoder = new core.CaptureDecoder();
    assert.equal(decoder.detectedFormat, undefined);
    assert.equal(decoder.channel, undefined);
    assert.equal(decoder.role, undefined);
    assert.deepEqual(decoder.channels, []);
    const entries = [];
    assert.deepEqual(decoder.push(new Uint8Array(0)), [], 'an empty chunk tells nothing');
    let at = 0;
    for (const size of [1, 2, 3, 5]) {
      entries.push(...decoder.push(file.subarray(at, at + size)));
      at += size;
    }
    entries.push(...decoder.push(file.subarray(at)), ...decoder.end());
    assert.equal(decoder.detectedFormat, format);
    assert.equal(decoder.channel, 'c');
    assert.equal(decoder.role, role);
    assert.deepEqual(decoder.channels, ['c', 'other']);
    assert.deepEqual(entries.map((e) => [e.kind, e.channel, e.direction]), [
      ['message', undefined, format === 'pcapng' ? 'to-client' : 'to-server'],
      ['message', undefined, format === 'pcapng' ? 'to-server' : 'to-client'],
      ['message', 'other', 'sent'],
      ['event', undefined, undefined],
    ], format);
  }
  const roleless = new core.CaptureDecoder();
  roleless.push(encode('pcapng', { channel: 'c', mode: 'peer' }, []));
  assert.equal(roleless.role, undefined);
});

test('capture decoder: files shorter than four bytes, classic pcap and unknown bytes', () => {
  const tiny = new core.CaptureDecoder();
  assert.deepEqual(tiny.push(bytes('{')), []);
  assert.throws(() => tiny.end(), { code: 'INVALID_CAPTURE', message: 'line 1: not JSON' });
  const header = bytes('{"type":"header","format":"sipc-capture","version":1,"channel":"c"}');
  const split = new core.CaptureDecoder();
  assert.deepEqual([...split.push(header.subarray(0, 2)), ...split.push(header.subarray(2)), ...split.end()], []);
  assert.equal(split.channel, 'c');
  const early = new core.CaptureDecoder();
  early.push(bytes('{"ty'));
  assert.deepEqual([early.detectedFormat, early.role, early.channel], ['jsonl', undefined, undefined], 'before the header line: no role yet');
  const bom = new core.CaptureDecoder();
  assert.deepEqual([...bom.push(Uint8Array.of(0xef, 0xbb)), ...bom.push(Uint8Array.of(0xbf)), ...bom.push(header), ...bom.end()], []);
  assert.equal(bom.detectedFormat, 'jsonl');
  for (const magic of [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]]) {
    assert.throws(() => new core.CaptureDecoder().push(Uint8Array.of(...magic, 2, 0, 4, 0)),
      { name: 'CaptureFormatError', message: 'this is a classic pcap file, not pcapng: convert it with `editcap -F pcapng IN OUT`' }, magic.join());
  }
  for (const start of [[0xa1, 0xb2, 0xc3], [0x0a, 0x0d, 0x0d], [0x00]]) {
    const short = new core.CaptureDecoder();
    assert.deepEqual(short.push(Uint8Array.of(...start)), []);
    assert.throws(() => short.end(), { name: 'CaptureFormatError', message: 'this is neither pcapng nor JSON Lines (unknown first bytes)' }, start.join());
  }
  assert.throws(() => new core.CaptureDecoder().push(bytes('PK\x03\x04')), /neither pcapng nor JSON Lines/);
  assert.throws(() => new core.CaptureDecoder().push(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1)), /classic pcap/, 'four bytes are enough to tell');
  assert.throws(() => new core.CaptureDecoder().end(), { name: 'CaptureFormatError', message: 'the file is empty' });
  const empty = new core.CaptureDecoder();
  assert.deepEqual(empty.push(new Uint8Array(0)), []);
  assert.throws(() => empty.end(), /the file is empty/);
});

test('capture decoder: a JSON Lines line longer than the limit is refused naming its line, the complete lines before it come out', () => {
  const header = '{"type":"header","format":"sipc-capture","version":1,"channel":"c"}\n';
  const event = '{"type":"event","seq":0,"timestampMs":1,"event":"a"}\n';
  assert.equal(core.MAX_JSONL_LINE_CHARS, 256 * 1024 * 1024);
  const atLimit = new core.CaptureDecoder(60);
  assert.deepEqual(atLimit.push(bytes(header + 'x'.repeat(60))), [], 'a partial line of exactly the limit waits for its end');
  assert.throws(() => atLimit.push(bytes('x')), { name: 'JsonlParseError', message: 'line 2: longer than 60 characters (is this a sipc capture?)' });
  const after = new core.CaptureDecoder(60);
  assert.deepEqual(after.push(bytes(header + event + event + 'y'.repeat(61))).map((e) => e.event), ['a', 'a']);
  assert.throws(() => after.end(), { message: 'line 4: longer than 60 characters (is this a sipc capture?)' });
});

test('capture encoder: entries() writes the same bytes as entry() one at a time, placed by the role; not before start()', () => {
  for (const format of ['pcapng', 'jsonl']) {
    const meta = { channel: 'c', mode: 'peer', role: 'server' };
    const one = new core.CaptureEncoder(format, meta);
    const many = new core.CaptureEncoder(format, meta);
    one.start(0);
    many.start(0);
    assert.deepEqual(Buffer.from(many.entries(rows())), Buffer.concat(rows().flatMap((e) => one.entry(e))), format);
  }
  assert.throws(() => new core.CaptureEncoder('pcapng', { channel: 'c', mode: 'peer' }).entries(rows()), /entries\(\) before start\(\)/);
});
