// What the extension-host tests share: unique channel names, waiting for a state, sipc CLI peers, the extension's API.
'use strict';

const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');
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
 * A child process with its stdout split into lines. `detached` puts it in a process group of its own, and stop()
 * then ends the whole group (for commands that leave children behind, such as flock(1) running a shell).
 */
function child(command, args, { stdin = 'ignore', detached = false } = {}) {
  const proc = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'], detached });
  const lines = [];
  let pending = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      if (end > 0) lines.push(pending.slice(0, end));
      pending = pending.slice(end + 1);
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const signal = (name) => {
    if (detached) {
      try {
        process.kill(-proc.pid, name);
      } catch {
        // The group is gone already.
      }
    } else {
      proc.kill(name);
    }
  };
  const label = `${path.basename(command)} ${args.join(' ')}`;
  return {
    pid: proc.pid,
    /** Undefined while it runs, else how it ended. */
    get ended() {
      return running() ? undefined : { code: proc.exitCode, signal: proc.signalCode };
    },
    stdin: proc.stdin,
    lines,
    stderr: () => stderr,
    kill: signal,
    exited: (timeoutMs) => withTimeout(exit, timeoutMs, `${label} exits (stderr: ${stderr})`),
    /** Waits until the process printed a line matching `pattern`. */
    printed: (pattern, timeoutMs = 5000) =>
      until(() => lines.find((line) => pattern.test(line)), `${label} printed ${pattern} (stderr: ${stderr})`, timeoutMs),
    async stop() {
      if (!running() && !detached) return;
      signal('SIGTERM');
      try {
        await withTimeout(exit, 3000, `${label} stops`);
      } catch {
        signal('SIGKILL');
        await exit;
      }
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

module.exports = { repoRoot, CLI, EXTENSION_ID, uniqueName, until, withTimeout, child, cli, peerSet, extensionApi };
