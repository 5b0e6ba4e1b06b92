// test/vscode/suite/stalls.js: how the extension-host bench takes a stall of the main thread apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../debris.mjs';

const require = createRequire(import.meta.url);
const { STALLS_LISTED, SchedStat, parseSchedStat, splitStall, stallFigures } = require('../vscode/suite/stalls.js');

test('parseSchedStat reads run and wait nanoseconds and refuses anything else', () => {
  assert.deepEqual(parseSchedStat('79436454 86951203 46\n'), { runNs: 79436454, waitNs: 86951203 });
  assert.deepEqual(parseSchedStat('0 2878623 1'), { runNs: 0, waitNs: 2878623 });
  assert.equal(parseSchedStat(''), undefined);
  assert.equal(parseSchedStat('12'), undefined);
  assert.equal(parseSchedStat('12 x 3'), undefined);
  assert.equal(parseSchedStat('-1 5 3'), undefined);
});

test('splitStall: on CPU and run queue from the schedstat deltas, off CPU the rest of the wall time', () => {
  const before = { runNs: 1_000_000_000, waitNs: 500_000_000 };
  const after = { runNs: 1_003_600_000, waitNs: 502_300_000 };
  assert.deepEqual(splitStall(5067, 67.4, before, after), { atMs: 5067, wallMs: 67.4, onCpuMs: 3.6, runQueueMs: 2.3, offCpuMs: 67.4 - 3.6 - 2.3 });
  // A stall spent waiting for a CPU has nothing off CPU; rounding never makes that part negative.
  const queued = splitStall(0, 30, { runNs: 0, waitNs: 0 }, { runNs: 1_000_000, waitNs: 29_500_000 });
  assert.equal(queued.runQueueMs, 29.5);
  assert.equal(queued.offCpuMs, 0);
});

test('stallFigures counts and sums every stall and lists the longest first, rounded', () => {
  const stalls = [20, 91.94, 35, 22, 67.46, 40, 25.55].map((wallMs, i) => ({ atMs: i * 100.4, wallMs, onCpuMs: 1, runQueueMs: wallMs / 2, offCpuMs: wallMs / 2 - 1, extra: i }));
  const figures = stallFigures(stalls);
  assert.equal(figures.count, 7);
  assert.equal(figures.wallMs, 302);
  assert.equal(figures.onCpuMs, 7);
  assert.equal(figures.runQueueMs, 151);
  assert.equal(figures.offCpuMs, 144);
  assert.equal(figures.longest.length, STALLS_LISTED);
  assert.deepEqual(figures.longest.map((s) => s.wallMs), [91.9, 67.5, 40, 35, 25.6]);
  assert.deepEqual(figures.longest[0], { atMs: 100, wallMs: 91.9, onCpuMs: 1, runQueueMs: 46, offCpuMs: 45, extra: 1 });
  assert.deepEqual(stallFigures([]), { count: 0, wallMs: 0, onCpuMs: 0, runQueueMs: 0, offCpuMs: 0, longest: [] });
});

test('SchedStat reads a schedstat file again and again, and says when there is none', (t) => {
  const dir = testTempDir('schedstat');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'schedstat');
  writeFileSync(file, '100 200 3\n');
  const sched = new SchedStat(file);
  assert.equal(sched.available, true);
  assert.deepEqual(sched.read(), { runNs: 100, waitNs: 200 });
  writeFileSync(file, '150 260 4\n');
  assert.deepEqual(sched.read(), { runNs: 150, waitNs: 260 });
  sched.close();
  assert.equal(sched.available, false);
  assert.equal(sched.read(), undefined);
  const missing = new SchedStat(join(dir, 'none'));
  assert.equal(missing.available, false);
  assert.equal(missing.read(), undefined);
});

test('SchedStat of this thread counts up where Linux has it', { skip: process.platform !== 'linux' }, () => {
  const sched = new SchedStat();
  try {
    const first = sched.read();
    let spin = 0;
    for (let i = 0; i < 2e6; i++) spin += i;
    assert.ok(spin > 0);
    const second = sched.read();
    assert.ok(second.runNs > first.runNs, `the thread's CPU time grew (${first.runNs} -> ${second.runNs})`);
    assert.ok(second.waitNs >= first.waitNs);
  } finally {
    sched.close();
  }
});
