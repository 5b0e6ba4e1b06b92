// What a hostile or careless local user can do to sipc's names, seen from the CLI: nothing by name may hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { SIPC, assertBinary, cleanup, run, start, waitForChannel } from './helpers.mjs';

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

  it('rm takes any number of names, and -- ends the options (names may start with -)', T, async () => {
    const names = Array.from({ length: 70 }, (_, i) => `rb${process.pid}-missing-${i}`);
    const result = await run(['rm', ...names], { timeoutMs: 20000 });
    assert.equal(result.code, 12, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 70);
    const dashed = await run(['rm', '--', `-rb${process.pid}`], { timeoutMs: 10000 });
    assert.equal(dashed.code, 12, dashed.stderr);
    assert.match(dashed.stderr, /NOT_FOUND/);
  });

  it('rm --stale removes the channels nobody alive holds, --older-than spares recent ones', T, async (t) => {
    // In a private /dev/shm (a mount namespace of its own), so that other people's stale channels are safe.
    if (process.getuid?.() !== 0) {
      t.skip('needs root for a private /dev/shm (unshare -m)');
      return;
    }
    const script = `
      mount --make-rprivate / && mount -t tmpfs -o size=16m sipc-test /dev/shm || exit 77
      "$SIPC" recv old --timeout 60000 >/dev/null & victim=$!
      "$SIPC" recv live --timeout 60000 >/dev/null & alive=$!
      # Until both hold the server role: a segment that exists before its creator took the role is not stale yet.
      until "$SIPC" stat old --json 2>/dev/null | grep -q '"state":"waiting"' &&
            "$SIPC" stat live --json 2>/dev/null | grep -q '"state":"waiting"'; do sleep 0.02; done
      kill -9 $victim; wait $victim
      echo "== older"; "$SIPC" rm --stale --older-than 1d; echo "rc=$?"
      echo "== stale"; "$SIPC" rm --stale; echo "rc=$?"
      echo "== left"; ls /dev/shm
      kill $alive; wait $alive; exit 0
    `;
    const result = spawnSync('unshare', ['-m', 'sh', '-c', script], { env: { ...process.env, SIPC }, encoding: 'utf8', timeout: 30000 });
    if (result.status === 77) {
      t.skip(`cannot mount a private tmpfs here: ${result.stderr.trim()}`);
      return;
    }
    assert.equal(result.status, 0, result.stderr);
    const [, older, stale, left] = result.stdout.split(/== \w+\n/);
    assert.equal(older.trim(), 'rc=0', 'a channel created just now is not older than a day');
    assert.equal(stale.trim(), 'removed old\nrc=0');
    assert.equal(left.trim(), 'sipc.live');
  });
});
