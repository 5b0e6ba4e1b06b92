// Capture files as `sipc record` writes them, from the inspector: the encoders (JSON Lines `text`, exact ns
// timestamps, one pcapng interface per channel), the streaming decoder (any chunking, both byte orders, other
// resolutions, damaged files) and the streaming file writer/reader of the extension host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCaptureFile, loadCore } from './inspector-core.mjs';
import { testTempDir } from '../debris.mjs';

const core = await loadCore();
const files = await loadCaptureFile();
const text = (s) => new TextEncoder().encode(s);

function sampleEntries() {
  const capture = new core.Capture();
  capture.addMessage('to-server', text('héllo'), 1764000000123.456);
  capture.addEvent('peer-died', 'client pid 42 died without closing (killed or crashed)', 1764000000200.5);
  capture.addMessage('to-client', Uint8Array.from([0xff, 0xfe, 0, 1]), 1764000000300.001);
  capture.addMessage('to-client', Uint8Array.from([1, 2, 3]), 1764000000400, 1000);
  capture.addMessage('to-server', new Uint8Array(0), 1764000000500);
  return [...capture.entries()];
}

/** Entries as a decoder hands them back: seq is the capture's to assign, timestamps are whole microseconds. */
const comparable = (entries) => entries.map(({ seq: _seq, ...rest }) => ({ ...rest, timestamp: Math.round(rest.timestamp * 1000) }));

function decodeAll(bytes, chunkSizes) {
  const decoder = new core.CaptureDecoder();
  const entries = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = chunkSizes[i % chunkSizes.length];
    entries.push(...decoder.push(bytes.subarray(at, at + size)));
    at += size;
  }
  entries.push(...decoder.end());
  return { decoder, entries };
}

function encodeAll(format, entries, channel = 'demo') {
  const encoder = new core.CaptureEncoder(format, { channel, mode: 'observer' });
  return core.concatChunks([...encoder.start(0), ...entries.flatMap((e) => encoder.entry(e))]);
}

test('JSON Lines lines carry the channel, exact nanoseconds and a text field only for UTF-8 payloads', () => {
  const bytes = encodeAll('jsonl', sampleEntries());
  const raw = new TextDecoder().decode(bytes).trim().split('\n');
  const lines = raw.map((l) => JSON.parse(l));
  assert.deepEqual({ ...lines[0], exported: undefined }, { type: 'header', format: 'sipc-capture', version: 1, channel: 'demo', channels: ['demo'],
    mode: 'observer', exported: undefined, application: 'sipc inspector' });
  assert.equal(lines[1].text, 'héllo');
  assert.equal(lines[1].channel, 'demo');
  assert.match(raw[1], /"timestampNs":1764000000123456000[,}]/, 'the integer is written exactly, beyond a double');
  assert.equal(lines[2].type, 'event');
  assert.equal(lines[3].text, undefined, 'no text for bytes that are not UTF-8');
  assert.equal(lines[4].captured, 3);
  assert.equal(lines[5].text, '', 'an empty payload is valid UTF-8');
});

for (const format of ['pcapng', 'jsonl']) {
  test(`${format}: the decoder reads the encoder's file back whatever the chunking`, () => {
    const entries = sampleEntries();
    const bytes = encodeAll(format, entries);
    const whole = decodeAll(bytes, [bytes.length]);
    assert.deepEqual(comparable(whole.entries), comparable(entries));
    assert.equal(whole.decoder.detectedFormat, format);
    assert.deepEqual(whole.decoder.channels, ['demo']);
    for (const sizes of [[1], [3, 7], [13], [64, 1, 2]]) {
      assert.deepEqual(comparable(decodeAll(bytes, sizes).entries), comparable(entries), `chunks of ${sizes}`);
    }
  });

  test(`${format}: entries of other channels get an interface (or channel field) of their own and come back named`, () => {
    const entries = sampleEntries().map((e, i) => (i % 2 === 1 ? { ...e, channel: 'other' } : e));
    const { decoder, entries: back } = decodeAll(encodeAll(format, entries, 'main'), [5]);
    assert.deepEqual(decoder.channels, ['main', 'other']);
    assert.deepEqual(comparable(back), comparable(entries));
  });
}

/** A hand-built big-endian pcapng: microsecond interface with if_tsoffset, one packet each way, one event. */
function bigEndianPcapng() {
  const parts = [];
  const blockOf = (type, body) => {
    const total = 12 + body.length;
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    view.setUint32(0, type, false);
    view.setUint32(4, total, false);
    out.set(body, 8);
    view.setUint32(total - 4, total, false);
    return out;
  };
  const option = (code, value) => {
    const out = new Uint8Array(4 + ((value.length + 3) & ~3));
    new DataView(out.buffer).setUint16(0, code, false);
    new DataView(out.buffer).setUint16(2, value.length, false);
    out.set(value, 4);
    return out;
  };
  const join = (...arrays) => core.concatChunks(arrays);
  const shbBody = new Uint8Array(16);
  new DataView(shbBody.buffer).setUint32(0, 0x1a2b3c4d, false);
  new DataView(shbBody.buffer).setUint16(4, 1, false);
  parts.push(blockOf(0x0a0d0d0a, shbBody));
  const idbHead = new Uint8Array(8);
  new DataView(idbHead.buffer).setUint16(0, 147, false);
  const offset = new Uint8Array(8);
  new DataView(offset.buffer).setBigInt64(0, 10n, false);
  parts.push(blockOf(1, join(idbHead, option(2, text('be-chan')), option(9, Uint8Array.of(6)), option(14, offset), new Uint8Array(4))));
  const packet = (micros, data, flags, comment) => {
    const head = new Uint8Array(20);
    const view = new DataView(head.buffer);
    view.setUint32(4, Number(micros >> 32n), false);
    view.setUint32(8, Number(micros & 0xffffffffn), false);
    view.setUint32(12, data.length, false);
    view.setUint32(16, data.length, false);
    const padded = new Uint8Array((data.length + 3) & ~3);
    padded.set(data);
    const flagBytes = new Uint8Array(4);
    new DataView(flagBytes.buffer).setUint32(0, flags, false);
    return blockOf(6, join(head, padded, option(2, flagBytes), option(1, text(comment)), new Uint8Array(4)));
  };
  parts.push(packet(1_000_000n, text('up'), 2, 'client→server'));
  parts.push(packet(2_500_000n, text('down!'), 1, 'server→client, undeliverable'));
  parts.push(packet(3_000_000n, new Uint8Array(0), 0, 'sipc event missed: 3 client→server messages went by'));
  // A block the inspector does not show (a custom block) is skipped.
  parts.push(blockOf(0x00000bad, new Uint8Array(8)));
  return core.concatChunks(parts);
}

test('pcapng: the other byte order, microsecond resolution and if_tsoffset are read', () => {
  const { decoder, entries } = decodeAll(bigEndianPcapng(), [9]);
  assert.deepEqual(decoder.channels, ['be-chan']);
  assert.deepEqual(entries.map((e) => [e.kind, e.kind === 'message' ? e.direction : e.event, e.timestamp]),
    [['message', 'to-server', 11_000], ['message', 'to-client', 12_500], ['event', 'missed', 13_000]]);
  assert.deepEqual([...entries[1].data], [...text('down!')]);
  assert.equal(entries[2].detail, '3 client→server messages went by');
});

test('damaged files: every truncation and random byte flips give a CaptureFormatError / JsonlParseError, never another exception', () => {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const format of ['pcapng', 'jsonl']) {
    const good = encodeAll(format, sampleEntries());
    for (let cut = 0; cut < good.length; cut++) {
      try {
        decodeAll(good.subarray(0, cut), [7]);
        // A cut at a block or line boundary is a shorter, valid file.
      } catch (error) {
        assert.equal(error.code, 'INVALID_CAPTURE', `${format} cut at ${cut}: ${error.stack}`);
        assert.match(error.message, /offset|line|empty|ends|neither/);
      }
    }
    for (let i = 0; i < 200; i++) {
      const bad = good.slice();
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
      try {
        decodeAll(bad, [1 + Math.floor(random() * 40)]);
      } catch (error) {
        assert.equal(error.code, 'INVALID_CAPTURE', `${format} mutation ${i}: ${error.stack}`);
      }
    }
  }
  assert.throws(() => decodeAll(text('hello world'), [4]), /neither pcapng nor JSON Lines/);
  assert.throws(() => decodeAll(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0), [8]), /classic pcap/);
  assert.throws(() => new core.CaptureDecoder().end(), /empty/);
  const huge = encodeAll('pcapng', []);
  const claim = core.concatChunks([huge, Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0, 0)]);
  assert.throws(() => decodeAll(claim, [claim.length]), /claims \d+ bytes/);
});

test('the file writer streams entries to disk and the reader streams them back; a damaged tail hands out what came before', async (t) => {
  const dir = testTempDir('capfile');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const capture = new core.Capture({ maxMessages: 100, maxBytes: 1 << 20 });
  const payload = new Uint8Array(200).fill(7);
  for (let i = 0; i < 2100; i++) capture.addMessage(i % 2 ? 'sent' : 'received', payload, 1764000000000 + i);
  const entries = [...capture.entries()];
  assert.equal(entries.length, 100, 'the capture retains 100');
  // An export of more entries than the capture retains: stream them all (here generated on the fly).
  const all = function* () {
    for (let i = 0; i < 2100; i++) yield { kind: 'message', seq: i, direction: i % 2 ? 'sent' : 'received', timestamp: 1764000000000 + i, length: 200, data: payload };
  };
  for (const format of ['pcapng', 'jsonl']) {
    const path = join(dir, `all.${format}`);
    const progress = [];
    const written = await files.writeCaptureFile(path, new core.CaptureEncoder(format, { channel: 'c', mode: 'peer' }), all(), (n) => progress.push(n));
    assert.equal(written.messages, 2100);
    assert.equal(written.bytes, readFileSync(path).length);
    assert.deepEqual(progress, [2000]);
    const back = [];
    await files.readCaptureFile(path, new core.CaptureDecoder(), (batch) => back.push(...batch));
    assert.equal(back.length, 2100);
    assert.deepEqual(comparable(back), comparable([...all()]));
    // Cut the file inside its last entry: the reader hands out the rest, then rejects naming the damage.
    const cutPath = join(dir, `cut.${format}`);
    const bytes = readFileSync(path);
    writeFileSync(cutPath, bytes.subarray(0, bytes.length - 10));
    const partial = [];
    await assert.rejects(files.readCaptureFile(cutPath, new core.CaptureDecoder(), (batch) => partial.push(...batch)), (e) => e.code === 'INVALID_CAPTURE');
    assert.equal(partial.length, 2099);
  }
  await assert.rejects(files.readCaptureFile(join(dir, 'absent.pcapng'), new core.CaptureDecoder(), () => {}), /ENOENT/);
  await assert.rejects(files.CaptureFileWriter.open(join(dir, 'no', 'such', 'dir.pcapng'), new core.CaptureEncoder('pcapng', { channel: 'c', mode: 'peer' })), /ENOENT/);
});

test('a recording whose disk falls behind drops entries (bounded memory) and says so in the file', async (t) => {
  const dir = testTempDir('capfile');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'rec.jsonl');
  const writer = await files.CaptureFileWriter.open(path, new core.CaptureEncoder('jsonl', { channel: 'c', mode: 'observer' }), { maxBacklogBytes: 64 * 1024 });
  const payload = new Uint8Array(4096).fill(1);
  let accepted = 0;
  // All written in one turn of the event loop: nothing reaches the disk meanwhile, so the backlog bound is hit.
  for (let i = 0; i < 200; i++) if (writer.write({ kind: 'message', seq: i, direction: 'to-server', timestamp: 1764000000000 + i, length: 4096, data: payload })) accepted++;
  assert.ok(accepted < 200 && accepted > 0, `accepted ${accepted}`);
  await writer.drained();
  assert.ok(writer.write({ kind: 'event', seq: 200, timestamp: 1764000000200, event: 'marker', detail: 'after the backlog cleared' }));
  const progress = await writer.close();
  assert.equal(progress.dropped, 200 - accepted);
  assert.equal(progress.messages, accepted);
  const { entries } = core.parseJsonl(readFileSync(path, 'utf8'));
  const notRecorded = entries.find((e) => e.kind === 'event' && e.event === 'not-recorded');
  assert.ok(notRecorded, 'an event row counts the dropped entries');
  assert.match(notRecorded.detail, new RegExp(`^${200 - accepted} entries before this one were not recorded`));
  assert.equal(entries.filter((e) => e.kind === 'message').length, accepted);
  assert.equal(writer.write({ kind: 'event', seq: 1, timestamp: 1, event: 'x', detail: '' }), false, 'a closed writer takes nothing');
});

test('pcapng timestamps: whole microseconds survive as exact nanoseconds, from the epoch to far beyond today', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const micros = [0, 1, 999, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1764000000123456, 2 ** 52 - 1];
  for (let i = 0; i < 500; i++) micros.push(Math.floor(random() * 2 ** 20) * 2 ** 32 + Math.floor(random() * 2 ** 32));
  const entries = micros.map((us, i) => ({ kind: 'message', seq: i, direction: 'to-server', timestamp: us / 1000, length: 0, data: new Uint8Array(0) }));
  const bytes = encodeAll('pcapng', entries);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Walk the blocks: every packet's 64-bit timestamp is its microseconds × 1000, exactly.
  const stamps = [];
  for (let at = 0; at < bytes.length; at += view.getUint32(at + 4, true)) {
    if (view.getUint32(at, true) === 6) stamps.push((BigInt(view.getUint32(at + 12, true)) << 32n) | BigInt(view.getUint32(at + 16, true)));
  }
  assert.deepEqual(stamps, micros.map((us) => BigInt(Math.round((us / 1000) * 1000)) * 1000n));
  const { entries: back } = decodeAll(bytes, [bytes.length]);
  assert.deepEqual(back.map((e) => Math.round(e.timestamp * 1000)), micros.map((us) => Math.round((us / 1000) * 1000)));
});

test('pcapng: a comment longer than an option can hold is cut at a character boundary, the block stays valid', () => {
  const detail = 'é'.repeat(40000); // 80,000 bytes of UTF-8
  const bytes = encodeAll('pcapng', [{ kind: 'event', seq: 0, timestamp: 1, event: 'long', detail }]);
  const { entries } = decodeAll(bytes, [bytes.length]);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].event, 'long');
  assert.ok(entries[0].detail.length > 30000 && entries[0].detail.length < 40000, `cut: ${entries[0].detail.length}`);
  assert.ok(/^é+$/.test(entries[0].detail), 'no broken character at the cut');
  assert.ok(new TextEncoder().encode(`sipc event long: ${entries[0].detail}`).length <= 0xffff);
  const shortOne = encodeAll('pcapng', [{ kind: 'event', seq: 0, timestamp: 1, event: 'short', detail: 'é'.repeat(10) }]);
  assert.equal(decodeAll(shortOne, [shortOne.length]).entries[0].detail, 'é'.repeat(10), 'a short comment is kept whole');
});
