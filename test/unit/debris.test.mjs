// test/debris.mjs: a killed test run cannot clean up after itself, so the next run of the same suite removes what it
// left, and the peers a suite starts end with it (Linux: setpriv --pdeathsig).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDebrisAtExit, dieWithParent, leftoversWithPrefix, runPrefix, sweepDeadTempParents, sweepKilledRuns, testTempDir, testTempParent } from '../debris.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'helper/build', `${process.platform}-${process.arch}`, 'sipc');
const linux = process.platform === 'linux';
const prefix = runPrefix('t-debris');
checkDebrisAtExit(cli, prefix, 'test/unit debris');

/** Starts `node -e source` (told the CLI's path and a run prefix of its own), waits for its first line. */
function startRun(source) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SIPC_CLI_PATH: cli },
  });
  const firstLine = new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('close', (code) => reject(new Error(`the run ended (${code}) before it was ready: ${err}`)));
  });
  const closed = new Promise((resolve) => child.on('close', resolve));
  return { child, firstLine, closed };
}

/** A run of the suite `tag` (startRun) that opens the channel `${runPrefix(tag)}${label}`, says its name and stays. */
function startChannelRun(tag, label) {
  return startRun(`
    import { runPrefix } from './test/debris.mjs';
    const api = (await import('node:module')).createRequire(import.meta.url)('./dist/api.js');
    const ch = await api.open(runPrefix(${JSON.stringify(tag)}) + ${JSON.stringify(label)});
    console.log(ch.name);
    setInterval(() => {}, 1000);`);
}

async function waitFor(check, what, ms = 15000) {
  const stop = Date.now() + ms;
  while (!check()) {
    if (Date.now() > stop) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('the next run of a suite removes the channels a killed run of it left, and nothing of live runs', { skip: !linux && 'Linux /dev/shm' }, async () => {
  // A "run" of the suite tag t-debris-killed that opens a channel in its own process and is killed with SIGKILL, and
  // a live run of the same tag, whose channel is not another run's debris.
  const killed = startChannelRun('t-debris-killed', 'own');
  const killedName = await killed.firstLine;
  const live = startChannelRun('t-debris-killed', 'live');
  const liveName = await live.firstLine;
  try {
    killed.child.kill('SIGKILL');
    await killed.closed;
    const names = () => leftoversWithPrefix(cli, 't-debris-killed-').channels;
    assert.ok(names().includes(killedName), 'a SIGKILLed run leaves its channel');
    sweepKilledRuns(cli, 't-debris-killed', 'test/unit debris');
    assert.ok(!names().includes(killedName), 'removed by the next run');
    assert.ok(names().includes(liveName), "a live run's channel is left alone");
  } finally {
    live.child.kill('SIGKILL');
    await live.closed;
    sweepKilledRuns(cli, 't-debris-killed', 'test/unit debris');
  }
});

test('the sweep removes a directory and a FIFO a killed run left, and a second sweep finds nothing', { skip: !linux && 'Linux /dev/shm' }, () => {
  // Hostile-entry tests make such entries; a sweep that threw on one (EISDIR) failed every test file after it.
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  const base = `/dev/shm/sipc.t-debris-odd-${gone}-x-`;
  mkdirSync(`${base}dir`);
  writeFileSync(`${base}dir/inside`, 'x');
  assert.equal(spawnSync('mkfifo', [`${base}fifo`]).status, 0);
  try {
    sweepKilledRuns(cli, 't-debris-odd', 'test/unit debris');
    assert.ok(!existsSync(`${base}dir`), 'the directory is removed');
    assert.ok(!existsSync(`${base}fifo`), 'the FIFO is removed');
  } finally {
    rmSync(`${base}dir`, { recursive: true, force: true });
    rmSync(`${base}fifo`, { force: true });
  }
});

test("a peer started with dieWithParent ends when the test process that started it is killed, and removes its channel", { skip: !linux && 'setpriv --pdeathsig is Linux' }, async () => {
  const name = `${prefix}peer`;
  // The "test process" starts `sipc recv` through dieWithParent, says its pid, and is killed with SIGKILL.
  const run = startRun(`
    import { spawn } from 'node:child_process';
    import { dieWithParent } from './test/debris.mjs';
    const peer = spawn(...dieWithParent([process.env.SIPC_CLI_PATH, ['recv', ${JSON.stringify(name)}]]), { stdio: 'ignore' });
    console.log(peer.pid);
    setInterval(() => {}, 1000);`);
  const peerPid = Number(await run.firstLine);
  const alive = () => { try { process.kill(peerPid, 0); return true; } catch { return false; } };
  // Listed by name: a name this long is stored under a hashed key.
  const listed = () => leftoversWithPrefix(cli, name).channels.includes(name);
  try {
    await waitFor(() => listed() || !alive(), 'the peer created its channel');
    assert.ok(alive(), 'the peer runs while its parent does');
    run.child.kill('SIGKILL');
    await run.closed;
    await waitFor(() => !alive(), 'the orphaned peer ended');
    await waitFor(() => !listed(), 'its channel is gone');
  } finally {
    run.child.kill('SIGKILL');
    if (alive()) process.kill(peerPid, 'SIGKILL');
    spawnSync(cli, ['rm', '--force', '--', name], { stdio: 'ignore' });
  }
});

test("a killed test process's temporary folder is removed by the next one; a live process's, and its own, stay", async () => {
  // A "test process" that makes a temporary folder, says where, and stays (or is killed).
  const source = `
    import { writeFileSync } from 'node:fs';
    import { join } from 'node:path';
    import { testTempDir } from './test/debris.mjs';
    const dir = testTempDir('left');
    writeFileSync(join(dir, 'file'), 'x');
    console.log(dir);
    setInterval(() => {}, 1000);`;
  const killed = startRun(source);
  const killedDir = await killed.firstLine;
  const live = startRun(source);
  const liveDir = await live.firstLine;
  const own = testTempDir('own');
  try {
    killed.child.kill('SIGKILL');
    await killed.closed;
    assert.ok(existsSync(join(killedDir, 'file')), 'a SIGKILLed process cannot remove its folder');
    sweepDeadTempParents('test/unit debris');
    assert.ok(!existsSync(dirname(killedDir)), "the killed process's parent folder is gone");
    assert.ok(existsSync(join(liveDir, 'file')), "a live process's folder is left alone");
    assert.ok(existsSync(own), "this process's own folder stays");
    assert.equal(dirname(own), testTempParent());
  } finally {
    live.child.kill('SIGKILL');
    await live.closed;
    sweepDeadTempParents('test/unit debris');
  }
  assert.ok(!existsSync(dirname(liveDir)), 'swept once its process is gone too');
});

test('a temporary parent whose owner pid was taken by another process is swept; one still being made is not', { skip: !linux && 'start times from /proc' }, () => {
  // This process's pid with another start time: what the owner file of a dead process shows once its pid is reused.
  const parent = join(dirname(testTempParent()), `sipc-test-${process.pid}-reused`);
  mkdirSync(parent);
  const [pid, started] = readFileSync(join(testTempParent(), 'owner'), 'utf8').trim().split(' ');
  assert.equal(Number(pid), process.pid);
  writeFileSync(join(parent, 'owner'), `${pid} ${Number(started) + 1}\n`);
  // No owner file yet (its process is between mkdtemp and writing it): judged by the pid in the name, alive here.
  const unwritten = join(dirname(testTempParent()), `sipc-test-${process.pid}-unwritten`);
  mkdirSync(unwritten);
  try {
    sweepDeadTempParents('test/unit debris');
    assert.ok(!existsSync(parent), 'a reused pid does not keep the folder');
    assert.ok(existsSync(unwritten), 'a folder whose live process has not written its owner file yet stays');
    assert.ok(existsSync(testTempParent()));
  } finally {
    rmSync(parent, { recursive: true, force: true });
    rmSync(unwritten, { recursive: true, force: true });
  }
});
