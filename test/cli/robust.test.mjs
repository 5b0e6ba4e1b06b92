// What a hostile or careless local user can do to sipc's names, seen from the CLI: nothing by name may hang.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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

// Writes a channel's open-time lock word as a live process with write access would: the header's lock word
// (offset 56, PROTOCOL.md section 2 and 5) set to `pid` << 32 | that process's start time folded to 32 bits.
// A real holder has the segment mapped: naming a process that has (a peer) holds the lock; naming one that has
// not (this test process, which only writes the file) is a forgery the library sees through.
const LOCK_WORD_OFFSET = 56;
function holdLockWord(path, pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const startTime = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const folded = (startTime ^ (startTime >> 32n)) & 0xffffffffn;
  const word = Buffer.alloc(8);
  word.writeBigUInt64LE((BigInt(pid) << 32n) | folded);
  const fd = openSync(path, 'r+');
  writeSync(fd, word, 0, 8, LOCK_WORD_OFFSET);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      writeSync(fd, Buffer.alloc(8), 0, 8, LOCK_WORD_OFFSET);
      closeSync(fd);
    },
  };
}

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
    // A corrupt segment too: the text lists every entry --json lists, unusable ones marked with their code.
    const corrupt = shortName();
    writeFileSync(pathOf(corrupt), 'not a sipc segment, only some bytes');
    const [text, lines] = await Promise.all([run(['ls']), run(['ls', '--json'])]);
    const jsonEntries = lines.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const textNames = text.stdout.toString('utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split(' ')[0]);
    for (const mine of [name, corrupt]) {
      const listed = jsonEntries.find((e) => e.name === mine);
      assert.ok(listed?.error, `ls --json lists ${mine} with its error`);
      assert.ok(textNames.includes(mine), `ls lists ${mine} as --json does`);
      assert.match(text.stdout.toString('utf8'), new RegExp(`^${mine} +unusable .*\\(${listed.error}\\)`, 'm'));
    }
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

  it('a reader holding flock on a segment blocks nobody: rm goes through at once (the lock is a word in the header)', T, async () => {
    const name = shortName();
    const server = start(['recv', name, '--timeout', '30000']);
    await waitForChannel(name);
    // flock(1) opens the object read-only (read access was enough to hold version 1's lock), takes a shared lock,
    // which conflicted with the exclusive one version 1 needed, and only then runs the command that says so.
    // Its own process group, so that the sleep it forks goes too (else its open stdout keeps this file's run alive).
    const holder = spawn('flock', ['--shared', pathOf(name), 'sh', '-c', 'echo locked; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'], detached: true,
    });
    try {
      await new Promise((resolve, reject) => {
        holder.stdout.on('data', (chunk) => { if (chunk.toString().includes('locked')) resolve(); });
        holder.on('exit', (code) => reject(new Error(`flock exited with ${code}`)));
      });
      const removed = await run(['rm', '--force', '--timeout', '0', name], { timeoutMs: 20000 });
      assert.equal(removed.code, 0, removed.stderr);
      assert.ok(!existsSync(pathOf(name)));
    } finally {
      process.kill(-holder.pid, 'SIGKILL');
      server.child.kill('SIGTERM');
      await server.done;
    }
  });

  it('every by-name call waits for a live lock holder as long as its --timeout says, not 5 s', { timeout: 90000 }, async () => {
    const name = shortName();
    const server = start(['recv', name, '--count', '1', '--timeout', '60000']);
    await waitForChannel(name);
    const lock = holdLockWord(pathOf(name), server.child.pid); // the server maps the segment
    try {
      const removed = await run(['rm', '--timeout', '200', name], { timeoutMs: 20000 });
      assert.equal(removed.code, 3, removed.stderr);
      assert.match(removed.stderr, /TIMEOUT/);
      const refused = await run(['send', name, 'early', '--timeout', '200'], { timeoutMs: 20000 });
      assert.equal(refused.code, 3, refused.stderr);
      // Held for longer than the library's 5 s default: a send with a longer --timeout outlasts it.
      const sent = start(['send', name, 'late', '--timeout', '60000']);
      const released = new Promise((resolve) => setTimeout(() => { lock.release(); resolve(); }, 6500));
      const result = await sent.done;
      await released;
      assert.equal(result.code, 0, result.stderr);
      const received = await server.done;
      assert.equal(received.code, 0, received.stderr);
      assert.equal(received.stdout.toString('utf8'), 'late\n');
    } finally {
      lock.release();
      server.child.kill('SIGTERM');
      await server.done;
    }
  });

  it('a lock word naming a live process that does not map the segment is forged: rm takes the lock at once', T, async () => {
    const name = shortName();
    const server = start(['recv', name, '--timeout', '30000']);
    await waitForChannel(name);
    const lock = holdLockWord(pathOf(name), process.pid); // alive, right start time, no mapping of it
    try {
      const removed = await run(['rm', '--force', '--timeout', '0', name], { timeoutMs: 20000 });
      assert.equal(removed.code, 0, removed.stderr);
      assert.ok(!existsSync(pathOf(name)));
    } finally {
      lock.release();
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

  it('rm --stale removes a channel whose creator died before initialising it, never one being created', T, async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root for a private /dev/shm (unshare -m)');
      return;
    }
    // Inside the private /dev/shm, a Node process leaves three half-made objects as creators do before the
    // magic (header sized, the channel's name written, PROTOCOL.md section 5): one whose lock word names a
    // process that is gone, one whose word names a live process that has it mapped (a creator at work: a
    // Python mmap), one whose word is still 0 (a creator on its way to the word). Then it runs the CLI.
    const inside = `
      import { openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
      import { spawn, spawnSync } from 'node:child_process';
      const word = (pid, folded) => (BigInt(pid) << 32n) | BigInt(folded);
      function halfMade(name, lockWord) {
        const header = Buffer.alloc(1024);
        header.writeUInt32LE(name.length, 36);
        header.write(name, 64, 'latin1');
        header.writeBigUInt64LE(lockWord, 56);
        writeFileSync('/dev/shm/sipc.' + name, header, { mode: 0o600 });
      }
      halfMade('dead', word(spawnSync('true').pid, 1)); // exited and reaped: gone
      halfMade('creating', 0n);
      const creator = spawn('python3', ['-c', 'import mmap, os, sys; m = mmap.mmap(os.open(sys.argv[1], os.O_RDWR), 1024); print("mapped", flush=True); sys.stdin.read()', '/dev/shm/sipc.creating'], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise((resolve) => creator.stdout.on('data', resolve));
      const stat = readFileSync('/proc/' + creator.pid + '/stat', 'utf8');
      const startTime = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      const lockWord = Buffer.alloc(8);
      lockWord.writeBigUInt64LE(word(creator.pid, (startTime ^ (startTime >> 32n)) & 0xffffffffn));
      writeSync(openSync('/dev/shm/sipc.creating', 'r+'), lockWord, 0, 8, 56);
      halfMade('unlocked', 0n);
      const sipc = (...args) => spawnSync(process.env.SIPC, args, { encoding: 'utf8' });
      const states = Object.fromEntries(['dead', 'creating', 'unlocked'].map((n) => [n, JSON.parse(sipc('stat', n, '--json').stdout).state]));
      const removed = sipc('rm', '--stale');
      const refused = sipc('rm', 'unlocked'); // by name, without --force: BUSY, saying why
      creator.stdin.end();
      console.log(JSON.stringify({ states, removed: removed.stdout, code: removed.status, left: readdirSync('/dev/shm').sort(),
        refused: { code: refused.status, stderr: refused.stderr } }));
    `;
    const script = `mount --make-rprivate / && mount -t tmpfs -o size=16m sipc-test /dev/shm || exit 77
      exec "$NODE" --input-type=module -e "$INSIDE"`;
    const result = spawnSync('unshare', ['-m', 'sh', '-c', script], {
      env: { ...process.env, SIPC, NODE: process.execPath, INSIDE: inside },
      encoding: 'utf8',
      timeout: 30000,
    });
    if (result.status === 77) {
      t.skip(`cannot mount a private tmpfs here: ${result.stderr.trim()}`);
      return;
    }
    assert.equal(result.status, 0, result.stderr);
    const outcome = JSON.parse(result.stdout);
    assert.deepEqual(outcome.states, { dead: 'stale', creating: 'empty', unlocked: 'empty' });
    assert.equal(outcome.removed, 'removed dead\n');
    assert.equal(outcome.code, 0);
    assert.deepEqual(outcome.left, ['sipc.creating', 'sipc.unlocked']);
    assert.equal(outcome.refused.code, 5);
    assert.match(outcome.refused.stderr, /^sipc: rm unlocked: sipc\.unlocked is being created .*; use --force \(BUSY\)\n$/);
  });
});
