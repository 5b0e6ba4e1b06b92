// The send form's encoder: values taken from gcc-encoded vectors (test/decode/vectors.mjs) of every struct of the
// test schemas are typed back in as text, encoded, and decode to the same values; bytes where gcc wrote fields
// equal gcc's. Values that do not fit their field are refused with its path; tagged unions fill in the tag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDecode } from './inspector-core.mjs';
import { gccVectors, namedRecords } from '../decode/vectors.mjs';

const schemas = join(dirname(fileURLToPath(import.meta.url)), '..', 'decode', 'schemas');
const d = await loadDecode();

function hasUnion(type) {
  if (type.kind === 'union') return true;
  if (type.kind === 'struct') return type.fields.some((f) => hasUnion(f.type));
  if (type.kind === 'array') return hasUnion(type.element);
  return false;
}

const printable = (s) => /^[\x20-\x7e]*$/.test(s) && !s.includes('\\');

test('typed-in values of gcc vectors encode to bytes that decode to the same values (structs of every test schema)', () => {
  let checked = 0;
  for (const header of readdirSync(schemas).filter((f) => f.endsWith('.h'))) {
    const path = join(schemas, header);
    const schema = d.parseCSchema(readFileSync(path, 'utf8'), { file: header });
    const records = namedRecords(schema).filter(({ type }) => !hasUnion(type));
    for (const v of gccVectors(path, records, { rounds: 2 })) {
      const type = schema.lookup(v.cName);
      const decoded = d.decodeAs(type, v.bytes);
      const values = {};
      for (const field of d.formFields(type)) {
        const f = d.fieldAt(decoded, field.path);
        if (f.problem === 'BAD_ENUM' || f.problem === 'BAD_BOOL') continue;
        if (field.kind === 'text' && !printable(f.value)) continue;
        values[field.path] = typeof f.value === 'boolean' ? String(f.value) : String(f.value);
      }
      const encoded = d.encodeAs(type, values);
      assert.equal(encoded.length, type.size);
      const again = d.decodeAs(type, encoded);
      for (const [p, text] of Object.entries(values)) {
        const f = d.fieldAt(again, p);
        assert.equal(typeof f.value === 'boolean' ? String(f.value) : String(f.value), text, `${v.cName}.${p}`);
        if (f.bitWidth === undefined && f.type !== 'float' && f.type !== 'double' && !(f.type.startsWith('char['))) {
          assert.deepEqual([...encoded.subarray(f.offset, f.offset + f.size)], [...v.bytes.subarray(f.offset, f.offset + f.size)], `${v.cName}.${p}: gcc's bytes`);
        }
        checked++;
      }
    }
  }
  assert.ok(checked > 300, `${checked} values checked`);
});

test('values that do not fit are refused with the field path; absent fields are zero; the tag is filled in', () => {
  const schema = d.parseCSchema(`enum kind { A = 1, B = 2 };
struct msg { uint16_t type; int8_t small; enum kind kind; unsigned flags : 3; _Bool on; char name[4]; float f; };`);
  const type = schema.lookup('msg');
  assert.deepEqual(d.formFields(type).map((f) => [f.path, f.kind]),
    [['type', 'int'], ['small', 'int'], ['kind', 'enum'], ['flags', 'int'], ['on', 'bool'], ['name', 'text'], ['f', 'float']]);
  const ok = d.encodeAs(type, { type: '0x102', small: '-128', kind: 'B', flags: '7', on: 'true', name: 'abcd', f: '1.5' });
  const m = d.decodeAs(type, ok);
  assert.deepEqual(m.root.children.map((f) => f.display), ['258', '-128', 'B (2)', '7', 'true', '"abcd"', '1.5']);
  assert.deepEqual([...d.encodeAs(type, {})], new Array(type.size).fill(0));
  const refusals = [
    [{ small: '128' }, /small: 128 does not fit 8 bits signed/],
    [{ type: '-1' }, /type: -1 does not fit 16 bits unsigned/],
    [{ flags: '8' }, /flags: 8 does not fit 3 bits/],
    [{ kind: 'C' }, /kind: "C" is not a whole number/],
    [{ kind: '3' }, /kind: 3 is not a value of enum kind/],
    [{ on: 'maybe' }, /on: "maybe" is not true or false/],
    [{ name: 'abcde' }, /name: 5 bytes of text do not fit 4/],
    [{ f: 'x' }, /f: "x" is not a number/],
    [{ nope: '1' }, /nope: struct msg has no such field/],
  ];
  for (const [values, message] of refusals) assert.throws(() => d.encodeAs(type, values), (e) => e.code === 'BAD_VALUE' && message.test(e.message), JSON.stringify(values));

  const tagged = d.compileMessageSchema(d.parseCSchema('struct hello { uint16_t type; char name[6]; };\nstruct bye { uint16_t type; uint8_t why; };'),
    { tag: { offset: 0, type: 'uint16_t' }, cases: { 1: 'hello', 7: 'bye' } });
  assert.deepEqual(tagged.form.types, ['struct hello', 'struct bye']);
  assert.deepEqual(tagged.form.defaults('struct bye'), { type: '7' });
  const bytes = tagged.form.encode('struct bye', { ...tagged.form.defaults('struct bye'), why: '3' });
  assert.equal(tagged.decode(bytes).type, 'struct bye');
  assert.throws(() => tagged.form.encode('struct nope', {}), { code: 'BAD_VALUE' });
  const be = d.parseCSchema('struct s { uint32_t v; };', { endian: 'big' });
  assert.deepEqual([...d.encodeAs(be.lookup('s'), { v: '0x01020304' }, 'big')], [1, 2, 3, 4]);
});
