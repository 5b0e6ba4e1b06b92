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

test('every struct koffi lays out from abi.ts has the C compiler\'s sizeof and offsetof; every constant its value', { timeout: 60000 }, async () => {
  // native.ts as the API bundles it, so that the layouts checked are the ones it really makes.
  const bundle = await esbuild.build({
    entryPoints: [join(repo, 'extension/src/api/native.ts')], bundle: true, platform: 'node', format: 'cjs',
    write: false, external: ['koffi'], logLevel: 'silent',
  });
  const module = { exports: {} };
  const require = createRequire(join(repo, 'package.json'));
  new Function('module', 'exports', 'require', '__dirname', bundle.outputFiles[0].text)(module, module.exports, require, repo);
  const { structLayout } = module.exports;
  const { constants, structs } = parseHeaders(['sipc.h', 'sipc_async.h'].map((h) => readFileSync(join(repo, 'helper/include', h), 'utf8')));

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
