// `sipc bench --quick --json`: the report has every figure and target; timing targets themselves
// are judged by `npm run bench`, not here.
import { before, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertBinary, run } from './helpers.mjs';

before(assertBinary);

it('bench --quick --runs 1 --json writes a complete report', { timeout: 120000 }, async () => {
  const result = await run(['bench', '--quick', '--runs', '1', '--json'], { timeoutMs: 110000 });
  assert.equal(result.code, 0, result.stderr);
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
  assert.equal(report.idle.measured, true);
  assert.ok(report.idle.serverCpuMs >= 0 && report.idle.clientCpuMs >= 0);
  assert.deepEqual(report.targets.map((t) => t.measured), [true, true, true]);
  for (const t of report.targets) assert.equal(typeof t.pass, 'boolean');
});
