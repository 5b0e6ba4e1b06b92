// The C-struct schema engine against the compiler: for every header in test/decode/schemas, gcc lays the records
// out and encodes pseudo-random field values (test/decode/vectors.mjs); the TypeScript layout must give the same
// sizeof/_Alignof/offsetof/sizeof, and decoding the bytes gcc wrote must give the values C reads back. Other data
// models are checked by compiling static assertions with clang for those targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadDecode } from './inspector-core.mjs';
import { namedRecords, gccVectors, checkCrossLayout } from '../decode/vectors.mjs';

const schemas = join(dirname(fileURLToPath(import.meta.url)), '..', 'decode', 'schemas');
const headers = readdirSync(schemas).filter((f) => f.endsWith('.h')).sort();

function same(decodedValue, cValue, leafType) {
  if (typeof decodedValue === 'boolean') return cValue === (decodedValue ? '1' : '0');
  if (typeof decodedValue === 'string') return decodedValue === cValue;
  if (leafType === 'float') return Object.is(Number(decodedValue), Number(cValue)) || (Number.isNaN(Number(decodedValue)) && /nan/i.test(cValue));
  return String(decodedValue) === cValue;
}

for (const header of headers) {
  test(`${header}: gcc's layout and encoded values decode to what C reads back`, async () => {
    const decode = await loadDecode();
    const path = join(schemas, header);
    const schema = decode.parseCSchema(readFileSync(path, 'utf8'), { file: header });
    const records = namedRecords(schema);
    assert.ok(records.length > 0, 'the header declares records');
    const vectors = gccVectors(path, records);
    assert.equal(vectors.length, records.length * 4);
    let checked = 0;
    for (const v of vectors) {
      const type = schema.lookup(v.cName);
      assert.ok(type, `${v.cName} is known`);
      assert.equal(type.size, v.size, `sizeof(${v.cName})`);
      assert.equal(type.align, v.align, `_Alignof(${v.cName})`);
      assert.equal(v.bytes.length, v.size);
      const message = decode.decodeAs(type, v.bytes);
      assert.ok(!message.problems.some((p) => p.code === 'TOO_SHORT' || p.code === 'TRAILING_BYTES'), JSON.stringify(message.problems));
      for (const f of v.fields) {
        const field = decode.fieldAt(message, f.path);
        assert.ok(field, `${v.cName}.${f.path} is decoded`);
        if (f.offset !== undefined && !Number.isNaN(f.offset)) {
          assert.equal(field.offset, f.offset, `offsetof(${v.cName}, ${f.path})`);
          assert.equal(field.size, f.size, `sizeof ${v.cName}.${f.path}`);
        }
        const leafType = field.type === 'float' || field.type === 'double' ? 'float' : 'other';
        assert.ok(same(field.value, f.value, leafType), `${v.cName}.${f.path}: C reads ${f.value}, decoded ${String(field.value)} (${field.display})`);
        checked++;
      }
    }
    assert.ok(checked >= records.length * 4, `${checked} field values checked`);
  });
}

const crossTargets = [
  ['i386-linux', 'i386-linux-gnu'],
  ['arm-linux', 'armv7-linux-gnueabihf'],
  ['aarch64-linux', 'aarch64-linux-gnu'],
  ['x86_64-windows', 'x86_64-windows-gnu'],
];
const haveClang = spawnSync('clang', ['--version']).status === 0;

for (const [target, clangTarget] of crossTargets) {
  test(`${target}: sizeof/_Alignof/offsetof match clang --target=${clangTarget}`, { skip: haveClang ? false : 'clang is not installed' }, async () => {
    const decode = await loadDecode();
    for (const header of headers) {
      if (header === 'endian.h') continue; // scalar_storage_order is gcc's; clang ignores it
      const path = join(schemas, header);
      let schema;
      try {
        schema = decode.parseCSchema(readFileSync(path, 'utf8'), { file: header, target });
      } catch (error) {
        // Microsoft bit-field layout is refused, with its own code, rather than guessed.
        assert.ok(target === 'x86_64-windows' && header === 'bitfields.h' && error.code === 'UNSUPPORTED', String(error));
        continue;
      }
      checkCrossLayout(path, namedRecords(schema), clangTarget);
    }
  });
}
