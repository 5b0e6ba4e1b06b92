// helper/src/async.c (the native threads under the Node API) driven from C, plain and under sanitizers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sources = [
  ...readdirSync(join(repo, 'helper', 'src'))
    .filter((f) => f.endsWith('.c') && f !== 'platform_win32.c')
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

for (const variant of variants) {
  test(`async.c stress (${variant.name}): ordering over every receive path, stop while blocked, observer`, { timeout: 120000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipc-async-'));
    try {
      const binary = join(dir, 'async_stress');
      await run(process.env.CC ?? 'cc', [...common, ...variant.flags, ...sources, '-o', binary, '-lrt']);
      const { stdout, stderr } = await run(binary, [variant.messages], {
        timeout: 90000,
        env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=1' },
      });
      assert.match(stdout, /: ok/);
      assert.equal(stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
