// Every status of helper/include/sipc.h has the same name in every binding: the C++ enum member
// (sipc::status::peer_gone for SIPC_ERR_PEER_GONE, whose status_name() is "PEER_GONE"), the Python exception
// class's code and the Node API's SipcErrorCode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path) => readFileSync(resolve(root, path), 'utf8');

const header = read('helper/include/sipc.h');
const statuses = [...header.matchAll(/SIPC_ERR_([A-Z_]+)\s*=\s*(-\d+)/g)].map((m) => m[1]);

test('sipc.h declares the statuses', () => {
  assert.ok(statuses.length >= 17, `found ${statuses.length}`);
  assert.ok(statuses.includes('PEER_GONE') && statuses.includes('TIMEOUT'));
});

test('every SIPC_ERR_* has a C++ sipc::status member of the same name', () => {
  const hpp = read('helper/include/sipc.hpp');
  for (const code of statuses) {
    assert.match(hpp, new RegExp(`\\b${code.toLowerCase()} = SIPC_ERR_${code},`), `sipc::status lacks ${code}`);
  }
});

test('every SIPC_ERR_* has a Python exception with that code', () => {
  const errors = read('helper/bindings/python/sipc/errors.py');
  const registry = errors.slice(errors.indexOf('ERRORS_BY_CODE'));
  for (const code of statuses) {
    const match = errors.match(new RegExp(`class (\\w+)\\(SipcError(?:, \\w+)*\\):\\n(?:    .*\\n)*?    code = "${code}"`));
    assert.ok(match, `no Python exception class with code ${code}`);
    assert.match(registry, new RegExp(`\\b${match[1]}\\b`), `${match[1]} is missing from ERRORS_BY_CODE`);
  }
});

test('every SIPC_ERR_* is a Node SipcErrorCode', () => {
  // SipcErrorCode is the list of status names generated from sipc.h (extension/src/api/abi.ts).
  assert.match(read('extension/src/api/errors.ts'), /SipcErrorCode = \(typeof STATUS_ERROR_NAMES\)\[number\]/);
  const generated = /STATUS_ERROR_NAMES = \[([^\]]*)\]/.exec(read('extension/src/api/abi.ts'))?.[1] ?? '';
  for (const code of statuses) assert.match(generated, new RegExp(`'${code}'`), `SipcErrorCode lacks ${code}`);
});
