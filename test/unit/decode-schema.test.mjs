// The C-struct schema engine's behaviour beyond layout (which decode-layout.test.mjs checks against gcc): the
// preprocessor, errors with their codes and places, messages that do not fit (never a throw, never a silent
// value), tagged unions and the workspace mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDecode } from './inspector-core.mjs';

const PROTOCOL = `
#include <stdint.h>
enum msg_type { MSG_HELLO = 1, MSG_SAMPLE = 2 };
enum unit { CELSIUS, KELVIN };
struct hello { uint16_t type; uint16_t version; char name[8]; };
struct sample { uint16_t type; enum unit unit : 8; _Bool valid; uint32_t seq; double value; };
`;

function le(...parts) {
  return Buffer.concat(parts.map(([kind, v]) => {
    const b = Buffer.alloc({ u8: 1, u16: 2, u32: 4, f64: 8, u64: 8 }[kind]);
    if (kind === 'u8') b.writeUInt8(v);
    if (kind === 'u16') b.writeUInt16LE(v);
    if (kind === 'u32') b.writeUInt32LE(v);
    if (kind === 'f64') b.writeDoubleLE(v);
    if (kind === 'u64') b.writeBigUInt64LE(v);
    return b;
  }));
}

function sampleBytes({ type = 2, unit = 1, valid = 1, seq = 7, value = 21.5 } = {}) {
  return le(['u16', type], ['u8', unit], ['u8', valid], ['u32', seq], ['f64', value]);
}

test('a struct decodes to a field tree with names, types, offsets, sizes and values', async () => {
  const d = await loadDecode();
  const schema = d.parseCSchema(PROTOCOL);
  const m = d.compileMessageSchema(schema, { type: 'struct sample' }).decode(sampleBytes());
  assert.deepEqual(m.problems, []);
  assert.equal(m.type, 'struct sample');
  const rows = m.root.children.map((f) => [f.path, f.type, f.offset, f.size, f.display]);
  assert.deepEqual(rows, [
    ['type', 'uint16_t', 0, 2, '2'],
    ['unit', 'enum unit', 2, 1, 'KELVIN (1)'],
    ['valid', '_Bool', 3, 1, 'true'],
    ['seq', 'uint32_t', 4, 4, '7'],
    ['value', 'double', 8, 8, '21.5'],
  ]);
  assert.equal(d.fieldAt(m, 'unit').bitWidth, 8);
  assert.equal(d.fieldAt(m, 'unit').enumName, 'KELVIN');
});

test('a message that does not fit says so: too short, trailing bytes, bad enum, bad bool', async () => {
  const d = await loadDecode();
  const sample = d.compileMessageSchema(d.parseCSchema(PROTOCOL), { type: 'sample' });
  const short = sample.decode(sampleBytes().subarray(0, 10));
  assert.deepEqual(short.problems.map((p) => p.code), ['TOO_SHORT', 'TOO_SHORT']);
  assert.match(short.problems[0].message, /10 bytes; struct sample needs 16/);
  assert.equal(d.fieldAt(short, 'seq').value, 7, 'fields the message holds are decoded');
  assert.equal(d.fieldAt(short, 'value').problem, 'TOO_SHORT');
  assert.equal(d.fieldAt(short, 'value').value, undefined, 'a missing field has no value');
  assert.equal(d.fieldAt(short, 'value').display, '(missing)');

  const long = sample.decode(Buffer.concat([sampleBytes(), Buffer.from([1, 2, 3])]));
  assert.deepEqual(long.problems.map((p) => [p.code, p.message]), [['TRAILING_BYTES', '3 bytes after struct sample (16 bytes) are not part of it']]);

  const badEnum = sample.decode(sampleBytes({ unit: 9 }));
  assert.deepEqual(badEnum.problems.map((p) => [p.code, p.path]), [['BAD_ENUM', 'unit']]);
  assert.equal(d.fieldAt(badEnum, 'unit').display, '9 (not in enum unit)');
  assert.equal(d.fieldAt(badEnum, 'unit').value, 9);

  const badBool = sample.decode(sampleBytes({ valid: 2 }));
  assert.deepEqual(badBool.problems.map((p) => [p.code, p.path]), [['BAD_BOOL', 'valid']]);

  const empty = sample.decode(new Uint8Array(0));
  assert.equal(empty.root.children.every((f) => f.problem === 'TOO_SHORT'), true);
});

test('a large array in a short message is one problem saying how many elements are missing, not one per element', async () => {
  const d = await loadDecode();
  const schema = d.parseCSchema(`#include <stdint.h>
struct point { uint16_t x; uint16_t y; };
struct log { uint32_t count; uint32_t values[1000]; struct point points[50]; };
`);
  const type = schema.lookup('log');
  // count, values[0] and values[1]: the rest of values, and all of points, are missing.
  const bytes = le(['u32', 2], ['u32', 10], ['u32', 11]);
  const m = d.decodeAs(type, bytes);
  assert.deepEqual(m.problems.map((p) => [p.path, p.message]), [
    ['', 'the message has 12 bytes; struct log needs 4204'],
    ['values', 'values: bytes 12–4003 are missing (998 of its 1000 elements)'],
    ['points', 'points: bytes 4004–4203 are missing (50 of its 50 elements)'],
  ]);
  assert.equal(d.fieldAt(m, 'values[1]').value, 11, 'the elements the message holds are decoded');
  const rest = d.fieldAt(m, 'values[2]');
  assert.deepEqual([rest.name, rest.display, rest.problem, rest.offset, rest.size], ['[2]–[999]', '(missing: 998 elements)', 'TOO_SHORT', 12, 3992]);
  assert.equal(d.fieldAt(m, 'values').children.length, 3, 'two elements and one node for the missing ones');
  assert.equal(d.fieldAt(m, 'values').problem, 'TOO_SHORT');
  assert.equal(d.fieldAt(m, 'points').display, '(missing)');

  // An element the message cuts in two reports its own missing part (as a struct or scalar outside an array does),
  // then the array the elements that start beyond the message.
  const cut = d.decodeAs(type, Buffer.concat([le(['u32', 1]), Buffer.alloc(4000), le(['u16', 5])]));
  assert.deepEqual(cut.problems.map((p) => [p.path, p.message]).slice(1), [
    ['points[0].y', 'points[0].y: bytes 4006–4007 are missing'],
    ['points', 'points: bytes 4008–4203 are missing (49 of its 50 elements)'],
  ]);
  assert.equal(d.fieldAt(cut, 'points[0].x').value, 5);
});

test('a tagged union picks the type by the tag; unknown tags and messages too short for the tag are reported', async () => {
  const d = await loadDecode();
  const schema = d.parseCSchema(PROTOCOL);
  const tagged = d.compileMessageSchema(schema, { tag: { offset: 0, type: 'uint16_t' }, cases: { MSG_HELLO: 'struct hello', '0x2': 'struct sample' } });
  assert.equal(tagged.description, 'tagged by uint16_t at offset 0: 1 struct hello, 2 struct sample');
  const hello = tagged.decode(Buffer.concat([le(['u16', 1], ['u16', 3]), Buffer.from('sensor\0\0')]));
  assert.equal(hello.type, 'struct hello');
  assert.equal(d.fieldAt(hello, 'name').value, 'sensor');
  assert.equal(d.fieldAt(hello, 'name').display, '"sensor"');
  assert.equal(tagged.decode(sampleBytes()).type, 'struct sample');

  const unknown = tagged.decode(sampleBytes({ type: 77 }));
  assert.deepEqual(unknown.problems.map((p) => p.code), ['UNKNOWN_TAG']);
  assert.match(unknown.problems[0].message, /tag 77/);
  assert.equal(unknown.root.children[0].value, 77);

  const tiny = tagged.decode(Buffer.from([1]));
  assert.deepEqual(tiny.problems.map((p) => p.code), ['TOO_SHORT']);

  const withDefault = d.compileMessageSchema(schema, { tag: { offset: 0, type: 'enum msg_type' }, cases: { 1: 'hello' }, default: 'sample' });
  assert.equal(withDefault.decode(sampleBytes({ type: 9 })).type, 'struct sample');

  assert.throws(() => d.compileMessageSchema(schema, { tag: { offset: 0, type: 'uint16_t' }, cases: { MSG_NOPE: 'hello' } }), { code: 'BAD_MAPPING' });
  assert.throws(() => d.compileMessageSchema(schema, { tag: { offset: 0, type: 'uint16_t' }, cases: { 1: 'struct nope' } }), { code: 'BAD_MAPPING' });
  assert.throws(() => d.compileMessageSchema(schema, { tag: { offset: 0, type: 'struct hello' }, cases: { 1: 'hello' } }), { code: 'BAD_MAPPING' });
  assert.throws(() => d.compileMessageSchema(schema, { tag: { offset: 0, type: 'uint16_t' }, cases: { 1: 'hello', '0x1': 'sample' } }), { code: 'BAD_MAPPING' });
});

test('big-endian schemas and tags, 64-bit values exact, pointers as addresses, char arrays escaped', async () => {
  const d = await loadDecode();
  const schema = d.parseCSchema('struct s { uint16_t t; uint64_t big; int64_t neg; char text[6]; void *p; };', { endian: 'big' });
  const bytes = Buffer.alloc(40);
  bytes.writeUInt16BE(0x0102, 0);
  bytes.writeBigUInt64BE(0xfedcba9876543210n, 8);
  bytes.writeBigInt64BE(-2n, 16);
  Buffer.from([0x61, 0x22, 0x5c, 0x0a, 0xff, 0x62]).copy(bytes, 24);
  bytes.writeBigUInt64BE(0x7ffd1234n, 32);
  const m = d.decodeAs(schema.lookup('s'), bytes, 'big');
  assert.equal(d.fieldAt(m, 't').value, 0x0102);
  assert.equal(d.fieldAt(m, 'big').value, 0xfedcba9876543210n);
  assert.equal(d.fieldAt(m, 'neg').value, -2n);
  assert.equal(d.fieldAt(m, 'text').value, 'a\\"\\\\\\n\\xffb');
  assert.equal(d.fieldAt(m, 'p').display, '0x7ffd1234');
  const tagged = d.compileMessageSchema(schema, { tag: { offset: 0, type: 'uint16_t' }, cases: { 258: 's' } });
  assert.equal(tagged.decode(bytes).type, 'struct s');
});

test('flexible array members take the rest of the message in whole elements', async () => {
  const d = await loadDecode();
  const schema = d.parseCSchema('struct frame { uint16_t n; uint16_t pad; uint32_t items[]; }; struct text { uint8_t len; char s[]; };');
  const frame = d.decodeAs(schema.lookup('frame'), le(['u16', 2], ['u16', 0], ['u32', 10], ['u32', 20], ['u8', 9]));
  assert.equal(d.fieldAt(frame, 'items').type, 'uint32_t[2]');
  assert.deepEqual(d.fieldAt(frame, 'items').children.map((c) => c.value), [10, 20]);
  assert.deepEqual(frame.problems.map((p) => p.code), ['TRAILING_BYTES']);
  const text = d.decodeAs(schema.lookup('text'), Buffer.from('\x05hello'));
  assert.equal(d.fieldAt(text, 's').value, 'hello');
  assert.deepEqual(text.problems, []);
});

test('the preprocessor: #if/#elif/#else with defined(), #define constants, #include "...", extern "C" and prototypes', async () => {
  const d = await loadDecode();
  const files = {
    'inc/common.h': '#pragma once\n#define COMMON_LEN (4 * 2)\nstruct common { uint8_t v[COMMON_LEN]; };\n',
  };
  const text = `
#include "inc/common.h"
#if defined(USE_WIDE) && USE_WIDE
struct chosen { uint64_t x; };
#elif !defined(NOT_DEFINED) && 1 + 1 == 2
struct chosen { uint16_t x; };
#else
#error not this one
#endif
#ifdef __cplusplus
extern "C" {
#endif
int handler(struct chosen *c, void (*cb)(int));
static inline int twice(int x) { return 2 * x; }
struct after { struct common c; uint8_t tail[sizeof(struct chosen) + MSG_MAX]; };
#ifdef __cplusplus
}
#endif
#define MSG_MAX 3
`;
  const readInclude = (name, from) => ({ file: name, text: files[name] ?? assert.fail(`include ${name} from ${from}`) });
  // MSG_MAX is used before its #define: C rejects that, and so does the parser.
  assert.throws(() => d.parseCSchema(text, { readInclude }), { code: 'BAD_CONSTANT' });
  const fixed = d.parseCSchema(text.replace('#define MSG_MAX 3\n', '').replace('#include', '#define MSG_MAX 3\n#include'), { readInclude });
  assert.equal(fixed.lookup('chosen').size, 2);
  assert.equal(fixed.lookup('after').size, 8 + 5);
  assert.equal(fixed.constants.get('COMMON_LEN'), 8n);
  assert.equal(fixed.constants.get('MSG_MAX'), 3n);
});

test('schema errors have stable codes and say where', async () => {
  const d = await loadDecode();
  const cases = [
    ['struct a { uint8_t x }', 'SYNTAX', /schema\.h:1/],
    ['struct a { mystery_t x; };', 'UNKNOWN_TYPE', /mystery_t/],
    ['struct a { int x; };\nstruct a { int y; };', 'REDEFINED', /schema\.h:2/],
    ['struct a { int x[N]; };', 'BAD_CONSTANT', /'N' is not a constant/],
    ['struct a { int x : 40; };', 'BAD_BITFIELD', /wider than its type/],
    ['struct a { float f : 3; };', 'BAD_BITFIELD', /integer or enum/],
    ['struct b; struct a { struct b inner; };', 'INCOMPLETE_TYPE', /incomplete/],
    ['#define M(x) x\nstruct a { int v[M(2)]; };', 'UNSUPPORTED', /function-like macro/],
    ['#include "missing.h"', 'INCLUDE', /missing\.h/],
    ['struct a { int x; int x; };', 'REDEFINED', /two members named x/],
    ['struct a { uint8_t d[]; uint8_t after; };', 'SYNTAX', /flexible array member/],
    ['#pragma pack(3)\nstruct a { int x; };', 'BAD_CONSTANT', /1, 2, 4, 8 or 16/],
    ['#if 1\nstruct a { int x; };', 'SYNTAX', /#if without #endif/],
  ];
  for (const [text, code, message] of cases) {
    assert.throws(() => d.parseCSchema(text), (error) => {
      assert.equal(error.name, 'SchemaError', text);
      assert.equal(error.code, code, `${text}: ${error.message}`);
      assert.match(error.message, message, text);
      return true;
    });
  }
  assert.throws(() => d.parseCSchema('struct a { unsigned x : 3; };', { endian: 'big' }), { code: 'UNSUPPORTED' });
  assert.throws(() => d.parseCSchema('struct a { unsigned x : 3; };', { target: 'x86_64-windows' }), { code: 'UNSUPPORTED' });
});

test('the mapping: first matching pattern wins, entries are validated, schemas load with their includes', async () => {
  const d = await loadDecode();
  const mapping = d.parseMapping(JSON.stringify({
    channels: [
      { match: 'sensor.*', schema: 'sample.h', type: 'struct sample' },
      { match: 'proto?', schema: '../include/proto.h', tag: { offset: 0, type: 'uint16_t' }, cases: { MSG_HELLO: 'hello', 2: 'sample' } },
      { match: '*', schema: 'sample.h', type: 'hello', endian: 'big', target: 'i386-linux' },
    ],
  }));
  assert.equal(d.findEntry(mapping, 'sensor.left').schema, 'sample.h');
  assert.equal(d.findEntry(mapping, 'proto1').message.tag.type, 'uint16_t');
  assert.equal(d.findEntry(mapping, 'protocol').match, '*');
  assert.equal(d.findEntry(mapping, 'sensor.').match, 'sensor.*');
  assert.equal(d.patternMatches('a.b', 'aXb'), false, 'a dot is literal');
  assert.equal(d.findEntry(d.parseMapping('{"channels":[]}'), 'x'), undefined);

  const files = {
    '/ws/include/proto.h': '#include "types/msg.h"\nstruct hello { uint16_t type; char name[4]; };\nstruct sample { uint16_t type; uint32_t v; };',
    '/ws/include/types/msg.h': 'enum msg { MSG_HELLO = 1 };',
  };
  const schema = d.loadEntry(d.findEntry(mapping, 'proto1'), '/ws/.sipc/channels.json', (p) => files[p]);
  assert.equal(schema.decode(Buffer.from([1, 0, 0x68, 0x69, 0, 0])).type, 'struct hello');
  assert.throws(() => d.loadEntry(d.findEntry(mapping, 'sensor.x'), '/ws/.sipc/channels.json', (p) => files[p]), { code: 'INCLUDE' });

  const bad = [
    ['nope', /not valid JSON/],
    ['{"chan": []}', /expected \{ "channels"/],
    ['{"channels": [{"schema": "a.h", "type": "x"}]}', /channels\[0\]\.match/],
    ['{"channels": [{"match": "a", "schema": "a.h", "type": "x", "target": "pdp11"}]}', /target "pdp11"/],
    ['{"channels": [{"match": "a", "schema": "a.h", "type": "x", "endian": "middle"}]}', /endian/],
    ['{"channels": [{"match": "a", "schema": "a.h", "type": "x", "tag": {"offset": 0, "type": "u8"}, "cases": {"1": "x"}}]}', /both "type" and "tag"/],
    ['{"channels": [{"match": "a", "schema": "a.h", "tag": {"offset": 0, "type": "u8"}, "cases": {}}]}', /cases/],
    ['{"channels": [{"match": "a", "schema": "a.h", "tag": {"type": "u8"}, "cases": {"1": "x"}}]}', /tag must be/],
  ];
  for (const [text, message] of bad) assert.throws(() => d.parseMapping(text, '.sipc/channels.json'), (e) => e.code === 'BAD_MAPPING' && message.test(e.message) && e.message.startsWith('.sipc/channels.json: '));
});

test('paths: joinPath and dirnameOf stay inside what they are given', async () => {
  const d = await loadDecode();
  assert.equal(d.joinPath('/ws/.sipc', '../include/a.h'), '/ws/include/a.h');
  assert.equal(d.joinPath('/ws/.sipc', './a.h'), '/ws/.sipc/a.h');
  assert.equal(d.joinPath('/ws', '/abs/a.h'), '/abs/a.h');
  assert.equal(d.dirnameOf('/ws/.sipc/channels.json'), '/ws/.sipc');
  assert.equal(d.dirnameOf('channels.json'), '.');
});

test('decoding never throws: every record of the test schemas against random bytes of every length around its size', async () => {
  const d = await loadDecode();
  const { readFileSync, readdirSync } = await import('node:fs');
  const { join, dirname } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'decode', 'schemas');
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 16; };
  let decoded = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.h'))) {
    const schema = d.parseCSchema(readFileSync(join(dir, file), 'utf8'), { file });
    for (const type of new Set(schema.types.values())) {
      for (let length = 0; length <= type.size + 9; length++) {
        const bytes = Uint8Array.from({ length }, () => random() & 0xff);
        const m = d.decodeAs(type, bytes);
        assert.equal(m.problems.some((p) => p.code === 'TOO_SHORT'), length < type.size, `${type.name} at ${length} bytes`);
        decoded++;
      }
    }
  }
  assert.ok(decoded > 500, `${decoded} decodes`);
});

test('withFilesReadAhead: the synchronous parse gets every file read before (asynchronously), each once, siblings in one round', async () => {
  const d = await loadDecode();
  const files = {
    '/ws/top.h': '#include "a.h"\n#include "b.h"\nstruct top { struct a x; struct b y; };',
    '/ws/a.h': '#include "inner/c.h"\nstruct a { struct c z; };',
    '/ws/b.h': 'struct b { uint8_t q; };',
    '/ws/inner/c.h': 'struct c { uint32_t w; };',
  };
  const reads = [];
  const readAsync = async (p) => { reads.push(p); await new Promise((r) => setImmediate(r)); return files[p]; };
  const entry = { match: 'x', format: 'c', schema: '../top.h', message: { type: 'struct top' } };
  let rounds = 0;
  const schema = await d.withFilesReadAhead((read) => { rounds++; return d.loadEntry(entry, '/ws/.sipc/channels.json', read); }, readAsync);
  assert.equal(schema.decode(Buffer.from([1, 0, 0, 0, 2])).type, 'struct top');
  assert.deepEqual([...reads].sort(), Object.keys(files).sort(), 'each file read once');
  assert.equal(rounds, 4, 'one round per level of #include (top, then a.h and b.h together, then c.h), and the last one');

  // A missing include is the parser's own INCLUDE error, as with a synchronous reader; so is any other error.
  delete files['/ws/inner/c.h'];
  await assert.rejects(d.withFilesReadAhead((read) => d.loadEntry(entry, '/ws/.sipc/channels.json', read), async (p) => files[p]),
    { code: 'INCLUDE', message: /inner\/c\.h/ });
  await assert.rejects(d.withFilesReadAhead(() => { throw new d.SchemaError('SYNTAX', 'broken'); }, async () => ''), { code: 'SYNTAX' });
  // A parse that keeps naming files it has not read yet is stopped.
  let n = 0;
  await assert.rejects(d.withFilesReadAhead((read) => read(`/f${n++}`), async () => 'x'), { code: 'INCLUDE', message: /rounds of reading ahead/ });
  assert.equal(n, d.MAX_READ_AHEAD_ROUNDS);
});
