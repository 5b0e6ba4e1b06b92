// The pcapng reader (extension/src/inspector/shared/pcapngReader.ts) on files built here byte by byte from the
// pcapng specification, not by the inspector's writer: every check a damaged file can fail names its block's
// offset, the options and block types a foreign tool may write are read or skipped, and the entries before a
// damage are handed out before the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const text = (s) => new TextEncoder().encode(s);

/** A block: type, total length, body, total length again (little-endian unless `big`). */
function block(type, body, { big = false, total = 12 + body.length, trailer = total } = {}) {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, !big);
  view.setUint32(4, total, !big);
  out.set(body, 8);
  view.setUint32(8 + body.length, trailer, !big);
  return out;
}

/** An option: code, length, value padded to 4 bytes. */
function option(code, value, big = false) {
  const out = new Uint8Array(4 + Math.ceil(value.length / 4) * 4);
  const view = new DataView(out.buffer);
  view.setUint16(0, code, !big);
  view.setUint16(2, value.length, !big);
  out.set(value, 4);
  return out;
}

const END = new Uint8Array(4); // opt_endofopt
const join = (...parts) => core.concatChunks(parts);
const u32 = (n) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigInt64(0, BigInt(n), true); return b; };

/** A Section Header Block: byte-order magic, major.minor, section length -1, then options. */
function shb(options = [], { major = 1, magic = 0x1a2b3c4d } = {}) {
  const head = new Uint8Array(16);
  const view = new DataView(head.buffer);
  view.setUint32(0, magic, true);
  view.setUint16(4, major, true);
  view.setBigInt64(8, -1n, true);
  return block(0x0a0d0d0a, join(head, ...options));
}

/** An Interface Description Block of LINKTYPE_USER0, snaplen 0, with options. */
function idb(options = []) {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint16(0, 147, true);
  return block(1, join(head, ...options));
}

/** An Enhanced Packet Block: interface, 64-bit timestamp in the interface's units, captured and original lengths. */
function epb(data, options = [], { iface = 0, units = 0n, original = data.length, captured = data.length } = {}) {
  const head = new Uint8Array(20);
  const view = new DataView(head.buffer);
  view.setUint32(0, iface, true);
  view.setUint32(4, Number(BigInt(units) >> 32n), true);
  view.setUint32(8, Number(BigInt(units) & 0xffffffffn), true);
  view.setUint32(12, captured, true);
  view.setUint32(16, original, true);
  const padded = new Uint8Array(Math.ceil(data.length / 4) * 4);
  padded.set(data);
  return block(6, join(head, padded, ...options));
}

const flags = (value) => option(2, u32(value));
const comment = (s) => option(1, text(s));

/** Reads a whole file with the pcapng reader alone, in chunks of `size`. */
function read(bytes, size = bytes.length) {
  const reader = new core.PcapngReader();
  const entries = [];
  for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size), entries);
  reader.end();
  return { reader, entries };
}

/** The CaptureFormatError a file gives, with the entries handed out before it. */
function damage(bytes) {
  const reader = new core.PcapngReader();
  const entries = [];
  try {
    reader.push(bytes, entries);
    reader.end();
  } catch (error) {
    assert.equal(error.name, 'CaptureFormatError');
    assert.equal(error.code, 'INVALID_CAPTURE');
    assert.ok(error instanceof core.CaptureFormatError);
    return { message: error.message, entries };
  }
  assert.fail('the file was read without an error');
}

const prefix = () => join(shb(), idb([option(2, text('ch')), END]));
const PREFIX_LENGTH = prefix().length;

test('pcapng reader: a packet\'s direction is its comment\'s when it names one, else its flags\'', () => {
  const cases = [
    ['sent', 1, 'sent'], ['sent, undeliverable', 1, 'sent'], ['received', 2, 'received'], ['received, late', 2, 'received'],
    ['client→server', 1, 'to-server'], ['client→server, undeliverable', 1, 'to-server'],
    ['server→client', 2, 'to-client'], ['server→client, undeliverable', 2, 'to-client'],
    // Comments that merely end with a direction's words, or say something else, leave it to the flags.
    ['not sent,', 1, 'to-client'], ['not received,', 2, 'to-server'], ['a client→server', 1, 'to-client'], ['a server→client', 2, 'to-server'],
    [undefined, 2, 'to-server'], [undefined, 1, 'to-client'], [undefined, 0, 'to-client'], [undefined, 3, 'to-client'],
    [undefined, 2 | 0x100, 'to-server'], // the bits above the direction (reception type, FCS length) do not matter
  ];
  const file = join(prefix(), ...cases.map(([c, f]) => epb(text('x'), [flags(f), ...(c === undefined ? [] : [comment(c)]), END])));
  const { entries } = read(file);
  assert.deepEqual(entries.map((e) => e.direction), cases.map(([, , d]) => d));
});

test('pcapng reader: the first comment counts, flags are read only from epb_flags, other options are skipped', () => {
  const file = join(prefix(),
    epb(text('a'), [comment('client→server'), comment('server→client'), END]),
    epb(text('b'), [option(3, text('server→client')), flags(2), END]), // epb_hash, not a comment
    epb(text('c'), [option(3, u32(2)), END])); // a 4-byte option that is not epb_flags
  const { entries } = read(file);
  assert.deepEqual(entries.map((e) => e.direction), ['to-server', 'to-server', 'to-client']);
});

test('pcapng reader: events are packets with no payload, direction 0 and the event comment; anything else is a message', () => {
  const file = join(prefix(),
    epb(new Uint8Array(0), [comment('sipc event peer-died: client pid 42 died'), END], { units: 5_000_000n }),
    epb(new Uint8Array(0), [comment('sipc event attached'), END]),
    epb(new Uint8Array(0), [comment('sipc event : a detail only'), END]),
    epb(new Uint8Array(0), [flags(2), comment('sipc event x: y'), END]),
    epb(text('abc'), [comment('sipc event x: y'), END]),
    epb(new Uint8Array(0), [END]));
  const { entries } = read(file);
  assert.deepEqual(entries.slice(0, 3).map(({ kind, event, detail, timestamp }) => ({ kind, event, detail, timestamp })), [
    { kind: 'event', event: 'peer-died', detail: 'client pid 42 died', timestamp: 5000 },
    { kind: 'event', event: 'attached', detail: '', timestamp: 0 },
    { kind: 'event', event: '', detail: 'a detail only', timestamp: 0 },
  ]);
  assert.deepEqual(entries.slice(3).map((e) => [e.kind, e.direction, e.data.length]),
    [['message', 'to-server', 0], ['message', 'to-client', 3], ['message', 'to-client', 0]]);
  assert.deepEqual(entries.map((e) => e.channel), Array(6).fill('ch'));
});

test('pcapng reader: sent/received of a file naming a server or client role come back in the channel\'s direction', () => {
  const rows = [epb(text('s'), [comment('sent'), END]), epb(text('r'), [comment('received'), END])];
  const withRole = (role) => join(shb(), idb([option(2, text('ch')), comment(`sipc role: ${role}`), END]), ...rows);
  assert.deepEqual(read(withRole('server')).entries.map((e) => e.direction), ['to-client', 'to-server']);
  assert.deepEqual(read(withRole('client')).entries.map((e) => e.direction), ['to-server', 'to-client']);
  assert.deepEqual(read(withRole('observer')).entries.map((e) => e.direction), ['sent', 'received']);
  assert.deepEqual([...read(withRole('client')).reader.roles], [['ch', 'client']]);
  // A comment that is not a role, or names an unknown one, gives none.
  for (const other of ['sipc role: both', 'a note', 'sipc role:client']) {
    const { reader, entries } = read(join(shb(), idb([option(2, text('ch')), comment(other), END]), ...rows));
    assert.deepEqual([...reader.roles], [], other);
    assert.deepEqual(entries.map((e) => e.direction), ['sent', 'received'], other);
  }
});

test('pcapng reader: interfaces without a name are numbered; a name is listed once; a section starts its own interfaces', () => {
  const file = join(shb(), idb(), idb([option(2, new Uint8Array(0)), END]), idb([option(2, text('named')), END]), idb([option(2, text('named')), END]),
    epb(text('3'), [END], { iface: 3 }), epb(text('0'), [END], { iface: 0 }),
    shb(), idb([option(2, text('named')), END]), epb(text('again'), [END], { iface: 0 }));
  const { reader, entries } = read(file);
  assert.deepEqual(reader.channels, ['interface 0', 'interface 1', 'named']);
  assert.deepEqual(entries.map((e) => e.channel), ['named', 'interface 0', 'named']);
  const second = damage(join(file, epb(text('gone'), [END], { iface: 1 })));
  assert.equal(second.message, `the packet block at offset ${file.length} names interface 1, but the section has 1`);
  assert.equal(second.entries.length, 3);
});

test('pcapng reader: if_tsresol in powers of ten and of two, if_tsoffset in seconds', () => {
  const at = (resolution, units, offset) => {
    const options = [option(9, Uint8Array.of(resolution)), ...(offset === undefined ? [] : [option(14, u64(offset))]), END];
    return read(join(shb(), idb(options), epb(text('x'), [END], { units }))).entries[0].timestamp;
  };
  assert.equal(at(6, 2_500_000n), 2500, 'microseconds');
  assert.equal(at(3, 7n), 7, 'milliseconds');
  assert.equal(at(0, 3n), 3000, 'seconds');
  assert.equal(at(19, 10n ** 19n), 1000, '10^-19 s, the finest power of ten a 64-bit count can use');
  assert.equal(at(0x80 | 10, 5n * 1024n), 5000, '2^-10 s');
  assert.equal(at(0x80 | 63, 1n << 63n), 1000, '2^-63 s');
  assert.equal(at(6, 1_000_000n, 10), 11_000, 'if_tsoffset adds whole seconds');
  assert.equal(at(6, 1_000_000n, -1), 0, 'a negative offset too');
  assert.equal(read(join(shb(), idb(), epb(text('x'), [END], { units: 1_234_567n }))).entries[0].timestamp, 1234.567, 'microseconds by default');
  for (const [options, reason] of [
    [[option(9, Uint8Array.of(6, 0)), END], 'a malformed if_tsresol'],
    [[option(9, new Uint8Array(0)), END], 'a malformed if_tsresol'],
    [[option(9, Uint8Array.of(20)), END], 'an unusable if_tsresol'],
    [[option(9, Uint8Array.of(0x80 | 64)), END], 'an unusable if_tsresol'],
    [[option(14, u32(1)), END], 'a malformed if_tsoffset'],
  ]) {
    const { message } = damage(join(shb(), idb(options)));
    assert.equal(message, `the interface block at offset 28 has ${reason}`);
  }
});

test('pcapng reader: the section names the application (shb_userappl), options end at opt_endofopt or at the block\'s end', () => {
  const app = (options) => read(shb(options)).reader.application;
  assert.equal(app([option(4, text('tool 1.0')), comment('a note'), END]), 'tool 1.0');
  assert.equal(app([comment('a note'), option(4, text('tool 2.0')), END]), 'tool 2.0');
  assert.equal(app([comment('a note'), END]), undefined);
  assert.equal(app([]), undefined);
  assert.equal(app([option(4, new Uint8Array(0))]), '', 'an empty option filling the block to its last byte, without opt_endofopt');
  assert.equal(app([END, option(4, text('after the end'))]), undefined, 'nothing after opt_endofopt is an option');
  const { reader } = read(join(shb(), idb([option(2, text('first')), END, option(2, text('second'))])));
  assert.deepEqual(reader.channels, ['first']);
  const past = join(shb(), block(1, join(new Uint8Array(8), Uint8Array.of(2, 0, 9, 0), text('abcd'))));
  assert.equal(damage(past).message, 'option 2 of the block at offset 28 runs past the block\'s end');
});

test('pcapng reader: simple packet blocks are messages of the first interface at time 0, cut to what the block holds', () => {
  const spb = (original, data) => block(3, join(u32(original), data));
  const { entries } = read(join(shb(), idb([option(2, text('first')), END]), idb(), spb(5, text('hello\0\0\0')), spb(100, text('snapped!')), spb(0, new Uint8Array(0))));
  assert.deepEqual(entries.map((e) => ({ ...e, data: new TextDecoder().decode(e.data) })), [
    { kind: 'message', seq: 0, direction: 'received', timestamp: 0, length: 5, data: 'hello', channel: 'first' },
    { kind: 'message', seq: 0, direction: 'received', timestamp: 0, length: 100, data: 'snapped!', channel: 'first' },
    { kind: 'message', seq: 0, direction: 'received', timestamp: 0, length: 0, data: '', channel: 'first' },
  ]);
  assert.equal(damage(join(shb(), spb(1, text('a\0\0\0')))).message, 'the simple packet block at offset 28 is malformed');
  assert.equal(damage(join(prefix(), block(3, new Uint8Array(0)))).message, `the simple packet block at offset ${PREFIX_LENGTH} is malformed`);
});

test('pcapng reader: packets are as long as their original length, hold their captured bytes, and need their 20-byte header', () => {
  const { entries } = read(join(prefix(), epb(text('abc'), [], { original: 1000 }), epb(new Uint8Array(0), []), epb(text('abcd'), [])));
  assert.deepEqual(entries.map((e) => [e.length, [...e.data]]), [[1000, [97, 98, 99]], [0, []], [4, [97, 98, 99, 100]]]);
  assert.equal(damage(join(prefix(), block(6, new Uint8Array(16)))).message, `the packet block at offset ${PREFIX_LENGTH} is too short`);
  const claims = damage(join(prefix(), epb(text('abcd'), [], { captured: 5 })));
  assert.equal(claims.message, `the packet block at offset ${PREFIX_LENGTH} claims 5 captured bytes but holds at most 4`);
  assert.equal(damage(join(prefix(), epb(text('a'), [option(2, Uint8Array.of(2, 0)), END]))).message,
    `the packet block at offset ${PREFIX_LENGTH} has malformed flags`);
  assert.equal(damage(join(prefix(), epb(text('a'), [], { iface: 1 }))).message,
    `the packet block at offset ${PREFIX_LENGTH} names interface 1, but the section has 1`);
  assert.equal(damage(join(shb(), block(1, new Uint8Array(4)))).message, 'the interface block at offset 28 is too short');
  assert.deepEqual(read(join(shb(), block(1, new Uint8Array(8)))).reader.channels, ['interface 0'], 'an interface with no options');
});

test('pcapng reader: block lengths, byte-order magic and version are checked, naming the offset', () => {
  const start = prefix();
  const at = start.length;
  const cases = [
    [block(0xbad, new Uint8Array(0), { total: 8 }), `the block at offset ${at} has an invalid length 8`],
    [block(0xbad, new Uint8Array(4), { total: 14 }), `the block at offset ${at} has an invalid length 14`],
    [block(0xbad, new Uint8Array(4), { trailer: 20 }), `the block at offset ${at} ends with a length that differs from its start`],
    [block(0x0a0d0d0a, join(u32(0x1a2b3c4d), new Uint8Array(8))), `the block at offset ${at} has an invalid length 24`],
    [shb([], { magic: 0x12345678 }), `the section header at offset ${at} has no valid byte-order magic`],
    [shb([], { major: 2 }), `the section at offset ${at} has pcapng major version 2 (only 1 is known)`],
  ];
  const packet = epb(text('kept'), [END]);
  for (const [bad, message] of cases) {
    const found = damage(join(start, packet, bad)); // the packet comes first: the damage is after it
    assert.equal(found.message, message.replace(`offset ${at}`, `offset ${at + packet.length}`));
    assert.deepEqual(found.entries.map((e) => new TextDecoder().decode(e.data)), ['kept'], 'the packet before the damage is handed out');
  }
  // The smallest valid blocks: 12 bytes (an unknown type, skipped) and a 28-byte section header.
  assert.equal(read(join(start, block(0xbad, new Uint8Array(0)), shb(), idb(), packet)).entries.length, 1);
  assert.equal(damage(idb()).message, 'the file does not start with a pcapng section header');
  assert.throws(() => new core.PcapngReader().end(), { name: 'CaptureFormatError', message: 'the file is empty' });
});

test('pcapng reader: a block may claim up to 64 MiB + 64 KiB (the largest message and its options); more is refused before it is read', () => {
  const MAX_BLOCK = 64 * 1024 * 1024 + 65536; // SIPC_MAX_MESSAGE_LIMIT and room for options: the literal, not the reader's own bound
  const head = (total) => join(prefix(), block(0xbad, new Uint8Array(0), { total }).subarray(0, 12));
  const reader = new core.PcapngReader();
  assert.deepEqual(reader.push(head(MAX_BLOCK)), [], 'waits for the rest of the block');
  assert.throws(() => reader.end(), { message: `the file ends inside the block at offset ${PREFIX_LENGTH} (truncated recording?)` });
  const over = MAX_BLOCK + 4;
  assert.throws(() => new core.PcapngReader().push(head(over)),
    { message: `the block at offset ${PREFIX_LENGTH} claims ${over} bytes (more than the ${MAX_BLOCK} a recording can hold)` });
});

test('pcapng reader: chunks of any size, empty ones included, give the same entries', () => {
  const file = join(prefix(), epb(text('one'), [flags(2), END], { units: 1n }), epb(text('two'), [END], { units: 2n }),
    block(0xbad, new Uint8Array(8)), epb(text('three'), [comment('sipc event x'), END]));
  const whole = read(file).entries;
  assert.equal(whole.length, 3);
  for (const size of [1, 3, 12, 13, 40]) assert.deepEqual(read(file, size).entries, whole, `chunks of ${size}`);
  const reader = new core.PcapngReader();
  const entries = [];
  for (let at = 0; at < file.length; at += 7) {
    reader.push(new Uint8Array(0), entries);
    reader.push(file.subarray(at, at + 7), entries);
  }
  reader.end();
  assert.deepEqual(entries, whole);
});

test('capture decoder: the entries before a damage in the same chunk are handed out, the error comes with the next call', () => {
  const good = join(prefix(), epb(text('a'), [END]), epb(text('b'), [END]));
  const bad = block(6, new Uint8Array(16));
  const decoder = new core.CaptureDecoder();
  assert.deepEqual(decoder.push(join(good, bad)).map((e) => new TextDecoder().decode(e.data)), ['a', 'b']);
  assert.throws(() => decoder.push(text('more')), { message: `the packet block at offset ${good.length} is too short` });
  assert.throws(() => decoder.end(), { message: `the packet block at offset ${good.length} is too short` }, 'and again');
  const atOnce = new core.CaptureDecoder();
  assert.deepEqual(atOnce.push(good).length, 2);
  assert.throws(() => atOnce.push(bad), /too short/, 'a damage with nothing before it in its chunk is thrown at once');
});

/** Block builders in either byte order (`big`), every field and option value written in it. */
function inOrder(big) {
  const fields = (size, write) => {
    const out = new Uint8Array(size);
    write(new DataView(out.buffer), !big);
    return out;
  };
  const opt = (code, value) => option(code, value, big);
  return {
    opt,
    flags: (value) => opt(2, fields(4, (v, le) => v.setUint32(0, value, le))),
    tsoffset: (seconds) => opt(14, fields(8, (v, le) => v.setBigInt64(0, BigInt(seconds), le))),
    shb: (options = []) => block(0x0a0d0d0a, join(fields(16, (v, le) => {
      v.setUint32(0, 0x1a2b3c4d, le);
      v.setUint16(4, 1, le);
      v.setBigInt64(8, -1n, le);
    }), ...options), { big }),
    idb: (options = []) => block(1, join(fields(8, (v, le) => v.setUint16(0, 147, le)), ...options), { big }),
    epb: (data, options = [], { iface = 0, units = 0n, original = data.length } = {}) => block(6, join(fields(20, (v, le) => {
      v.setUint32(0, iface, le);
      v.setUint32(4, Number(BigInt(units) >> 32n), le);
      v.setUint32(8, Number(BigInt(units) & 0xffffffffn), le);
      v.setUint32(12, data.length, le);
      v.setUint32(16, original, le);
    }), data, new Uint8Array((4 - (data.length % 4)) % 4), ...options), { big }),
    spb: (original, data) => block(3, join(fields(4, (v, le) => v.setUint32(0, original, le)), data), { big }),
    unknown: (type, body) => block(type, body, { big }),
  };
}

/**
 * One section in the given byte order, as a list of blocks: two interfaces (the second in milliseconds, 2 s earlier,
 * server side), packets on it whose every field differs when read in the other order (interface 1, both timestamp
 * halves, captured 3 of 1,000 bytes, flags without a comment), an odd-length comment padded before the flags, an
 * event, a simple packet, blocks of unknown types; and the entries the reader must give for them.
 */
function orderedSection(big, tag) {
  const b = inOrder(big);
  const blocks = [
    b.shb([b.opt(4, text(`writer ${tag}`)), END]),
    b.idb([b.opt(2, text(`first ${tag}`)), END]),
    b.idb([b.opt(2, text(`second ${tag}`)), b.opt(9, Uint8Array.of(3)), b.tsoffset(-2), b.opt(1, text('sipc role: server')), END]),
    b.epb(text('out'), [b.flags(2), END], { iface: 1, units: (1n << 32n) + 7n, original: 1000 }),
    b.unknown(0x00000bad, new Uint8Array(8)),
    b.epb(text('in!!'), [b.opt(1, text('a note')), b.flags(1), END], { iface: 1, units: 5n }), // 'a note': 6 bytes, padded to 8
    b.unknown(0x40000bad, text('custom block')),
    b.epb(new Uint8Array(0), [b.flags(0), b.opt(1, text('sipc event peer-died: client pid 7 died')), END], { iface: 1, units: 9n }),
    b.spb(2, text('hi\0\0')),
    b.epb(text('sent'), [b.opt(1, text('sent')), END], { iface: 1, units: 11n }),
  ];
  const second = `second ${tag}`;
  const entries = [
    undefined, undefined, undefined,
    { kind: 'message', seq: 0, direction: 'to-server', timestamp: 4294967303 - 2000, length: 1000, data: 'out', channel: second },
    undefined,
    { kind: 'message', seq: 0, direction: 'to-client', timestamp: 5 - 2000, length: 4, data: 'in!!', channel: second },
    undefined,
    { kind: 'event', seq: 0, timestamp: 9 - 2000, event: 'peer-died', detail: 'client pid 7 died', channel: second },
    { kind: 'message', seq: 0, direction: 'received', timestamp: 0, length: 2, data: 'hi', channel: `first ${tag}` },
    // A connection panel's "sent" on the server's side: the server's answer, to the client.
    { kind: 'message', seq: 0, direction: 'to-client', timestamp: 11 - 2000, length: 4, data: 'sent', channel: second },
  ];
  return { blocks, entries };
}

/** Entries with their data as text, for comparing. */
const readable = (entries) => entries.map((e) => (e.kind === 'message' ? { ...e, data: new TextDecoder().decode(e.data) } : e));

/** Sections in little-, big- and little-endian order again: the file, its blocks' offsets, and each block's entry. */
function mixedFile() {
  const sections = [orderedSection(false, 'a'), orderedSection(true, 'b'), orderedSection(false, 'c')];
  const blocks = sections.flatMap((s) => s.blocks);
  const entries = sections.flatMap((s) => s.entries);
  const starts = [];
  let at = 0;
  for (const one of blocks) {
    starts.push(at);
    at += one.length;
  }
  return { file: join(...blocks), starts, entries };
}

test('pcapng reader: each section is read in its own byte order (little, big, little): lengths, ids, timestamps, flags, options', () => {
  const { file, entries } = mixedFile();
  const { reader, entries: got } = read(file);
  assert.deepEqual(readable(got), entries.filter(Boolean));
  assert.deepEqual(reader.channels, ['first a', 'second a', 'first b', 'second b', 'first c', 'second c']);
  assert.deepEqual([...reader.roles], [['second a', 'server'], ['second b', 'server'], ['second c', 'server']]);
  assert.equal(reader.application, 'writer c', 'the last section\'s');
  // The big-endian section alone, from the start of a file.
  const b = orderedSection(true, 'b');
  assert.deepEqual(readable(read(join(...b.blocks)).entries), b.entries.filter(Boolean));
});

test('pcapng reader: a damaged block in a big-endian section is named by its offset, the entries before it are kept', () => {
  const b = inOrder(true);
  const start = join(b.shb(), b.idb([b.opt(2, text('be')), END]), b.epb(text('kept'), [END]));
  const at = start.length;
  const cases = [
    [b.unknown(0xbad, new Uint8Array(4)).subarray(0, 12), 'ends inside', `the file ends inside the block at offset ${at} (truncated recording?)`],
    [block(0xbad, new Uint8Array(4), { big: true, total: 14 }), 'length', `the block at offset ${at} has an invalid length 14`],
    [block(0xbad, new Uint8Array(4), { big: true, trailer: 20 }), 'trailer', `the block at offset ${at} ends with a length that differs from its start`],
    // The trailer's bytes 10 00 00 00: the block's 16 in the other byte order.
    [block(0xbad, new Uint8Array(4), { big: true, trailer: 0x10000000 }), 'little-endian trailer', `the block at offset ${at} ends with a length that differs from its start`],
    [b.epb(text('x'), [END], { iface: 1 }), 'interface', `the packet block at offset ${at} names interface 1, but the section has 1`],
    [b.epb(text('x'), [b.opt(2, Uint8Array.of(0, 0)), END]), 'flags', `the packet block at offset ${at} has malformed flags`],
    [block(6, join(new Uint8Array(20), Uint8Array.of(0, 2, 0, 9), text('abcd')), { big: true }), 'option', `option 2 of the block at offset ${at} runs past the block's end`],
    [block(6, new Uint8Array(16), { big: true }), 'short packet', `the packet block at offset ${at} is too short`],
  ];
  for (const [bad, what, message] of cases) {
    const found = damage(join(start, bad));
    assert.equal(found.message, message, what);
    assert.deepEqual(found.entries.map((e) => new TextDecoder().decode(e.data)), ['kept'], what);
  }
  // Little-endian lengths in a big-endian section: 0x1c000000 bytes claimed, more than a block may hold.
  const le = block(0xbad, new Uint8Array(16));
  assert.match(damage(join(start, le)).message, new RegExp(`^the block at offset ${at} claims ${0x1c000000} bytes`));
});

test('pcapng reader: a file cut anywhere hands out every whole block\'s entries and names the block it ends in', () => {
  const { file, starts, entries } = mixedFile();
  const ends = new Set([...starts.slice(1), file.length]);
  for (let length = 0; length <= file.length; length++) {
    const size = length % 2 === 0 ? file.length : 5; // read whole, or in chunks of 5: every cut of one or the other
    const reader = new core.PcapngReader();
    const got = [];
    // Chunks copied into buffers of their own: the reader cannot read past a chunk into the bytes after it.
    for (let at = 0; at < length; at += size) reader.push(file.slice(at, Math.min(at + size, length)), got);
    const whole = starts.filter((start, i) => (starts[i + 1] ?? file.length) <= length).length; // blocks before the cut
    const inside = starts.findLastIndex((start) => start < length); // the block the cut is in (or ends)
    assert.deepEqual(readable(got), entries.slice(0, whole).filter(Boolean), `cut at ${length}, chunks of ${size}`);
    if (length === 0) assert.throws(() => reader.end(), { message: 'the file is empty' });
    else if (ends.has(length)) reader.end();
    else assert.throws(() => reader.end(), { message: `the file ends inside the block at offset ${starts[inside]} (truncated recording?)` }, `cut at ${length}`);
  }
});

test('pcapng reader: entries do not share memory with the chunks they were read from', () => {
  const { file, entries } = mixedFile();
  for (const size of [7, 4096]) {
    const chunks = [];
    for (let at = 0; at < file.length; at += size) chunks.push(file.slice(at, at + size));
    const reader = new core.PcapngReader();
    const got = [];
    for (const chunk of chunks) reader.push(chunk, got);
    reader.end();
    for (const chunk of chunks) chunk.fill(0xff); // the caller reuses its read buffers
    assert.deepEqual(readable(got), entries.filter(Boolean), `chunks of ${size}`);
  }
});
