// One source for the ABI on the TypeScript side (issue #11): extension/src/api/abi.ts is generated from the C
// headers, and the koffi types native.ts makes from it have the C compiler's layout. A drifted header fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { generate, parseHeaders, OUTPUT } from '../../extension/scripts/generate-abi.mjs';
import { readFileSync } from 'node:fs';
import { testTempDir } from '../debris.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('abi.ts is what the headers generate (run extension/scripts/generate-abi.mjs after changing them)', () => {
  assert.equal(readFileSync(join(repo, OUTPUT), 'utf8'), generate());
});

test('the generator reads multi-line comments, enums and nested structs', () => {
  const { constants, structs, statusNames } = parseHeaders([`
    #define SIPC_A (4u * 1024u) /* a comment
       over two lines */
    #define SIPC_B 0x10u
    #define SIPC_C (SIPC_A + 1)
    #define SIPC_NOT_A_NUMBER "text"
    typedef enum sipc_status { SIPC_OK = 0, SIPC_ERR_ONE = -1, SIPC_ERR_TWO = -2 } sipc_status;
    typedef enum sipc_other { SIPC_X, SIPC_Y } sipc_other;
    typedef struct sipc_inner { uint32_t a; /* note */ uint64_t b; } sipc_inner;
    typedef struct sipc_outer { char name[SIPC_B + 1]; sipc_inner inner; const char *text; } sipc_outer;
  `]);
  assert.deepEqual(Object.fromEntries(constants), {
    SIPC_A: 4096, SIPC_B: 16, SIPC_C: 4097, SIPC_OK: 0, SIPC_ERR_ONE: -1, SIPC_ERR_TWO: -2, SIPC_X: 0, SIPC_Y: 1,
  });
  assert.deepEqual(statusNames, ['ONE', 'TWO']);
  assert.deepEqual(structs.get('sipc_outer'), [
    { name: 'name', type: 'char', length: 17 }, { name: 'inner', type: 'sipc_inner' }, { name: 'text', type: 'const char *' },
  ]);
  assert.throws(() => parseHeaders(['typedef struct sipc_bad { float x; } sipc_bad;']), /not known to the generator/);
});

/** native.ts as the API bundles it (koffi from the repository), so that what is checked is what it really makes. */
async function bundledNative() {
  const bundle = await esbuild.build({
    entryPoints: [join(repo, 'extension/src/api/native.ts')], bundle: true, platform: 'node', format: 'cjs',
    write: false, external: ['koffi'], logLevel: 'silent',
  });
  const module = { exports: {} };
  const require = createRequire(join(repo, 'package.json'));
  // __dirname as dist/'s: the library is then found in helper/build/<platform>-<arch>/, as dist/api.js finds it.
  new Function('module', 'exports', 'require', '__dirname', bundle.outputFiles[0].text)(module, module.exports, require, join(repo, 'dist'));
  return { ...module.exports, koffi: require('koffi') };
}

const headerTexts = () => ['sipc.h', 'sipc_async.h'].map((h) => readFileSync(join(repo, 'helper/include', h), 'utf8'));

test('every struct koffi lays out from abi.ts has the C compiler\'s sizeof and offsetof; every constant its value', { timeout: 60000 }, async () => {
  const { structLayout } = await bundledNative();
  const { constants, structs } = parseHeaders(headerTexts());

  const probe = ['#include <stdio.h>', '#include <stddef.h>', '#include "sipc.h"', '#include "sipc_async.h"', 'int main(void) {'];
  for (const [struct, fields] of structs) {
    probe.push(`  printf("%s size %zu\\n", "${struct}", sizeof(${struct}));`);
    for (const field of fields) probe.push(`  printf("%s.%s %zu\\n", "${struct}", "${field.name}", offsetof(${struct}, ${field.name}));`);
  }
  for (const name of constants.keys()) probe.push(`  printf("%s = %lld\\n", "${name}", (long long)(${name}));`);
  probe.push('  return 0;', '}');
  const dir = testTempDir('abi');
  try {
    writeFileSync(join(dir, 'probe.c'), probe.join('\n'));
    execFileSync(process.env.CC ?? 'cc', ['-std=c11', '-Wall', '-Werror', `-I${join(repo, 'helper/include')}`, '-o', join(dir, 'probe'), join(dir, 'probe.c')]);
    const fromC = execFileSync(join(dir, 'probe'), { encoding: 'utf8' }).trim().split('\n');
    const fromTs = [];
    for (const [struct, fields] of structs) {
      const layout = structLayout(struct);
      fromTs.push(`${struct} size ${layout.size}`);
      for (const field of fields) fromTs.push(`${struct}.${field.name} ${layout.offset[field.name]}`);
    }
    for (const [name, value] of constants) fromTs.push(`${name} = ${value}`);
    assert.deepEqual(fromTs, fromC);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every error status name the library reports is a SipcError code', () => {
  const require = createRequire(import.meta.url);
  const api = require(join(repo, 'dist/api.js'));
  const { constants, statusNames } = parseHeaders([readFileSync(join(repo, 'helper/include/sipc.h'), 'utf8')]);
  assert.ok(statusNames.length >= 18);
  for (const name of statusNames) {
    const error = new api.SipcError(name, 'probe');
    assert.equal(error.code, name);
    assert.ok(constants.get(`SIPC_ERR_${name}`) < 0);
  }
});

// koffi ignores arguments beyond those a binding declares, so a binding with a parameter missing still loads and runs:
// the C function then reads whatever its registers hold (session 12: `sipc_strerror` bound with `[]` and called with -3
// returned "success"). Each binding's result and parameters, as koffi has them (`func.info`), must be the header's.
test('every function native.ts binds has the header\'s result type and parameters (count, types, directions)', { timeout: 60000 }, async () => {
  const { native, koffi } = await bundledNative();
  const { structs, functions, callbacks, enums } = parseHeaders(headerTexts());
  const integers = { int: 'Int32', int32_t: 'Int32', uint32_t: 'UInt32', int64_t: 'Int64', uint64_t: 'UInt64', size_t: koffi.type('size_t').primitive };
  for (const name of enums) integers[name] = 'Int32';
  const typeName = (type) => type.name.replace(/_[0-9a-z]+_[0-9a-z]+( \*)?$/, '$1'); // without native.ts's type suffix

  /** What is wrong with koffi's `type` (and `direction`, for a parameter) as the C type `c`, or undefined. */
  function mismatch(c, type, direction) {
    const said = `${c} bound as ${type.name} (${type.primitive}${direction ? `, ${direction}` : ''})`;
    if (c === 'void') return type.primitive === 'Void' ? undefined : said;
    if (c in integers) return type.primitive === integers[c] && (!direction || direction === 'Input') ? undefined : said;
    if (c === 'const char *') return type.primitive === 'String' && (!direction || direction === 'Input') ? undefined : said;
    if (callbacks.has(c)) {
      const proto = callbacks.get(c);
      if (type.primitive !== 'Callback' || direction !== 'Input' || proto.parameters.length !== type.proto.arguments.length) return said;
      const inner = [mismatch(proto.result, type.proto.result), ...proto.parameters.map((p, i) => mismatch(p.type, type.proto.arguments[i].type, type.proto.arguments[i].direction))];
      return inner.some(Boolean) ? `${said}: ${inner.filter(Boolean).join('; ')}` : undefined;
    }
    if (!c.endsWith('*') || !direction) return said; // a pointer result (the handles' accessors) is not bound
    if (c.endsWith('**')) return type.primitive === 'Pointer' && type.ref.primitive === 'Pointer' && direction === 'Output' ? undefined : said;
    const pointee = c.replace(/^const /, '').replace(/ \*$/, '');
    if (type.primitive !== 'Pointer') return said;
    // A struct the library reads (const) or fills is bound as that struct; an array of structs, a buffer, an
    // integer out-array or an opaque handle as `void *` that the caller passes as is.
    if (type.ref.primitive === 'Void') return direction === 'Input' ? undefined : said;
    if (!structs.has(pointee) || type.ref.primitive !== 'Record' || typeName(type.ref) !== pointee) return said;
    const ok = c.startsWith('const ') ? direction === 'Input' : direction === 'Output' || direction === 'Input/Output';
    return ok ? undefined : said;
  }

  const bound = native();
  const checked = [];
  const wrong = [];
  for (const [key, value] of Object.entries(bound)) {
    if (typeof value !== 'function' || key === 'registerNotify') continue;
    const { info } = value;
    assert.ok(info, `${key} is not a koffi function`);
    assert.equal(info.name, key);
    const header = functions.get(info.name);
    assert.ok(header, `${info.name} is not declared in helper/include`);
    checked.push(key);
    const problems = [mismatch(header.result, info.result)];
    if (info.arguments.length !== header.parameters.length) {
      problems.push(`${header.parameters.length} parameters in the header, ${info.arguments.length} bound`);
    } else {
      header.parameters.forEach((p, i) => problems.push(mismatch(p.type, info.arguments[i].type, info.arguments[i].direction)));
    }
    for (const problem of problems.filter(Boolean)) wrong.push(`${info.name}: ${problem}`);
  }
  assert.deepEqual(wrong, []);
  // Every function the SipcNative interface declares was checked.
  const source = readFileSync(join(repo, 'extension/src/api/native.ts'), 'utf8');
  const declared = [.../export interface SipcNative \{([\s\S]*?)\n\}/.exec(source)[1].matchAll(/^\s*(sipc_\w+)\(/gm)].map((m) => m[1]);
  assert.deepEqual(checked.sort(), declared.sort());
  assert.equal(typeof bound.relayNotify, 'bigint');
});
