// The CLI's C decoder (`sipc decode/tap/recv --schema`) against the extension's TypeScript one, on the same
// gcc-encoded vectors (test/decode/vectors.mjs): for every header in test/decode/schemas and every record in it,
// gcc fills the fields with pseudo-random values; both decoders must read what C reads back, field by field, and
// report the same problems (bad enums, bad bools). The same bytes cut short and with bytes added must give the
// same problems and the same values for the fields still present. Schemas the engines refuse must be refused by
// both with the same code at the same line.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDecode } from '../unit/inspector-core.mjs';
import { namedRecords, gccVectors } from '../decode/vectors.mjs';
import { SIPC, assertBinary, cleanup, run, start, uniqueName, waitForChannel, waitForTap } from './helpers.mjs';
import { testTempDir } from '../debris.mjs';

after(cleanup);

const schemas = join(dirname(fileURLToPath(import.meta.url)), '..', 'decode', 'schemas');
const headers = readdirSync(schemas).filter((f) => f.endsWith('.h')).sort();

/** Runs `sipc decode ARGS` with one hex message per stdin line; returns the parsed JSON lines. */
function cDecode(args, messages) {
  const r = spawnSync(SIPC, ['decode', '--json', ...args], {
    input: messages.map((m) => Buffer.from(m).toString('hex')).join('\n') + '\n',
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  assert.equal(r.status, 0, `sipc decode ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, messages.length, 'one JSON line per message');
  return lines.map((l) => JSON.parse(l));
}

/** The C decoder's JSON value at a filter path ("a.b[2].c"); null when a containing field is missing. */
function jsonAt(fields, path) {
  let v = fields;
  for (const part of path.match(/[A-Za-z_][A-Za-z0-9_]*|\[\d+\]/g) ?? []) {
    if (v === null) return null;
    if (part.startsWith('[')) {
      assert.ok(Array.isArray(v), `${path}: an array at ${part}`);
      v = v[Number(part.slice(1, -1))];
    } else {
      assert.ok(v !== undefined && typeof v === 'object' && part in v, `${path}: no member ${part} in ${JSON.stringify(v)?.slice(0, 200)}`);
      v = v[part];
    }
  }
  return v;
}

/** Asserts that the C decoder's JSON value shows the TypeScript decoder's field value. */
function sameValue(json, field, what) {
  if (field.problem === 'TOO_SHORT') {
    assert.equal(json, null, `${what}: missing in both`);
    return;
  }
  const v = field.value;
  if (field.enumName !== undefined) assert.equal(json, field.enumName, `${what}: enum by name`);
  else if (typeof v === 'boolean' || typeof v === 'string') assert.equal(json, v, what);
  else if (field.type.endsWith('*')) assert.equal(BigInt(json), v, `${what}: pointer`);
  else if (typeof v === 'bigint') assert.equal(json, String(v), `${what}: 64-bit integers are strings`);
  else if (field.type === 'float' || field.type === 'double' || field.type === 'long double') {
    const n = typeof json === 'string' ? (json === 'NaN' ? NaN : json === 'inf' ? Infinity : -Infinity) : json;
    assert.ok(Object.is(n, v), `${what}: C ${json}, TS ${v}`);
  } else assert.equal(json, v, what);
}

const problemKeys = (problems) => problems.map((p) => `${p.code} ${p.path}`);
const problemTexts = (problems) => problems.map((p) => `${p.code} ${p.path}: ${p.message}`);

for (const header of headers) {
  test(`${header}: the C decoder reads gcc's vectors as the TypeScript decoder and C do`, async () => {
    assertBinary();
    const decode = await loadDecode();
    const path = join(schemas, header);
    const schema = decode.parseCSchema(readFileSync(path, 'utf8'), { file: header });
    const records = namedRecords(schema);
    const vectors = gccVectors(path, records);
    let compared = 0;
    for (const { cName } of records) {
      const mine = vectors.filter((v) => v.cName === cName);
      const type = schema.lookup(cName);
      // Whole, cut short (half), and with three bytes more.
      const variants = mine.flatMap((v) => [v.bytes, v.bytes.subarray(0, v.bytes.length >> 1), Buffer.concat([v.bytes, Buffer.from([1, 2, 3])])]);
      const decoded = cDecode(['--schema', path, '--type', cName], variants);
      mine.forEach((v, i) => {
        const [whole, short, long] = decoded.slice(i * 3, i * 3 + 3);
        const tsWhole = decode.decodeAs(type, v.bytes);
        assert.equal(whole.type, tsWhole.type);
        assert.equal(whole.length, v.size);
        assert.deepEqual(problemKeys(whole.problems ?? []), problemKeys(tsWhole.problems), `${cName}: problems`);
        for (const f of v.fields) {
          const field = decode.fieldAt(tsWhole, f.path);
          const json = jsonAt(whole.fields, f.path);
          sameValue(json, field, `${cName}.${f.path} (C reads ${f.value})`);
          // And against what C itself read back (enums and bools through the TS value checked by decode-layout).
          if (typeof json === 'number' && field.enumName === undefined && !/float|double/.test(field.type)) assert.equal(String(json), f.value);
          compared++;
        }
        for (const [bytes, c] of [[v.bytes.subarray(0, v.bytes.length >> 1), short], [Buffer.concat([v.bytes, Buffer.from([1, 2, 3])]), long]]) {
          const ts = decode.decodeAs(type, bytes);
          assert.deepEqual(problemTexts(c.problems ?? []), problemTexts(ts.problems), `${cName} (${bytes.length} of ${v.size} bytes): problems`);
          for (const f of v.fields) {
            const field = decode.fieldAt(ts, f.path);
            const json = field ? jsonAt(c.fields, f.path) : undefined;
            if (field && json !== null) sameValue(json, field, `${cName}.${f.path} in ${bytes.length} bytes`);
            else if (field) assert.equal(field.problem, 'TOO_SHORT', `${cName}.${f.path}: C says missing, TS ${field.display}`);
          }
        }
      });
    }
    assert.ok(compared >= records.length * 4, `${compared} field values compared`);
  });
}

test('a tagged union: the C decoder picks the same type as the TypeScript one, and says an unknown tag', async () => {
  assertBinary();
  const decode = await loadDecode();
  const path = join(schemas, 'protocol.h');
  const schema = decode.parseCSchema(readFileSync(path, 'utf8'), { file: 'protocol.h' });
  const cases = { MSG_HELLO: 'struct hello', 2: 'struct sample', '0x3': 'bye' };
  const message = decode.compileMessageSchema(schema, { tag: { offset: 0, type: 'uint16_t' }, cases });
  const hello = Buffer.alloc(20);
  hello.writeUInt16LE(1, 0);
  hello.writeUInt16LE(7, 2);
  hello.write('alice', 4);
  const sample = Buffer.alloc(16);
  sample.writeUInt16LE(2, 0);
  sample.writeUInt16LE(3, 2);
  sample.writeUInt32LE(99, 4);
  sample.writeDoubleLE(2.5, 8);
  const bye = Buffer.from([3, 0, 9, 0]);
  const unknown = Buffer.from([42, 0, 1, 2]);
  const tooShort = Buffer.from([2]);
  const messages = [hello, sample, bye, unknown, tooShort];
  const decoded = cDecode(['--schema', path, '--tag', 'uint16_t@0', '--cases', Object.entries(cases).map(([k, t]) => `${k}=${t}`).join(',')], messages);
  messages.forEach((bytes, i) => {
    const ts = message.decode(bytes);
    const c = decoded[i];
    assert.equal(c.type, ts.type, `message ${i}: type`);
    assert.deepEqual(problemKeys(c.problems ?? []), problemKeys(ts.problems), `message ${i}: problems`);
    if (ts.type !== 'tag') {
      for (const field of decode.walkFields(ts.root)) {
        if (field.children || field.path === '') continue;
        sameValue(jsonAt(c.fields, field.path), field, `message ${i} ${field.path}`);
      }
    }
  });
  assert.equal(decoded[0].fields.name, 'alice');
  assert.equal(decoded[1].fields.value, 2.5);
  assert.deepEqual(decoded[3].problems.map((p) => p.code), ['UNKNOWN_TAG']);
});

// Schemas both engines refuse: same code, same file:line (the message names the construct).
const refused = [
  ['function-like macro', '#include <stdint.h>\n#define SQUARE(x) ((x) * (x))\nstruct s {\n  uint8_t a[SQUARE(2)];\n};\n', 'UNSUPPORTED', 4, /function-like macro SQUARE/],
  ['bit-fields in a big-endian record', 'struct __attribute__((scalar_storage_order("big-endian"))) s {\n  unsigned a : 3;\n};\n', 'UNSUPPORTED', 2, /big-endian/],
  ['an unknown type', 'struct s {\n  int a;\n  mystery_t b;\n};\n', 'UNKNOWN_TYPE', 3, /mystery_t/],
  ['a member defined twice', 'struct s {\n  int a;\n  union { int a; };\n};\n', 'REDEFINED', undefined, /two members named a/],
  ['an array of negative length', 'struct s {\n  char a[-1];\n};\n', 'BAD_CONSTANT', 2, /array length -1/],
  ['a too wide bit-field', 'struct s {\n  unsigned char a : 9;\n};\n', 'BAD_BITFIELD', 2, /wider than its type/],
  ['#if without #endif', '#if 1\nstruct s { int a; };\n', 'SYNTAX', undefined, /#if without #endif/],
  ['a missing include', '#include "nowhere.h"\nstruct s { int a; };\n', 'INCLUDE', 1, /nowhere\.h/],
  ['an unterminated string', 'struct s { int a; };\nconst char *x = "abc;\n', 'SYNTAX', 2, /unterminated string/],
];

for (const [what, text, code, line, pattern] of refused) {
  test(`both decoders refuse ${what} with ${code}${line ? ` at line ${line}` : ''}`, async () => {
    assertBinary();
    const decode = await loadDecode();
    const dir = testTempDir('decode');
    try {
      const file = join(dir, 'bad.h');
      writeFileSync(file, text);
      let tsError;
      try {
        decode.parseCSchema(text, { file: 'bad.h', readInclude: () => undefined });
      } catch (error) {
        tsError = error;
      }
      assert.ok(tsError, 'TypeScript refuses it');
      assert.equal(tsError.code, code);
      const r = spawnSync(SIPC, ['decode', '--schema', file, '--type', 'struct s', '--hex', '00'], { encoding: 'utf8' });
      assert.equal(r.status, 1, `exit 1 for a refused schema: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`\\(${code}\\)\\n$`));
      assert.match(r.stderr, pattern);
      if (line !== undefined) {
        assert.match(r.stderr, new RegExp(`bad\\.h:${line}: `), 'the line of the construct');
        assert.match(tsError.where, new RegExp(`:${line}$`), 'TypeScript names the same line');
      }
      assert.equal(r.stdout, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('sipc recv and tap --schema print the fields of live messages (text and JSON, a short one says so)', { timeout: 60000 }, async () => {
  assertBinary();
  const path = join(schemas, 'protocol.h');
  const name = uniqueName('decode');
  const schema = ['--schema', path, '--tag', 'uint16_t@0', '--cases', 'MSG_HELLO=struct hello,MSG_SAMPLE=struct sample'];
  const receiver = start(['recv', name, '--json', '--count', '2', '--timeout', '15000', ...schema]);
  await waitForChannel(name);
  const tap = start(['tap', name, '--count', '2', '--timeout', '15000', ...schema]);
  const tapJson = start(['tap', name, '--json', '--count', '2', '--timeout', '15000', ...schema]);
  await waitForTap(tap);
  await waitForTap(tapJson);
  const sample = Buffer.alloc(16);
  sample.writeUInt16LE(2, 0);
  sample.writeUInt16LE(5, 2);
  sample.writeUInt32LE(41, 4);
  sample.writeDoubleLE(-0.25, 8);
  const shortHello = Buffer.from([1, 0, 7, 0, 0x61, 0x62]); // struct hello needs 20 bytes
  for (const message of [sample, shortHello]) {
    assert.equal((await run(['send', name, '--hex', message.toString('hex'), '--timeout', '5000'])).code, 0);
  }
  const received = await receiver.done;
  assert.equal(received.code, 0, received.stderr);
  const [first, second] = received.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(first, { index: 0, length: 16, type: 'struct sample', fields: { type: 2, channel: 5, seq: 41, value: -0.25 } });
  assert.equal(second.type, 'struct hello');
  assert.deepEqual(second.fields, { type: 1, version: 7, name: null });
  assert.deepEqual(second.problems.map((p) => [p.code, p.path]), [['TOO_SHORT', ''], ['TOO_SHORT', 'name']]);

  const text = (await tap.done);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout.toString(), /^\d\d:\d\d:\d\d\.\d{6} client->server #0 16 B .*\n  type struct sample\n  type = 2\n  channel = 5\n  seq = 41\n  value = -0.25\n/);
  assert.match(text.stdout.toString(), /client->server #1 6 B .*\n  type struct hello\n  type = 1\n  version = 7\n  name = \(missing\)\n  problem TOO_SHORT: the message has 6 bytes; struct hello needs 20\n/);
  const json = await tapJson.done;
  assert.equal(json.code, 0, json.stderr);
  const tapped = json.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(tapped.map((t) => [t.dir, t.seq, t.type]), [['client->server', 0, 'struct sample'], ['client->server', 1, 'struct hello']]);
  assert.deepEqual(tapped[0].fields, first.fields);
  assert.equal(tapped[0].copied, 16, 'the whole message was copied');
  assert.ok('text' in tapped[0] || 'hex' in tapped[0], 'the payload keys stay');
});

test('--schema options are checked before anything is opened', async () => {
  assertBinary();
  const path = join(schemas, 'protocol.h');
  const cases = [
    [['recv', 'x', '--schema', path], /--schema needs either --type T or --tag/],
    [['recv', 'x', '--type', 'struct sample'], /go with --schema/],
    [['tap', 'x', '--schema', path, '--type', 'struct nothing'], /type "struct nothing" is not declared in the schema/],
    [['recv', 'x', '--schema', path, '--type', 'sample', '--format', 'hex'], /prints fields as text or json/],
    [['decode', '--schema', path, '--tag', 'uint16_t', '--cases', '1=hello'], /--tag needs TYPE@OFFSET/],
    [['decode', '--schema', path, '--tag', 'double@0', '--cases', '1=hello'], /not an integer or enum type/],
    [['decode', '--schema', path, '--tag', 'uint16_t@0', '--cases', 'MSG_NOPE=hello'], /neither a number nor a constant/],
    [['decode', '--schema', join(schemas, 'missing.h'), '--type', 'x'], /cannot read .*missing\.h/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
  }
});

// The other data models and the big-endian default: the TypeScript layout of each is checked against clang's
// (test/unit/decode-layout.test.mjs); the C engine must decode the same pseudo-random bytes to the same fields.
const targets = ['aarch64-linux', 'i386-linux', 'arm-linux', 'x86_64-windows'];
for (const target of [...targets, 'big-endian']) {
  test(`${target}: the C decoder lays out and decodes every test schema as the TypeScript one`, async () => {
    assertBinary();
    const decode = await loadDecode();
    const options = target === 'big-endian' ? { endian: 'big' } : { target };
    const args = target === 'big-endian' ? ['--endian', 'big'] : ['--target', target];
    let seed = 0x2545f491;
    const random = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed & 0xff; };
    let compared = 0;
    for (const header of headers) {
      const path = join(schemas, header);
      let schema;
      try {
        schema = decode.parseCSchema(readFileSync(path, 'utf8'), { file: header, ...options });
      } catch (error) {
        // Refused by TypeScript (bit-fields with Microsoft's layout or in big-endian records): refused by C too.
        const r = spawnSync(SIPC, ['decode', '--schema', path, '--type', 'x', '--hex', '00', ...args], { encoding: 'utf8' });
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`\\(${error.code}\\)\\n$`), `${header}: ${r.stderr}`);
        continue;
      }
      for (const { cName, type } of namedRecords(schema)) {
        const messages = [0, 1, 2].map((k) => Buffer.from(Array.from({ length: type.size + (k === 2 ? 5 : 0) }, random)));
        const decoded = cDecode(['--schema', path, '--type', cName, ...args], messages);
        messages.forEach((bytes, i) => {
          const ts = decode.decodeAs(type, bytes, schema.endian);
          assert.equal(decoded[i].type, ts.type);
          assert.deepEqual(problemKeys(decoded[i].problems ?? []), problemKeys(ts.problems), `${header} ${cName}: problems`);
          for (const field of decode.walkFields(ts.root)) {
            if (field.children || field.path === '' || field.name.startsWith('(anonymous')) continue;
            sameValue(jsonAt(decoded[i].fields, field.path), field, `${target} ${cName}.${field.path}`);
            compared++;
          }
        });
      }
    }
    assert.ok(compared > 200, `${compared} fields compared`);
  });
}

test('a large array in a short message: one problem per truncated array in both engines, saying how many elements', async () => {
  assertBinary();
  const decode = await loadDecode();
  const dir = testTempDir('decode');
  try {
    const text = '#include <stdint.h>\nstruct point { uint16_t x; uint16_t y; };\nstruct log { uint32_t count; uint32_t values[1000]; struct point points[50]; };\n';
    writeFileSync(join(dir, 'log.h'), text);
    const type = decode.parseCSchema(text, { file: 'log.h' }).lookup('log');
    const messages = [Buffer.from([2, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0, 0]), Buffer.concat([Buffer.alloc(4004), Buffer.from([5, 0])]), Buffer.alloc(0)];
    const decoded = cDecode(['--schema', join(dir, 'log.h'), '--type', 'log'], messages);
    messages.forEach((bytes, i) => {
      const ts = decode.decodeAs(type, bytes);
      assert.deepEqual(problemTexts(decoded[i].problems ?? []), problemTexts(ts.problems), `message ${i}`);
      assert.ok(ts.problems.length <= 4, `message ${i}: ${ts.problems.length} problems`);
    });
    assert.equal(decoded[0].problems[1].message, 'values: bytes 12–4003 are missing (998 of its 1000 elements)');
    // JSON keeps the array's length, null for each missing element; the text output has one line for them.
    assert.deepEqual(decoded[0].fields.values.slice(0, 3), [10, 11, null]);
    assert.equal(decoded[0].fields.values.length, 1000);
    assert.equal(decoded[0].fields.points, null);
    const plain = spawnSync(SIPC, ['decode', '--schema', join(dir, 'log.h'), '--type', 'log', '--hex', messages[0].toString('hex')], { encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /\n  values\[1\] = 11\n  values\[2\]–\[999\] = \(missing: 998 elements\)\n  points = \(missing\)\n/);
    assert.equal(plain.stdout.split('\n').filter((l) => l.includes('missing')).length, 4, plain.stdout); // 2 fields, 2 problems
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('#include "x.h" is read beside the including header, as the extension reads it', async () => {
  assertBinary();
  const decode = await loadDecode();
  const dir = testTempDir('decode');
  try {
    writeFileSync(join(dir, 'sizes.h'), '#define NAME_LEN 6\nenum unit { CELSIUS = 1, KELVIN = 2 };\n');
    const text = '#include "sizes.h"\n#include <stdint.h>\nstruct reading { enum unit unit; char name[NAME_LEN]; int16_t value; };\n';
    writeFileSync(join(dir, 'reading.h'), text);
    const schema = decode.parseCSchema(text, { file: 'reading.h', readInclude: (name) => ({ file: name, text: readFileSync(join(dir, name), 'utf8') }) });
    const type = schema.lookup('reading');
    const bytes = Buffer.alloc(type.size);
    bytes.writeUInt32LE(2, 0);
    bytes.write('probe', 4, 'latin1');
    bytes.writeInt16LE(-40, 10);
    const [c] = cDecode(['--schema', join(dir, 'reading.h'), '--type', 'reading'], [bytes]);
    assert.equal(c.length, type.size);
    assert.deepEqual(c.fields, { unit: 'KELVIN', name: 'probe', value: -40 });
    assert.equal(decode.decodeAs(type, bytes).problems.length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
