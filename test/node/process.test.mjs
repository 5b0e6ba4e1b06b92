// describeProcess: the name and run state of a role's holder, from the library (the same source as `sipc ls`):
// a child is running, stopped by SIGSTOP, running again after SIGCONT, and gone once it exited. Each state is
// waited for (bounded), never assumed after a delay. describeProcessAsync (what the extension uses: it reads /proc on
// a native thread) gives the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { command } from '../emulator.mjs';
import { api, scaled, waitUntil } from './helpers.mjs';

/** Polls `describe` (describeProcess or describeProcessAsync) until `state` (at most 10 s, scaled under emulation): the info then. */
async function until(pid, state, describe) {
  const deadline = Date.now() + scaled(10_000);
  for (;;) {
    const info = await describe(pid);
    if (info.state === state) return info;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not become ${state} (last: ${JSON.stringify(info)})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('describeProcess: this process runs under its own name; bad pids are refused', () => {
  const self = api.describeProcess(process.pid);
  assert.equal(self.state, 'running');
  assert.equal(self.pid, process.pid);
  assert.ok(self.name.length > 0 && self.name.length <= 63, self.name);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => api.describeProcess(bad), {
      name: 'SipcError', code: 'INVALID_ARGUMENT', message: new RegExp(`^describing process ${bad} failed: a pid is a whole number above 0`),
    }, String(bad));
  }
});

test('describeProcessAsync: the same description, made off the event loop; bad pids are rejected', async () => {
  const pending = api.describeProcessAsync(process.pid);
  assert.ok(pending instanceof Promise);
  const self = await pending;
  assert.deepEqual(self, api.describeProcess(process.pid));
  assert.equal(self.state, 'running');
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(api.describeProcessAsync(bad), {
      name: 'SipcError', code: 'INVALID_ARGUMENT', message: new RegExp(`^describing process ${bad} failed: a pid is a whole number above 0`),
    }, String(bad));
  }
});

for (const [label, describe] of [['describeProcess', (pid) => api.describeProcess(pid)], ['describeProcessAsync', (pid) => api.describeProcessAsync(pid)]]) {
  test(`${label}: running, stopped by SIGSTOP, running after SIGCONT, gone after exit`, { skip: process.platform === 'win32' }, async () => {
    const child = spawn(...command(process.execPath, ['-e', 'process.stdin.resume(); process.stdin.on("end", () => process.exit(0))']), { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = once(child, 'exit');
    try {
      const running = await until(child.pid, 'running', describe);
      assert.equal(running.traced, false);
      child.kill('SIGSTOP');
      const stopped = await until(child.pid, 'stopped', describe);
      assert.equal(stopped.name, running.name);
      child.kill('SIGCONT');
      await until(child.pid, 'running', describe);
    } finally {
      child.kill('SIGCONT');
      child.stdin.end();
    }
    await exited;
    assert.equal((await describe(child.pid)).state, 'gone');
  });
}

// strace stands in for a debugger: attached, it is the child's tracer (TracerPid); detached, the child is untraced again.
const strace = spawnSync('strace', ['-V']).status === 0;
test('describeProcess and describeProcessAsync report a process that a tracer (strace) is attached to as traced', {
  skip: (process.platform !== 'linux' || !strace) && 'needs Linux and strace (.ci/run installs it)',
  timeout: scaled(60_000),
}, async () => {
  const child = spawn(...command(process.execPath, ['-e', 'process.stdin.resume(); process.stdin.on("end", () => process.exit(0))']), { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = once(child, 'exit');
  let tracer;
  try {
    await until(child.pid, 'running', (pid) => api.describeProcessAsync(pid));
    tracer = spawn('strace', ['-q', '-o', '/dev/null', '-p', String(child.pid)], { stdio: 'ignore' });
    const tracerExited = once(tracer, 'exit');
    // Attaching stops the child for a moment (a tracing stop); then strace lets it run, traced.
    await waitUntil(() => { const info = api.describeProcess(child.pid); return info.traced && info.state === 'running'; }, 'strace attached');
    assert.equal((await api.describeProcessAsync(child.pid)).traced, true);
    tracer.kill('SIGTERM');
    await tracerExited;
    await waitUntil(async () => !(await api.describeProcessAsync(child.pid)).traced, 'strace detached');
    assert.equal(api.describeProcess(child.pid).traced, false);
  } finally {
    tracer?.kill('SIGKILL');
    child.stdin.end();
  }
  await exited;
});
