// What the extension-host tests share: unique channel names, waiting for a state, sipc CLI peers, the extension's API.
'use strict';

const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
const { pathToFileURL } = require('url');
const vscode = require('vscode');

const repoRoot = path.resolve(__dirname, '../../..');
const CLI = process.env.SIPC_CLI || path.join(repoRoot, 'helper/build/linux-x64/sipc');
const EXTENSION_ID = 'sipc.sipc';

let nameCounter = 0;
// The harness gives every run one prefix and fails the run if a channel with it is left at the end.
const NAME_PREFIX = process.env.SIPC_TEST_NAME_PREFIX || `vt-${process.pid}-${Date.now().toString(36)}-`;
/** Channel names unique to this run, so parallel runs and leftovers never collide. */
function uniqueName(label) {
  return `${NAME_PREFIX}${label}-${nameCounter++}`;
}

/**
 * A new folder for a test's files (test/debris.mjs's testTempDir, in this extension host's own parent folder of the
 * sandbox's TMPDIR): removed with the parent when the extension host exits, by the next test process if it is killed,
 * and the harness fails the run if a parent is left once the suite ended.
 */
async function tempDir(label) {
  const { testTempDir } = await import(pathToFileURL(path.join(repoRoot, 'test/debris.mjs')).href);
  return testTempDir(label);
}

/**
 * Polls until check() resolves to something truthy, and returns it. check may be async; `what` may be a function
 * (called on failure, for a message that shows the state then).
 */
async function until(check, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function withTimeout(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What the tests see of a process, however it was started: its stdout split into lines, its stderr, how it ended.
 * `proc` gives pid, stdin, `onStdout`/`onStderr`(chunk listener), `exit` (a promise of { code, signal }), `ended()`
 * (undefined while it runs) and `signal(name)`. `detached`: stop() ends its process group even after it exited.
 */
function trackedProcess(label, proc, detached) {
  const lines = [];
  let pending = '';
  let stderr = '';
  proc.onStdout((chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      if (end > 0) lines.push(pending.slice(0, end));
      pending = pending.slice(end + 1);
    }
  });
  proc.onStderr((chunk) => (stderr += chunk));
  return {
    pid: proc.pid,
    /** Undefined while it runs, else how it ended. */
    get ended() {
      return proc.ended();
    },
    stdin: proc.stdin,
    lines,
    stderr: () => stderr,
    kill: proc.signal,
    exited: (timeoutMs) => withTimeout(proc.exit, timeoutMs, `${label} exits (stderr: ${stderr})`),
    /** Waits until the process printed a line matching `pattern`. */
    printed: (pattern, timeoutMs = 5000) =>
      until(() => lines.find((line) => pattern.test(line)), `${label} printed ${pattern} (stderr: ${stderr})`, timeoutMs),
    async stop() {
      if (proc.ended() && !detached) return;
      proc.signal('SIGTERM');
      try {
        await withTimeout(proc.exit, 3000, `${label} stops`);
      } catch {
        proc.signal('SIGKILL');
        await proc.exit;
      }
    },
  };
}

/**
 * A child process with its stdout split into lines. `detached` puts it in a process group of its own, and stop()
 * then ends the whole group (for commands that leave children behind, such as flock(1) running a shell).
 */
function child(command, args, { stdin = 'ignore', detached = false } = {}) {
  const proc = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'], detached });
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return trackedProcess(`${path.basename(command)} ${args.join(' ')}`, {
    pid: proc.pid,
    stdin: proc.stdin,
    onStdout: (listener) => proc.stdout.on('data', listener),
    onStderr: (listener) => proc.stderr.on('data', listener),
    exit: new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal }))),
    ended: () => (running() ? undefined : { code: proc.exitCode, signal: proc.signalCode }),
    signal: (name) => {
      if (!detached) {
        proc.kill(name);
        return;
      }
      try {
        process.kill(-proc.pid, name);
      } catch {
        // The group is gone already.
      }
    },
  }, detached);
}

/**
 * Starts processes from a small launcher process (fixtures/launcher.js) instead of from the extension host: forking
 * the extension host blocks its main thread for milliseconds, which a test measuring that thread's event loop must
 * not count as the extension's. Start it before measuring; `child`/`cli` then work as the functions of that name
 * (with `stdinFile`, a file the launcher opens as the child's stdin, instead of `stdin`); close() ends it and, with
 * it, what it started detached.
 */
async function startLauncher() {
  const { fork } = require('child_process');
  const launcher = fork(path.join(__dirname, 'fixtures/launcher.js'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let launcherStderr = '';
  launcher.stderr.setEncoding('utf8');
  launcher.stderr.on('data', (chunk) => (launcherStderr += chunk));
  const processes = new Map();
  let nextId = 0;
  launcher.on('message', (message) => processes.get(message.id)?.(message));
  await new Promise((resolve, reject) => {
    launcher.once('spawn', resolve);
    launcher.once('error', reject);
  });
  const launch = (command, args, { stdinFile, detached = false } = {}) => {
    const id = nextId++;
    const label = `${path.basename(command)} ${args.join(' ')} (from the launcher)`;
    const stdout = new Set();
    const stderr = new Set();
    let ended;
    let resolveExit;
    const exit = new Promise((resolve) => (resolveExit = resolve));
    let resolveSpawned;
    const spawned = new Promise((resolve) => (resolveSpawned = resolve));
    processes.set(id, (message) => {
      if (message.event === 'spawned') resolveSpawned(message.pid);
      else if (message.event === 'stdout') for (const listener of stdout) listener(message.data);
      else if (message.event === 'stderr' || message.event === 'error') for (const listener of stderr) listener(message.data ?? `${message.message}\n`);
      if (message.event === 'exit' || (message.event === 'error' && ended === undefined)) {
        ended = message.event === 'exit' ? { code: message.code, signal: message.signal } : { code: null, signal: null, error: message.message };
        resolveSpawned(undefined);
        resolveExit(ended);
      }
    });
    launcher.send({ op: 'spawn', id, command, args, stdinFile, detached });
    const tracked = trackedProcess(label, {
      pid: undefined,
      stdin: undefined,
      onStdout: (listener) => stdout.add(listener),
      onStderr: (listener) => stderr.add(listener),
      exit,
      ended: () => ended,
      signal: (name) => launcher.connected && launcher.send({ op: 'kill', id, signal: name }),
    }, detached);
    tracked.spawned = spawned;
    return tracked;
  };
  return {
    child: launch,
    cli: (args, options) => launch(CLI, args, options),
    async close() {
      if (launcher.exitCode !== null || launcher.signalCode !== null) return;
      const exited = new Promise((resolve) => launcher.once('exit', resolve));
      launcher.disconnect();
      await withTimeout(exited, 10_000, `the launcher exits (stderr: ${launcherStderr})`);
    },
  };
}

/** A peer process: the sipc CLI with the given arguments. */
function cli(args, options) {
  return child(CLI, args, options);
}

/**
 * The CLI peers of one test file: spawn() starts one (with `start`, by default cli()) and keeps it, stopAll() (in
 * afterEach) ends every one started since, continuing any the test stopped with SIGSTOP first so that it can take the
 * SIGTERM.
 */
function peerSet(start = cli) {
  const peers = [];
  return {
    spawn(args, options) {
      const peer = start(args, options);
      peers.push(peer);
      return peer;
    },
    async stopAll() {
      const stopping = peers.splice(0);
      for (const peer of stopping) if (!peer.ended) peer.kill('SIGCONT');
      await Promise.all(stopping.map((peer) => peer.stop()));
    },
  };
}

async function extensionApi() {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is installed`);
  return extension.activate();
}

module.exports = { repoRoot, CLI, EXTENSION_ID, uniqueName, tempDir, until, withTimeout, child, cli, startLauncher, peerSet, extensionApi };
