import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCore } from './inspector-core.mjs';
import { testTempDir } from '../debris.mjs';

const core = await loadCore();

function sampleCapture() {
  const capture = new core.Capture();
  capture.addMessage('sent', new TextEncoder().encode('hello\n'), 1764000000123.456);
  capture.addEvent('peer-gone', 'the peer closed the channel', 1764000000200);
  capture.addMessage('received', Uint8Array.from({ length: 256 }, (_, i) => i), 1764000000300.001);
  capture.addMessage('to-client', Uint8Array.from([1, 2, 3]), 1764000000400, 1000);
  capture.addMessage('received', new Uint8Array(0), 1764000000500);
  capture.addMessage('to-server', new TextEncoder().encode('ping'), 1764000000600.5);
  return capture;
}

// What each sample message must carry, from the pcapng spec (epb_flags bits 0-1: 1 inbound, 2 outbound) and the
// inspector's direction labels, written out rather than taken from the writer's own helpers.
// Events are packets with no payload, direction 0 and a "sipc event <name>: <detail>" comment (helper/cli/capture.h).
const SAMPLE_FLAGS = [2, 0, 1, 1, 1, 2];
const SAMPLE_COMMENTS = ['sent', 'sipc event peer-gone: the peer closed the channel', 'received', 'server→client', 'received', 'client→server'];

/** Minimal independent pcapng reader: blocks, interface link type and name, packets with flags. */
function readPcapng(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks = [];
  for (let offset = 0; offset < bytes.length;) {
    const type = view.getUint32(offset, true);
    const length = view.getUint32(offset + 4, true);
    assert.equal(length % 4, 0, 'block length is a multiple of 4');
    assert.equal(view.getUint32(offset + length - 4, true), length, 'trailing length matches');
    blocks.push({ type, offset, length });
    offset += length;
  }
  const options = (start, end) => {
    const out = [];
    for (let o = start; o + 4 <= end;) {
      const code = view.getUint16(o, true);
      const len = view.getUint16(o + 2, true);
      if (code === 0) break;
      out.push({ code, value: bytes.slice(o + 4, o + 4 + len) });
      o += 4 + ((len + 3) & ~3);
    }
    return out;
  };
  const packets = [];
  let linkType;
  let ifName;
  let tsresol;
  for (const b of blocks) {
    if (b.type === 1) {
      linkType = view.getUint16(b.offset + 8, true);
      const opts = options(b.offset + 16, b.offset + b.length - 4);
      ifName = new TextDecoder().decode(opts.find((o) => o.code === 2).value);
      tsresol = opts.find((o) => o.code === 9)?.value[0];
    } else if (b.type === 6) {
      const high = view.getUint32(b.offset + 12, true);
      const low = view.getUint32(b.offset + 16, true);
      const captured = view.getUint32(b.offset + 20, true);
      const original = view.getUint32(b.offset + 24, true);
      const dataStart = b.offset + 28;
      const opts = options(dataStart + ((captured + 3) & ~3), b.offset + b.length - 4);
      const flags = new DataView(opts.find((o) => o.code === 2).value.buffer).getUint32(0, true);
      const comment = new TextDecoder().decode(opts.find((o) => o.code === 1).value);
      packets.push({ units: (BigInt(high) << 32n) | BigInt(low), original, data: bytes.slice(dataStart, dataStart + captured), flags, comment });
    }
  }
  return { blocks, linkType, ifName, tsresol, packets };
}

test('jsonl: export reads back byte-exact with timestamps and events', () => {
  const capture = sampleCapture();
  const text = [...core.jsonlLines(capture.entries(), { channel: 'demo', mode: 'peer', exported: 0 })].join('');
  assert.equal(text.split('\n').length, 8, 'header + 6 entries + final newline');
  const { header, entries } = core.parseJsonl(text);
  assert.equal(header.channel, 'demo');
  assert.deepEqual(entries, [...capture.entries()]);
  assert.match(text, /"captured":3/, 'truncated observer copies say how much was captured');
});

test('jsonl: a bad line is reported by number', () => {
  const good = core.jsonlHeaderLine({ channel: 'c', mode: 'peer', exported: 0 });
  assert.throws(() => core.parseJsonl(`${good}\n{"type":"message","seq":0}\n`), (e) => e.code === 'INVALID_CAPTURE' && e.line === 2);
  assert.throws(() => core.parseJsonl('{"type":"event","seq":0,"event":"x","timestampMs":1}\n'), /missing header/);
});

test('pcapng: one packet per entry, link type USER0, nanosecond timestamps, direction flags, events as comments', () => {
  const capture = sampleCapture();
  const file = core.concatChunks(core.pcapngChunks(capture.entries(), { interfaceName: 'demo' }));
  const read = readPcapng(file);
  assert.equal(read.blocks[0].type, 0x0a0d0d0a);
  assert.equal(read.linkType, 147);
  assert.equal(read.ifName, 'demo');
  assert.equal(read.tsresol, 9, 'if_tsresol 9: nanoseconds, as `sipc record` writes');
  const entries = [...capture.entries()];
  assert.equal(read.packets.length, entries.length, 'events are packets too');
  read.packets.forEach((p, i) => {
    const e = entries[i];
    assert.deepEqual(p.data, e.kind === 'message' ? e.data : new Uint8Array(0));
    assert.equal(p.original, e.kind === 'message' ? e.length : 0);
    assert.equal(p.units, BigInt(Math.round(e.timestamp * 1000)) * 1000n, `nanoseconds of entry ${i}`);
  });
  assert.deepEqual(read.packets.map((p) => p.flags), SAMPLE_FLAGS);
  assert.deepEqual(read.packets.map((p) => p.comment), SAMPLE_COMMENTS);
  assert.equal(read.packets[0].units, 1764000000123456000n, 'the microseconds of 1764000000123.456 ms, exactly');
});

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
test('pcapng: tshark reads the export: packet count, lengths, payload bytes', { skip: tshark.status === 0 ? false : 'tshark is not installed (Debian package tshark)' }, () => {
  const capture = sampleCapture();
  const dir = testTempDir('pcapng');
  try {
    const path = join(dir, 'capture.pcapng');
    writeFileSync(path, core.concatChunks(core.pcapngChunks(capture.entries(), { interfaceName: 'demo' })));
    const env = { ...process.env, HOME: dir };
    const messages = [...capture.entries()].map((e) => (e.kind === 'message' ? e : { ...e, length: 0, data: new Uint8Array(0) }));
    const summary = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch',
      '-e', 'frame.packet_flags_direction', '-e', 'frame.comment'], { encoding: 'utf8', env });
    assert.equal(summary.status, 0, summary.stderr);
    const rows = summary.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(rows.map((r) => [Number(r[0]), Number(r[1])]), messages.map((m) => [m.length, m.data.length]));
    rows.forEach((r, i) => {
      assert.ok(Math.abs(Number(r[2]) * 1000 - messages[i].timestamp) < 0.002, `timestamp of packet ${i + 1}`);
    });
    assert.deepEqual(rows.map((r) => Number(r[3])), SAMPLE_FLAGS);
    assert.deepEqual(rows.map((r) => r[4]), SAMPLE_COMMENTS);
    // Payload bytes from tshark's hex dump (-x), concatenated per packet.
    const dumps = hexDumpsOf(spawnSync('tshark', ['-r', path, '-x'], { encoding: 'utf8', env }).stdout);
    const nonEmpty = messages.filter((m) => m.data.length > 0);
    assert.equal(dumps.length, nonEmpty.length);
    dumps.forEach((d, i) => assert.deepEqual(d, nonEmpty[i].data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Parses `tshark -x` output: blocks of "0000  48 65 ...  text" lines separated by blank lines. */
function hexDumpsOf(text) {
  const dumps = [];
  let current;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{4,})  ((?:[0-9a-f]{2} ){0,15}[0-9a-f]{2})/.exec(line);
    if (m) {
      if (!current) dumps.push((current = []));
      for (const h of m[2].split(' ')) current.push(parseInt(h, 16));
    } else if (line.trim() === '') {
      current = undefined;
    }
  }
  return dumps.map((d) => Uint8Array.from(d));
}

test('pcapng: the section names the application, the interface carries name and description options', () => {
  const optionsOf = (block, bodyStart) => {
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    const found = {};
    for (let o = bodyStart; o + 4 <= block.length - 4;) {
      const code = view.getUint16(o, true);
      const length = view.getUint16(o + 2, true);
      if (code === 0) break;
      found[code] = new TextDecoder().decode(block.subarray(o + 4, o + 4 + length));
      o += 4 + ((length + 3) & ~3);
    }
    return found;
  };
  const shb = core.sectionHeader('tool 1.0');
  assert.deepEqual(optionsOf(shb, 24), { 4: 'tool 1.0' });
  const [defaultShb] = core.pcapngChunks([], { interfaceName: 'x' });
  assert.deepEqual(optionsOf(defaultShb, 24), { 4: 'sipc inspector' });
  const described = core.interfaceDescription({ interfaceName: 'demo', interfaceDescription: 'sipc channel (peer)' });
  assert.deepEqual(optionsOf(described, 16), { 2: 'demo', 3: 'sipc channel (peer)', 9: '\t' });
  const plain = core.interfaceDescription({ interfaceName: 'demo', linkType: 148 });
  assert.deepEqual(optionsOf(plain, 16), { 2: 'demo', 9: '\t' });
  assert.equal(new DataView(plain.buffer, plain.byteOffset).getUint16(8, true), 148);
  assert.deepEqual([...core.pcapngChunks([], { interfaceName: 'x' })].length, 2, 'no packets: header and interface only');
});

test('pcapng: a text option is cut to what its 16-bit length holds, at a character boundary, keeping the text\'s own U+FFFD', () => {
  // The section header's first option (shb_userappl) starts at byte 24: code, length, value.
  const userAppl = (application) => {
    const shb = core.sectionHeader(application);
    const length = new DataView(shb.buffer, shb.byteOffset, shb.byteLength).getUint16(26, true);
    return new TextDecoder().decode(shb.subarray(28, 28 + length));
  };
  assert.equal(userAppl('ends in \uFFFD'), 'ends in \uFFFD', 'a short text is kept as it is, a replacement character too');
  assert.equal(userAppl('x'.repeat(0xffff)), 'x'.repeat(0xffff), 'exactly 65,535 bytes fit');
  assert.equal(userAppl('x'.repeat(0x10000)), 'x'.repeat(0xfff0), 'one byte more: cut to 65,520');
  // Too long, cut at 65,520 bytes, inside the emoji (after its second byte): that part goes, the text's own U+FFFD stays.
  const kept = `a\uFFFDb${'x'.repeat(0xfff0 - 5 - 2)}`;
  assert.equal(userAppl(`${kept}\u{1F600}${'y'.repeat(100)}`), kept);
  // The text's own U+FFFD (3 bytes) ends exactly at the cut: nothing was split, it stays.
  const endsInOwn = `${'x'.repeat(0xfff0 - 3)}\uFFFD`;
  assert.equal(userAppl(`${endsInOwn}${'y'.repeat(100)}`), endsInOwn, 'a U+FFFD of the text right before the cut stays');
  // Its own U+FFFD and then a character cut after 1, 2 and 3 of its 4 bytes: only the cut character goes.
  for (const split of [1, 2, 3]) {
    const before = `${'x'.repeat(0xfff0 - 3 - split)}\uFFFD`;
    assert.equal(userAppl(`${before}\u{1F600}${'y'.repeat(100)}`), before, `cut after ${split} byte(s) of the emoji`);
  }
  // A lone surrogate is written as U+FFFD (3 bytes), as the text's own: cut right after it, it stays too.
  const lone = `${'x'.repeat(0xfff0 - 3)}\uD800`;
  assert.equal(userAppl(`${lone}${'y'.repeat(100)}`), `${'x'.repeat(0xfff0 - 3)}\uFFFD`);
  // Cut inside a 2- and a 3-byte character: the character goes, the cut is at its start.
  assert.equal(userAppl(`${'x'.repeat(0xfff0 - 1)}é${'y'.repeat(100)}`), 'x'.repeat(0xfff0 - 1));
  assert.equal(userAppl(`${'x'.repeat(0xfff0 - 2)}€${'y'.repeat(100)}`), 'x'.repeat(0xfff0 - 2));
  assert.equal(userAppl(`${'x'.repeat(0xfff0 - 1)}€${'y'.repeat(100)}`), 'x'.repeat(0xfff0 - 1));
});

test('pcapng: a batch of entries encodes to exactly the bytes of its entries one at a time, new channels included', () => {
  const options = { interfaceName: 'a', application: 'test', role: 'server' };
  const entries = [
    { kind: 'message', seq: 0, direction: 'sent', timestamp: 1764512345678.123, length: 5, data: new Uint8Array([1, 2, 3, 4, 5]) },
    { kind: 'event', seq: 1, event: 'attached', detail: 'pid 7 ✓', timestamp: 1764512345679 },
    { kind: 'message', seq: 2, direction: 'received', timestamp: 1764512345680, length: 9, data: new Uint8Array(3).fill(0xee), channel: 'b' },
    { kind: 'message', seq: 3, direction: 'to-client', timestamp: 1764512345681, length: 0, data: new Uint8Array(0), channel: 'a' },
  ];
  const batched = new core.PcapngEncoder(options);
  batched.start();
  const channelB = core.interfaceDescription({ interfaceName: 'b', application: 'test', interfaceDescription: 'sipc channel b' });
  const singly = core.concatChunks([core.enhancedPacket(entries[0], 0), core.enhancedPacket(entries[1], 0), channelB,
    core.enhancedPacket(entries[2], 1), core.enhancedPacket(entries[3], 0)]);
  assert.deepEqual(batched.entries(entries), singly);
  // The interface of channel b was announced once, in the batch: later entries of b refer to it.
  assert.deepEqual(batched.entries([entries[2]]), core.enhancedPacket(entries[2], 1));
});
