// What a hostile or careless local user can do to sipc's names, seen from the CLI: nothing by name may hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { assertBinary, cleanup, run, start, waitForChannel } from './helpers.mjs';

const T = { timeout: 60000 };
// A name that stays a plain key (sipc.<name>), so the test can put things at /dev/shm/sipc.<name> itself.
let counter = 0;
const made = new Set();
function shortName() {
  const name = `rb${process.pid}x${counter++}`;
  made.add(name);
  return name;
}
const pathOf = (name) => `/dev/shm/sipc.${name}`;

describe('sipc by name never hangs', () => {
  before(assertBinary);
  after(async () => {
    for (const name of made) rmSync(pathOf(name), { force: true, recursive: true });
    await cleanup();
  });

  it('a FIFO under a channel name: ls marks it, stat/tap/send/rm answer NOT_A_CHANNEL (exit 20) at once', T, async () => {
    const name = shortName();
    assert.equal(spawnSync('mkfifo', [pathOf(name)]).status, 0);
    const listed = await run(['ls'], { timeoutMs: 10000 });
    assert.equal(listed.code, 0, listed.stderr);
    const line = listed.stdout.toString('utf8').split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, 'ls lists the FIFO');
    assert.match(line, /unusable .*NOT_A_CHANNEL.*FIFO/);
    const json = await run(['ls', '--json'], { timeoutMs: 10000 });
    const entry = json.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.name === name);
    assert.equal(entry?.error, 'NOT_A_CHANNEL');
    for (const args of [['stat', name], ['tap', name], ['send', name, 'hi', '--timeout', '100'], ['rm', name]]) {
      const result = await run(args, { timeoutMs: 10000 });
      assert.equal(result.code, 20, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /is a FIFO, not a sipc segment/);
    }
    assert.ok(existsSync(pathOf(name)), 'rm without --force leaves what it does not own');
    const forced = await run(['rm', '--force', name], { timeoutMs: 10000 });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(!existsSync(pathOf(name)));
  });

  it('a stranger holding the lock costs rm its timeout (TIMEOUT, exit 3), not a hang; stat and ls do not wait', T, async () => {
    const name = shortName();
    const server = start(['recv', name, '--timeout', '30000']);
    await waitForChannel(name);
    // flock(1) opens the object read-only (read access is enough to hold the lock), takes a shared lock, which
    // conflicts with the exclusive one sipc needs, and only then runs the command that says so.
    const holder = spawn('flock', ['--shared', pathOf(name), 'sh', '-c', 'echo locked; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise((resolve, reject) => {
        holder.stdout.on('data', (chunk) => { if (chunk.toString().includes('locked')) resolve(); });
        holder.on('exit', (code) => reject(new Error(`flock exited with ${code}`)));
      });
      const stat = await run(['stat', name], { timeoutMs: 10000 });
      assert.equal(stat.code, 0, stat.stderr);
      const listed = await run(['ls'], { timeoutMs: 10000 });
      assert.match(listed.stdout.toString('utf8'), new RegExp(`^${name} +waiting`, 'm'));
      const removed = await run(['rm', '--force', name], { timeoutMs: 20000 });
      assert.equal(removed.code, 3, removed.stderr);
      assert.match(removed.stderr, /TIMEOUT/);
    } finally {
      holder.kill('SIGKILL');
      server.child.kill('SIGTERM');
      await server.done;
    }
  });
});
