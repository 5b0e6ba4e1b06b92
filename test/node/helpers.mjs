// Helpers for the Node API tests: real peers only (the `sipc` CLI or a second Node process running the API).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { checkDebrisAtExit, dieWithParent, runPrefix } from '../debris.mjs';
import { command, scaled } from '../emulator.mjs';

export { scaled };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const API_PATH = resolve(repoRoot, 'dist', 'api.js');
export const SIPC = process.env.SIPC_CLI ?? resolve(repoRoot, 'helper', 'build', 'linux-x64', 'sipc');

if (!existsSync(API_PATH)) throw new Error(`${API_PATH} is missing: run 'node esbuild.mjs' first`);
if (!existsSync(SIPC)) throw new Error(`sipc CLI not found at ${SIPC}: run 'make -C helper' or set SIPC_CLI`);

/** @type {typeof import('../../extension/src/api/index')} */
export const api = createRequire(import.meta.url)(API_PATH);

/** Every channel of this test process starts with it (names derived in child processes too). */
export const NAME_PREFIX = runPrefix('tn');
checkDebrisAtExit(SIPC, NAME_PREFIX, 'test/node');

let counter = 0;
const names = new Set();
const children = new Set();
const handles = new Set();

/** A channel name no other test or run uses; names derived from it (`${name}-1`) keep the run's prefix. */
export function uniqueName(label) {
  const name = `${NAME_PREFIX}${label}-${counter++}`;
  names.add(name);
  return name;
}

/**
 * Where a channel's segment lives on Linux (helper/src/segment.c sipc_key_for_name): `sipc.<name>` while that is at
 * most 30 bytes, else `sipc.#` and the name's FNV-1a 64 hash in hex. Tests that put things there themselves use it.
 */
export function segmentPath(name) {
  if (`sipc.${name}`.length <= 30) return `/dev/shm/sipc.${name}`;
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(name)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return `/dev/shm/sipc.#${hash.toString(16).padStart(16, '0')}`;
}

/**
 * The first 1024 bytes of a channel's segment on Linux (the header, through the rings' counters and the observer
 * records: helper/src/layout.h, PROTOCOL.md section 2), read as any process that maps it sees them: for tests that
 * wait for a state only the segment shows (a thread asleep in a wait, a message published).
 */
export function segmentHeader(name) {
  const fd = openSync(segmentPath(name), 'r');
  try {
    const header = Buffer.alloc(1024);
    readSync(fd, header, 0, header.length, 0);
    return header;
  } finally {
    closeSync(fd);
  }
}

/** Names derived from a uniqueName() (opened by a child process, say), so cleanup() removes them too. */
export function derivedNames(base, suffixes) {
  const derived = suffixes.map((suffix) => `${base}-${suffix}`);
  for (const name of derived) names.add(name);
  return derived;
}

/** open() that is closed again by cleanup(). */
export async function openTracked(name, options) {
  const channel = await api.open(name, options);
  handles.add(channel);
  return channel;
}

/** observe() that is closed again by cleanup(). */
export async function observeTracked(name, options) {
  const observer = await api.observe(name, options);
  handles.add(observer);
  return observer;
}

function track(child, timeoutMs) {
  children.add(child);
  const stdout = [];
  let stdoutText = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout.push(chunk); stdoutText += chunk.toString('utf8'); });
  child.stderr.on('data', (chunk) => { stderr += chunk.toString('utf8'); });
  child.stdin?.on('error', () => {});
  // Without an explicit limit a peer lives as long as its test: cleanup() (afterEach) kills it, so a peer never
  // dies on a timer of its own while the test still counts on it.
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise((resolveDone, rejectDone) => {
    child.on('error', rejectDone);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolveDone({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr });
    });
  });
  // Where the line of the previous waitFor's marker ended: each waitFor looks from there, through what the child
  // printed before it was called too (a child can print its marker before the test listens), so markers come in order.
  let matchedUpTo = 0;
  /**
   * Resolves with the child's stdout after the previous marker's line through the end of the line that holds the
   * next `marker` (printed already or later).
   */
  const waitFor = (marker) => new Promise((resolveLine, rejectLine) => {
    const found = () => {
      const at = stdoutText.indexOf(marker, matchedUpTo);
      if (at < 0) return false;
      const lineEnd = stdoutText.indexOf('\n', at + marker.length);
      const end = lineEnd < 0 ? stdoutText.length : lineEnd + 1;
      const seen = stdoutText.slice(matchedUpTo, end);
      matchedUpTo = end;
      resolveLine(seen);
      return true;
    };
    if (found()) return;
    const onData = () => { if (found()) child.stdout.off('data', onData); };
    child.stdout.on('data', onData);
    done.then((r) => rejectLine(new Error(`child ended (code ${r.code}, signal ${r.signal}) before '${marker}'; stderr: ${r.stderr}`)));
  });
  return { child, done, waitFor };
}

/** Runs the sipc CLI in the background (killed by cleanup(), or after `timeoutMs` if given). */
export function startCli(args, { timeoutMs } = {}) {
  return track(spawn(...dieWithParent(command(SIPC, args)), { stdio: ['pipe', 'pipe', 'pipe'] }), timeoutMs);
}

/**
 * Runs `body` (an async function body as source text) in a child Node process with `api` (the built Node API)
 * and `name` in scope. It prints to stdout to talk to the test.
 */
export function startNode(body, { name = '', timeoutMs, env = {} } = {}) {
  const source = `const api = require(${JSON.stringify(API_PATH)}); const name = ${JSON.stringify(name)};
(async () => { ${body} })().catch((e) => { console.error('child failed:', e && e.stack || e); process.exit(99); });`;
  return track(
    spawn(...dieWithParent(command(process.execPath, ['-e', source])), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } }),
    timeoutMs,
  );
}

/**
 * How long a test waits for something a peer process does. Generous: a child Node process can take seconds to
 * start on a loaded machine (tests failed at 5 s under load 24); each test's own timeout bounds the whole. Scaled
 * under emulation (SIPC_TEST_TIME_SCALE).
 */
export const PEER_WAIT_MS = scaled(20000);

/** What a test keeps of its own timeout to report a step that ran out (its name beats node:test's bare timeout). */
const STEP_REPORT_MS = 1000;

/**
 * The steps of a test that wait for other processes share the test's own budget (its `timeout`, `testMs`): the
 * function returned says how much of it is left, less a second to report. A slow step (a child Node starting on a
 * loaded machine or under wine can take over 20 s) may then use what the earlier steps did not, and one that runs
 * out still fails as itself, named by `within()`, just before the test's timeout would. Call it first in the test.
 */
export function stepBudget(testMs) {
  const end = Date.now() + testMs - STEP_REPORT_MS;
  return () => Math.max(1, end - Date.now());
}

/** Waits until a channel of that name exists and its creator is attached as the server. */
export async function waitForChannel(name, timeoutMs = PEER_WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const info = await api.stat(name);
      if (info.serverPid > 0) return info;
    } catch (error) {
      if (error.code !== 'NOT_FOUND') throw error;
    }
    if (Date.now() > deadline) throw new Error(`channel '${name}' did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms); }),
  ]);
}

/** Closes every tracked handle, kills every child, removes every channel name used. */
export async function cleanup() {
  await Promise.all([...handles].map((h) => h.close().catch(() => undefined)));
  handles.clear();
  // The children have exited before their channels are removed: a state, not a pause that usually lets them die
  // ('exit', not 'close': a grandchild may hold a child's pipes open).
  const exited = [...children].map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', resolve);
  }));
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(exited);
  for (const name of names) {
    await api.remove(name, true).catch(() => { /* already gone */ });
  }
  names.clear();
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be reproduced. */
export function randomBytes(length, seed) {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Timers keeping this process's event loop alive. The Node API keeps a process with pending work alive with one shared
 * timer (lifecycle.ts), so this count is one higher while any handle is busy.
 */
export function keepAliveTimers() {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

/** Polls until check() (sync or async) returns something truthy, and returns it: tests wait for states, not time. */
export async function waitUntil(check, what, timeoutMs = scaled(10000)) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Runs `during` while the child `watcher` (an observer that printed 'observing') is stopped by SIGSTOP: its copying
 * thread cannot look at the channel meanwhile, the peers go on. The child runs again afterwards, whatever happened.
 */
export async function whileObserverStopped(watcher, during) {
  await within(PEER_WAIT_MS, watcher.waitFor('observing'), 'the child observing');
  watcher.child.kill('SIGSTOP');
  try {
    await waitUntil(() => api.describeProcess(watcher.child.pid).state === 'stopped', 'the observer stopped');
    return await during();
  } finally {
    watcher.child.kill('SIGCONT');
  }
}
