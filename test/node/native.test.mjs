// helper/src/async.c (the native threads under the Node API) driven from C, plain and under sanitizers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { execFileSync } from 'node:child_process';
import { testTempDir } from '../debris.mjs';

const arch = () => execFileSync('uname', ['-m']).toString().trim();

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sources = [
  ...readdirSync(join(repo, 'helper', 'src'))
    .filter((f) => f.endsWith('.c') && !f.startsWith('platform_win32'))
    .map((f) => join(repo, 'helper', 'src', f)),
  join(repo, 'test', 'node', 'native', 'async_stress.c'),
];
const common = ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-O1', '-g', '-fno-omit-frame-pointer',
  '-pthread', `-I${join(repo, 'helper', 'include')}`, `-I${join(repo, 'helper', 'src')}`];
const variants = [
  { name: 'plain', flags: [], messages: '20000' },
  { name: 'ASan+UBSan', flags: ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'], messages: '5000' },
  { name: 'TSan', flags: ['-fsanitize=thread', '-Wno-tsan'], messages: '5000' },
];

// Each step has its own bound, and the test's is their sum: the build (18 files, under ASan at -O1) and the run are
// CPU-bound, and the ASan build and run together took 92 s of the one 120 s bound they shared under two CPU hogs at
// load 20 (the run's own 90 s bound could never be reached after a slow build).
const BUILD_TIMEOUT_MS = 180000;
const RUN_TIMEOUT_MS = 90000;

for (const variant of variants) {
  test(`async.c stress (${variant.name}): ordering over every receive path, stop while blocked, observer`, { timeout: BUILD_TIMEOUT_MS + RUN_TIMEOUT_MS + 10000 }, async () => {
    const dir = testTempDir('async');
    try {
      const binary = join(dir, 'async_stress');
      await run(process.env.CC ?? 'cc', [...common, ...variant.flags, ...sources, '-o', binary, '-lrt'], { timeout: BUILD_TIMEOUT_MS });
      // TSan needs the classic memory layout on some kernels (as helper/Makefile does): setarch -R.
      const [command, argv] = variant.name === 'TSan' && existsSync('/usr/bin/setarch')
        ? ['/usr/bin/setarch', [arch(), '-R', binary, variant.messages]]
        : [binary, [variant.messages]];
      const { stdout, stderr } = await run(command, argv, {
        timeout: RUN_TIMEOUT_MS,
        env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=1' },
      });
      assert.match(stdout, /: ok/);
      assert.equal(stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
