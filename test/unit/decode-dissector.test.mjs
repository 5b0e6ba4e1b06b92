// The generated Wireshark dissector against the real tshark: for every record of the test schemas, gcc's encoded
// vectors (test/decode/vectors.mjs) go into a pcapng written by the inspector's own exporter, tshark runs the
// dissector generated for that record (`tshark -X lua_script:gen.lua -T fields -e sipc.<record>.<member>`), and
// every field value it prints must equal the TypeScript decoder's, message by message. A tagged union with a
// short message and an unknown tag is checked for its expert infos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore, loadDecode } from './inspector-core.mjs';
import { gccVectors, namedRecords } from '../decode/vectors.mjs';
import { testTempDir } from '../debris.mjs';

const schemas = join(dirname(fileURLToPath(import.meta.url)), '..', 'decode', 'schemas');
const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const skip = haveTshark ? false : 'tshark is not installed (Debian package tshark)';

/** Filter name of every leaf of a record, in tree order: <record key>.<member> of the member's own record. */
function leafFilters(d, record, out = [], path = '') {
  for (const f of record.fields) {
    const p = f.name === '' ? path : path ? `${path}.${f.name}` : f.name;
    if (f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union')) { leafFilters(d, f.type, out, path); continue; }
    const visit = (type, itemPath) => {
      if (f.bitWidth === undefined && (type.kind === 'struct' || type.kind === 'union')) return leafFilters(d, type, out, itemPath);
      if (f.bitWidth === undefined && type.kind === 'array' && !(type.element.kind === 'int' && type.element.char)) {
        for (let i = 0; i < (type.length ?? 0); i++) visit(type.element, `${itemPath}[${i}]`);
        return;
      }
      out.push({ path: itemPath, filter: `sipc.${d.dissectorRecordKey(record)}.${f.name}` });
    };
    visit(f.type, p);
  }
  return out;
}

function tsharkFields(lua, pcapng, filters, dir) {
  const luaFile = join(dir, 'gen.lua');
  const capture = join(dir, 'capture.pcapng');
  writeFileSync(luaFile, lua);
  writeFileSync(capture, pcapng);
  const args = ['-n', '-X', `lua_script:${luaFile}`, '-r', capture, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-E', 'separator=\t'];
  for (const f of filters) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Lua: Error|error/i, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t').map((cell) => (cell === '' ? [] : cell.split('|'))));
}

function expected(field) {
  if (typeof field.value === 'boolean') return field.value ? '1' : '0';
  return String(field.value);
}

/** tshark 4.0 prints floats with FLT_DIG (6) and doubles with DBL_DIG (15) significant digits: compare at those. */
function sameValue(tsharkText, ts, field) {
  if (field.type === 'float' || field.type === 'double') {
    const v = Number(field.value);
    if (Number.isNaN(v)) return /nan/i.test(tsharkText);
    if (v === 0) return Number(tsharkText) === 0;
    // Within half a unit of the last printed digit (C's printf breaks ties to even, toPrecision away from zero).
    const digits = field.type === 'float' ? 6 : 15;
    const unit = 10 ** (Math.floor(Math.log10(Math.abs(v))) - digits + 1);
    return Math.abs(Number(tsharkText) - v) <= unit / 2 * (1 + 1e-12);
  }
  return tsharkText === ts;
}

test('the generated dissector prints, through tshark, the values the TypeScript decoder gives for gcc-encoded vectors', { skip, timeout: 300_000 }, async () => {
  const d = await loadDecode();
  const core = await loadCore();
  const dir = testTempDir('dissector');
  let compared = 0;
  try {
    for (const header of readdirSync(schemas).filter((f) => f.endsWith('.h')).sort()) {
      const path = join(schemas, header);
      const schema = d.parseCSchema(readFileSync(path, 'utf8'), { file: header });
      const records = namedRecords(schema);
      const vectors = gccVectors(path, records);
      for (const { cName, type } of records) {
        const messages = vectors.filter((v) => v.cName === cName).map((v) => v.bytes);
        const leaves = leafFilters(d, type);
        const filters = [...new Set(leaves.map((l) => l.filter))];
        const lua = d.generateLuaDissector(schema, { type: cName }, { origin: `test ${header} ${cName}` });
        const entries = messages.map((data, i) => ({ kind: 'message', seq: i, direction: 'received', timestamp: 1000 + i, length: data.length, data }));
        const pcapng = core.concatChunks(core.pcapngChunks(entries, { interfaceName: 'test', interfaceDescription: 'test' }));
        const rows = tsharkFields(lua, pcapng, filters, dir);
        assert.equal(rows.length, messages.length, `${cName}: one line per packet`);
        rows.forEach((row, packet) => {
          const decoded = d.decodeAs(type, messages[packet]);
          filters.forEach((filter, column) => {
            const tsValues = leaves.filter((l) => l.filter === filter).map((l) => d.fieldAt(decoded, l.path));
            // An empty string prints as an empty cell.
            const empty = tsValues.length === 1 && tsValues[0].value === '';
            const printed = row[column]?.length ? row[column] : empty ? [''] : [];
            assert.equal(printed.length, tsValues.length, `${cName} packet ${packet} ${filter}: ${JSON.stringify(printed)}`);
            tsValues.forEach((field, i) => {
              assert.ok(sameValue(printed[i], expected(field), field), `${cName} packet ${packet} ${filter}[${i}]: tshark ${printed[i]}, decoder ${expected(field)}`);
              compared++;
            });
          });
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(compared > 500, `${compared} values compared`);
});

test('a tagged union: the case by the tag, and expert infos for a short message and an unknown tag', { skip }, async () => {
  const d = await loadDecode();
  const core = await loadCore();
  const schema = d.parseCSchema(readFileSync(join(schemas, 'protocol.h'), 'utf8'));
  const lua = d.generateLuaDissector(schema, { tag: { offset: 0, type: 'uint16_t' }, cases: { MSG_HELLO: 'struct hello', 2: 'struct sample' } });
  const sample = Buffer.alloc(16);
  sample.writeUInt16LE(2, 0);
  sample.writeUInt32LE(77, 4);
  sample.writeDoubleLE(-1.25, 8);
  const hello = Buffer.alloc(20);
  hello.writeUInt16LE(1, 0);
  hello.write('probe', 4);
  const messages = [sample, hello, Buffer.from([9, 0, 0]), sample.subarray(0, 6), Buffer.from([1])];
  const entries = messages.map((data, i) => ({ kind: 'message', seq: i, direction: 'sent', timestamp: i, length: data.length, data }));
  const dir = testTempDir('dissector');
  try {
    const rows = tsharkFields(lua, core.concatChunks(core.pcapngChunks(entries, { interfaceName: 't', interfaceDescription: 't' })),
      ['sipc.sample.seq', 'sipc.sample.value', 'sipc.hello.name', '_ws.expert.message'], dir);
    assert.deepEqual(rows[0].slice(0, 2), [['77'], ['-1.25']]);
    assert.deepEqual(rows[1][2], ['probe']);
    assert.match(rows[2][3].join(' '), /unknown tag 9/);
    assert.match(rows[3][3].join(' '), /value: missing/);
    assert.match(rows[3][3].join(' '), /the message has 6 bytes; struct sample needs 16/);
    assert.match(rows[4][3].join(' '), /too short for the tag/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a large array in a short message: one expert info for its missing elements, not one per element', { skip }, async () => {
  const d = await loadDecode();
  const core = await loadCore();
  const schema = d.parseCSchema('#include <stdint.h>\nstruct log { uint32_t count; uint32_t values[1000]; };\n');
  const lua = d.generateLuaDissector(schema, { type: 'log' });
  const data = Buffer.from([2, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0, 0]);
  const entries = [{ kind: 'message', seq: 0, direction: 'sent', timestamp: 0, length: data.length, data }];
  const dir = testTempDir('dissector');
  try {
    const [row] = tsharkFields(lua, core.concatChunks(core.pcapngChunks(entries, { interfaceName: 't', interfaceDescription: 't' })),
      ['sipc.log.values', '_ws.expert.message'], dir);
    assert.deepEqual(row[0], ['10', '11'], 'the elements the message holds');
    // (The packet's comment, "sent", is an expert info of its own.)
    assert.deepEqual(row[1].filter((m) => m !== 'sent'), ['values[2]–[999] (998 of 1000 elements): missing (the message is too short)',
      'the message has 12 bytes; struct log needs 4004']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
