// Child processes of the harness: each long-running one gets a process group of its own (detached), so stopping
// it stops everything it started (VS Code's file watcher, extension host, pty host...). Every group still alive
// when this process exits — normally, by an uncaught error, or by SIGINT/SIGTERM/SIGHUP — is killed.
import { spawn } from 'node:child_process';
import { createWriteStream, appendFileSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Process groups (leader pids) that this process started and has not stopped yet. */
const liveGroups = new Set();
/** Groups whose leader is stopped first and the rest given time to end by themselves (see startGroup's leaderFirstMs). */
const leaderFirstGroups = new Map();
let handlersInstalled = false;
let stopping = false;

/** True once a stop signal arrived: children exiting now are expected, not failures. */
export function isStopping() {
  return stopping;
}

function killGroupNow(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') throw error;
  }
}

function killLeaderNow(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') throw error;
  }
}

/** True while any process of the group led by `pid` lives. */
function groupIsAlive(pid) {
  return isAlive(-pid);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM to a leader-first group's leader alone, then up to its grace for the whole group to end by itself;
 * SIGTERM to what is left of the group after that.
 */
async function stopLeaderFirst(pid, graceMs) {
  killLeaderNow(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupIsAlive(pid) && Date.now() < deadline) await sleep(50);
  killGroupNow(pid, 'SIGTERM');
}

/** Installs the exit and signal handlers once; the signals exit with the conventional 128+n code. */
export function installCleanupHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroupNow(pid, 'SIGKILL');
    liveGroups.clear();
  });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(signal, async () => {
      if (stopping) return; // a second Ctrl-C while stopping changes nothing; the SIGKILL below still comes
      stopping = true;
      console.error(`\n[harness] ${signal}: stopping ${liveGroups.size} process group(s)`);
      // SIGTERM first so that peers can remove what they own (a channel's name); survivors get SIGKILL on exit.
      const leaderFirst = [...liveGroups].filter((pid) => leaderFirstGroups.has(pid));
      for (const pid of liveGroups) if (!leaderFirstGroups.has(pid)) killGroupNow(pid, 'SIGTERM');
      await Promise.all(leaderFirst.map((pid) => stopLeaderFirst(pid, leaderFirstGroups.get(pid))));
      const deadline = Date.now() + 3000;
      while ([...liveGroups].some(isAlive) && Date.now() < deadline) await sleep(50);
      process.exit(code);
    });
  }
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Kills the process groups listed (one pid a line) in `recordFile` by a harness that died without cleaning up.
 * A pid is only trusted while its command line still mentions `mustMention` (the cache folder), so a recycled pid
 * of an unrelated process is never signalled.
 */
export function killStaleGroups(recordFile, mustMention) {
  if (!existsSync(recordFile)) return;
  for (const line of readFileSync(recordFile, 'utf8').split('\n')) {
    const pid = Number(line.trim());
    if (!pid) continue;
    let cmdline = '';
    try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    if (cmdline.includes(mustMention)) killGroupNow(pid, 'SIGKILL');
  }
}

/**
 * Starts a long-running process in a group of its own. Its output goes to `logFile` (and, with `echo`, to this
 * process's stderr with a prefix; with `passthrough`, straight to this process's stdout/stderr). `recordFile` gets its pid so an abandoned run can be cleaned up later.
 * With `leaderFirstMs`, a stop (and a stop signal to this process) sends SIGTERM to the leader alone and gives the
 * rest of the group that long to end by itself before it gets SIGTERM too: the VS Code server's extension hosts
 * notice that their parent is gone and deactivate their extensions, which closes their channels cleanly.
 * Returns { child, pid, exited: Promise<{code, signal}>, stop(graceMs), logTail() }.
 */
export function startGroup(command, args, { name, env, cwd, logFile, recordFile, echo = false, passthrough = false, leaderFirstMs }) {
  installCleanupHandlers();
  const child = spawn(command, args, { env, cwd, detached: true, stdio: ['ignore', passthrough ? 'inherit' : 'pipe', passthrough ? 'inherit' : 'pipe'] });
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  let tail = '';
  const onData = (chunk) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-8000);
    log?.write(chunk);
    if (echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${name}] `));
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise((resolve) => {
    child.on('error', (error) => { tail += `\n${error.message}`; resolve({ code: null, signal: null, error }); });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  if (child.pid) {
    liveGroups.add(child.pid);
    if (leaderFirstMs !== undefined) leaderFirstGroups.set(child.pid, leaderFirstMs);
    if (recordFile) appendFileSync(recordFile, `${child.pid}\n`);
  }
  exited.then(() => log?.end());
  return {
    child,
    pid: child.pid,
    name,
    exited,
    logTail: () => tail,
    /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader has exited. */
    async stop(graceMs = 5000) {
      if (!child.pid || !liveGroups.has(child.pid)) return;
      if (leaderFirstMs !== undefined) await stopLeaderFirst(child.pid, leaderFirstMs);
      else killGroupNow(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroupNow(child.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Children of the leader may outlive it; the group's id outlives the leader, so sweep it.
      killGroupNow(child.pid, 'SIGKILL');
      liveGroups.delete(child.pid);
      leaderFirstGroups.delete(child.pid);
    },
  };
}

/** Runs a command to completion in its own group with a bound on its time. Resolves { code, timedOut, tail }. */
export async function run(command, args, { name, env, cwd, logFile, timeoutMs, echo = false, passthrough = false }) {
  const group = startGroup(command, args, { name, env, cwd, logFile, echo, passthrough });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; group.stop(2000); }, timeoutMs);
  const { code, signal } = await group.exited;
  clearTimeout(timer);
  await group.stop(0);
  if (timedOut) {
    return { code: code ?? 1, timedOut: true, tail: `${group.logTail()}\n[harness] ${name} timed out after ${timeoutMs / 1000} s` };
  }
  return { code: code ?? (signal ? 128 : 1), timedOut: false, tail: group.logTail() };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` until it answers 2xx. Fails early, with the server's last output, if `group` exits first, and with a
 * message naming `what` after `timeoutMs`.
 */
export async function waitForHttp(url, { what, timeoutMs, group }) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  group?.exited.then(() => { exited = true; });
  let lastError = '';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited before answering ${url}:\n${group.logTail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = error.cause?.code || error.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} at ${url} (last: ${lastError})` +
    (group ? `\n${group.logTail()}` : ''));
}

/** Rejects with a message naming `what` when `promise` takes longer than `timeoutMs`. */
export function withTimeout(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s: ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
