// The interoperability matrix: peers in C, C++ (sipc.hpp), Python (the ctypes package), Node (the Node API) and
// the `sipc` CLI, all on one libsipc.
//   - every pair (each language with each, itself included) exchanges COUNT random-size messages both ways at once,
//     checked byte for byte on arrival (the streams of test/interop/peers/stream.* are the same in every language);
//   - each language sees a peer of another language die by kill -9 (PEER_GONE);
//   - each language's observer follows the traffic of two other languages' peers, every byte checked.
// SIPC_INTEROP_COUNT overrides COUNT (10,000).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDebrisAtExit, runPrefix } from '../debris.mjs';
import { SIPC, run, waitFor, waitForChannel } from '../cli/helpers.mjs';
import { Stream } from './peers/stream.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const peers = resolve(root, 'test', 'interop', 'peers');
const build = resolve(root, 'helper', 'build', 'linux-x64');
const COUNT = Number(process.env.SIPC_INTEROP_COUNT ?? 10000);
const MAX = 65536;
const DEPTH = 16;
// Observed runs: a queue deeper than the run, so nothing is overwritten before the observer read it (missed = 0).
const OBSERVED_COUNT = 1000;
const OBSERVED_MAX = 8192;
const OBSERVED_DEPTH = 1024;
const LANGUAGES = ['c', 'cpp', 'python', 'node', 'cli'];
const TEST_TIMEOUT = 180000;

const PREFIX = runPrefix('ti');
checkDebrisAtExit(SIPC, PREFIX, 'test/interop');
const names = [];
let counter = 0;
function uniqueName(label) {
  const name = `${PREFIX}${label}-${counter++}`;
  names.push(name);
  return name;
}

const children = new Set();

/** Starts a process; stdout lines are collected; `line(marker)` waits for one; `done` for the exit. */
function startProcess(command, args, { env = {}, input, keepStdinOpen = false } = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  const stdout = [];
  let stderr = '';
  let text = '';
  child.stdout.on('data', (chunk) => { stdout.push(chunk); });
  child.stderr.on('data', (chunk) => { stderr += chunk.toString('utf8'); });
  child.stdin.on('error', () => {});
  if (input !== undefined) child.stdin.end(input);
  else if (!keepStdinOpen) child.stdin.end();
  const done = new Promise((resolveDone, rejectDone) => {
    child.on('error', rejectDone);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolveDone({ code, signal, stdout: Buffer.concat(stdout), stderr });
    });
  });
  let exited = null;
  done.then((result) => { exited = result; });
  const line = (marker) => waitFor(() => {
    text = Buffer.concat(stdout).toString('latin1');
    if (text.split('\n').includes(marker)) return true;
    if (exited) throw new Error(`${command} ended (${exited.code ?? exited.signal}) before '${marker}': ${text}${exited.stderr}`);
    return false;
  }, { timeoutMs: 60000, what: `'${marker}' from ${command}` });
  return { child, done, line, stdout: () => Buffer.concat(stdout), stderr: () => stderr };
}

/** A peer of `language` running the peers' common command line (see test/interop/peers/peer.c). */
function startPeer(language, args) {
  switch (language) {
    case 'c': return startProcess(resolve(build, 'interop', 'peer_c'), args);
    case 'cpp': return startProcess(resolve(build, 'interop', 'peer_cpp'), args);
    case 'python':
      return startProcess('python3', [resolve(peers, 'peer.py'), ...args],
        { env: { PYTHONPATH: resolve(root, 'helper', 'bindings', 'python') } });
    case 'node': return startProcess(process.execPath, [resolve(peers, 'peer.mjs'), ...args]);
    default: throw new Error(`no peer program for ${language}`);
  }
}

const hexLines = (buffer) => {
  const lines = buffer.toString('latin1').split('\n');
  lines.pop(); // after the last newline
  return lines;
};

/**
 * One side of an exchange. The CLI is `sipc connect`: it sends one message per stdin line (so its stream holds no
 * newline byte) and prints what it receives in hex, which is checked here.
 */
function startExchanger(language, name, { max, depth, count, sendSeed, recvSeed, sendNoNewline, recvNoNewline, linger }) {
  if (language !== 'cli') {
    return startPeer(language, ['exchange', name, max, depth, count, sendSeed, recvSeed, sendNoNewline, recvNoNewline].map(String));
  }
  const outgoing = new Stream(sendSeed, max, true);
  const lines = [];
  for (let i = 0; i < count; i++) lines.push(Buffer.from(outgoing.message()), Buffer.from('\n'));
  const process = startProcess(SIPC, ['connect', name, '--format', 'hex', '--linger', linger, '--timeout', '60000',
    '--max-size', String(max), '--depth', String(depth)], { input: Buffer.concat(lines) });
  const checked = process.done.then((result) => {
    if (result.code !== 0) return result;
    const expected = new Stream(recvSeed, max, recvNoNewline === 1);
    const received = hexLines(result.stdout);
    if (received.length !== count) return { ...result, code: 1, stdout: Buffer.from(`received ${received.length} of ${count}`) };
    for (let i = 0; i < count; i++) {
      if (received[i] !== expected.message().toString('hex')) {
        return { ...result, code: 1, stdout: Buffer.from(`mismatch at message ${i}`) };
      }
    }
    return { ...result, stdout: Buffer.from(`ok exchanged ${count} each way\n`) };
  });
  return { ...process, done: checked };
}

function describe(result) {
  return `exit ${result.code ?? result.signal}: ${result.stdout.toString('latin1').slice(0, 500)} ${result.stderr.slice(0, 500)}`;
}

/** Both peers must have exited 0 with their "ok" line; the channel must be gone. */
async function expectExchanged(name, ...sides) {
  for (const side of sides) {
    const result = await side.done;
    assert.equal(result.code, 0, describe(result));
    assert.match(result.stdout.toString('latin1'), /^ok exchanged/m, describe(result));
  }
  await expectGone(name);
}

async function expectGone(name) {
  const stat = await run(['stat', name]);
  assert.equal(stat.code, 12, `channel ${name} is still there: ${stat.stdout}`); // NOT_FOUND
}

before(() => {
  const make = spawnSync('make', ['-s', '-C', resolve(root, 'helper'), 'all', 'interop-peers'], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stdout + make.stderr);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const name of names) await run(['rm', '--force', name]);
});

const pairs = [];
for (let i = 0; i < LANGUAGES.length; i++) {
  for (let j = i; j < LANGUAGES.length; j++) pairs.push([LANGUAGES[i], LANGUAGES[j]]);
}

for (const [index, [server, client]] of pairs.entries()) {
  test(`${server} (server) <-> ${client} (client): ${COUNT} random-size messages both ways, byte-exact`, { timeout: TEST_TIMEOUT }, async () => {
    const name = uniqueName(`${server}-${client}`);
    const serverSeed = 1000 + 2 * index;
    const clientSeed = serverSeed + 1;
    const serverNoNewline = server === 'cli' ? 1 : 0;
    const clientNoNewline = client === 'cli' ? 1 : 0;
    // Two CLIs: each stops lingering after 5 s of silence once its input is delivered (neither leaves first).
    const linger = server === 'cli' && client === 'cli' ? '5000' : 'inf';
    const common = { max: MAX, depth: DEPTH, count: COUNT, linger };
    const first = startExchanger(server, name, { ...common, sendSeed: serverSeed, recvSeed: clientSeed, sendNoNewline: serverNoNewline, recvNoNewline: clientNoNewline });
    await waitForChannel(name, (info) => info.state === 'waiting', 60000);
    const second = startExchanger(client, name, { ...common, sendSeed: clientSeed, recvSeed: serverSeed, sendNoNewline: clientNoNewline, recvNoNewline: serverNoNewline });
    await expectExchanged(name, first, second);
  });
}

/** A peer that connects and then waits for the other side to go (the CLI: `sipc connect` with stdin open). */
function startWaiter(language, name) {
  if (language === 'cli') return startProcess(SIPC, ['connect', name, '--timeout', '60000'], { keepStdinOpen: true });
  return startPeer(language, ['wait-gone', name]);
}

for (const [index, watcher] of LANGUAGES.entries()) {
  const victim = LANGUAGES[(index + 1) % LANGUAGES.length];
  test(`${watcher} sees its ${victim} peer die by kill -9`, { timeout: TEST_TIMEOUT }, async () => {
    const name = uniqueName(`kill-${watcher}-${victim}`);
    const watching = startWaiter(watcher, name);
    await waitForChannel(name, (info) => info.state === 'waiting', 60000);
    const dying = startWaiter(victim, name);
    await waitForChannel(name, (info) => info.state === 'connected' && info.clientAlive, 60000);
    if (watcher !== 'cli') await watching.line('connected');
    if (victim !== 'cli') await dying.line('connected');
    dying.child.kill('SIGKILL');
    assert.equal((await dying.done).signal, 'SIGKILL');
    const result = await watching.done;
    assert.equal(result.code, 0, describe(result));
    if (watcher !== 'cli') assert.match(result.stdout.toString('latin1'), /^PEER_GONE$/m, describe(result));
    await expectGone(name);
  });
}

/** An observer of `language`; resolves like a peer: exit 0 with "ok observed SEEN missed MISSED". */
function startObserver(language, name, { count, serverSeed, clientSeed, serverNoNewline, clientNoNewline }) {
  if (language !== 'cli') {
    const observer = startPeer(language, ['observe', name, count, serverSeed, clientSeed, serverNoNewline, clientNoNewline].map(String));
    return { done: observer.done, ready: () => observer.line('watching') };
  }
  // sipc tap --json: one object per message; checked here, stopped once everything was seen or counted missed.
  const tap = startProcess(SIPC, ['tap', name, '--json', '--timeout', '60000']);
  const streams = { 'server->client': new Stream(serverSeed, OBSERVED_MAX, serverNoNewline === 1),
    'client->server': new Stream(clientSeed, OBSERVED_MAX, clientNoNewline === 1) };
  const nextIndex = { 'server->client': 0, 'client->server': 0 };
  let seen = 0;
  let missed = 0;
  let parsed = 0;
  let failure = null;
  const follow = waitFor(() => {
    const lines = hexLines(tap.stdout());
    for (; parsed < lines.length && failure === null; parsed++) {
      const m = JSON.parse(lines[parsed]);
      let want = Buffer.alloc(0);
      while (nextIndex[m.dir] <= m.seq) { want = streams[m.dir].message(); nextIndex[m.dir]++; }
      const data = m.hex !== undefined ? Buffer.from(m.hex, 'hex') : Buffer.from(m.text, 'utf8');
      if (m.length !== want.length || !data.equals(want)) failure = `observed message ${m.dir}/${m.seq} differs`;
      seen++;
      missed += m.missed;
    }
    return failure !== null || seen + missed >= 2 * count;
  }, { timeoutMs: 120000, intervalMs: 50, what: 'the CLI tap to see every message' });
  const done = follow.then(async () => {
    tap.child.kill('SIGTERM');
    const result = await tap.done;
    return { ...result, code: failure ? 1 : 0, stdout: Buffer.from(failure ?? `ok observed ${seen} missed ${missed}\n`) };
  });
  return { done, ready: () => waitFor(() => tap.stderr().includes('watching'), { timeoutMs: 60000, what: 'tap to start' }) };
}

for (const [index, language] of LANGUAGES.entries()) {
  const server = LANGUAGES[(index + 1) % LANGUAGES.length];
  const client = LANGUAGES[(index + 2) % LANGUAGES.length];
  test(`${language} observer follows ${server} <-> ${client} traffic, every byte`, { timeout: TEST_TIMEOUT }, async () => {
    const name = uniqueName(`observe-${language}`);
    const serverSeed = 5000 + 2 * index;
    const clientSeed = serverSeed + 1;
    const serverNoNewline = server === 'cli' ? 1 : 0;
    const clientNoNewline = client === 'cli' ? 1 : 0;
    const common = { max: OBSERVED_MAX, depth: OBSERVED_DEPTH, count: OBSERVED_COUNT, linger: 'inf' };
    const first = startExchanger(server, name, { ...common, sendSeed: serverSeed, recvSeed: clientSeed, sendNoNewline: serverNoNewline, recvNoNewline: clientNoNewline });
    await waitForChannel(name, (info) => info.state === 'waiting', 60000);
    const observer = startObserver(language, name, { count: OBSERVED_COUNT, serverSeed, clientSeed, serverNoNewline, clientNoNewline });
    await observer.ready();
    const second = startExchanger(client, name, { ...common, sendSeed: clientSeed, recvSeed: serverSeed, sendNoNewline: clientNoNewline, recvNoNewline: serverNoNewline });
    const watched = await observer.done;
    assert.equal(watched.code, 0, describe(watched));
    // The queue is deeper than the run: no slot is reused, so the observer misses nothing.
    assert.match(watched.stdout.toString('latin1'), new RegExp(`^ok observed ${2 * OBSERVED_COUNT} missed 0$`, 'm'), describe(watched));
    await expectExchanged(name, first, second);
  });
}
