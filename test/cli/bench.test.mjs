// `sipc bench --quick --json`: the report has every figure and target; timing targets themselves
// are judged by `npm run bench`, not here.
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { leftoversWithPrefix } from '../debris.mjs';
import { SIPC, assertBinary, start } from './helpers.mjs';

before(assertBinary);

it('bench --quick --runs 1 --sessions 1 --json writes a complete report', { timeout: 180000 }, async () => {
  const bench = start(['bench', '--quick', '--runs', '1', '--sessions', '1', '--json'], { timeoutMs: 170000 });
  const result = await bench.done;
  assert.equal(result.code, 0, result.stderr);
  // The bench names its channels sipc-bench-<its pid>-N and removes them itself.
  assert.deepEqual(leftoversWithPrefix(SIPC, `sipc-bench-${bench.child.pid}-`), { channels: [], objects: [] });
  const report = JSON.parse(result.stdout.toString());
  assert.equal(report.runs, 1);
  assert.equal(report.quick, true);
  assert.ok(report.memcpyGBps > 0);
  for (const transport of ['sipc', 'pipe', 'unix']) {
    for (const size of [64, 4096, 65536, 1048576]) {
      const row = report.rtt.find((r) => r.transport === transport && r.size === size && r.affinity === 'unpinned');
      assert.ok(row, `rtt ${transport} ${size} missing`);
      assert.ok(row.medianUs > 0 && row.p99Us >= row.medianUs, `rtt ${transport} ${size}: ${JSON.stringify(row)}`);
    }
    for (const size of [65536, 1048576]) {
      const row = report.throughput.find((r) => r.transport === transport && r.size === size && r.affinity === 'unpinned');
      assert.ok(row && row.GBps > 0, `throughput ${transport} ${size} missing`);
    }
  }
  // Sessions from fresh processes: every kind of traffic, for every transport, with the distribution per session.
  const traffic = [['request-reply', 100], ['request-reply', 1000], ['request-reply', 10000], ['stream', 10000], ['think', 1000]];
  for (const transport of ['sipc', 'pipe', 'unix']) {
    for (const [kind, trips] of traffic) {
      const row = report.sessions.find((r) => r.transport === transport && r.traffic === kind && r.trips === trips && r.affinity === 'unpinned');
      assert.ok(row, `session ${transport} ${kind} ${trips} missing`);
      assert.equal(row.medianUs.length, 1);
      assert.ok(row.medianUs[0] > 0 && row.p90Us[0] >= row.medianUs[0], JSON.stringify(row));
      if (transport === 'sipc') assert.ok(row.sleepsPerTrip[0] >= 0, JSON.stringify(row));
      else assert.equal(row.sleepsPerTrip, undefined);
    }
  }
  const thinkTimes = new Set(report.sessions.filter((r) => r.traffic === 'think').map((r) => r.param));
  assert.deepEqual([...thinkTimes].sort((a, b) => a - b), [10, 30, 100]);
  assert.equal(report.idle.measured, true);
  assert.equal(report.idle.seconds, 0.5, 'the quick idle spell lasts 0.5 s');
  // CPU used during the idle spell only: a figure counting the busy benchmark before it would exceed the
  // spell's own wall time.
  for (const cpuMs of [report.idle.serverCpuMs, report.idle.clientCpuMs]) {
    assert.ok(Number.isFinite(cpuMs) && cpuMs >= 0 && cpuMs < report.idle.seconds * 1000, `idle CPU ${cpuMs} ms`);
  }
  assert.equal(report.targets.length, 6);
  assert.deepEqual(report.targets.slice(0, 3).map((t) => t.measured), [true, true, true]);
  assert.equal(report.targets[2].value, Math.max(report.idle.serverCpuMs, report.idle.clientCpuMs));
  for (const t of report.targets) assert.equal(typeof t.pass, 'boolean');
});
