// Helpers for driving the real `sipc` binary from node:test.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDebrisAtExit, dieWithParent, runPrefix } from '../debris.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SIPC = process.env.SIPC_CLI ?? resolve(repoRoot, 'helper', 'build', 'linux-x64', 'sipc');

export function assertBinary() {
  if (!existsSync(SIPC)) {
    throw new Error(`sipc CLI not found at ${SIPC}: run 'make -C helper' or set SIPC_CLI`);
  }
}

/** Every channel this test process names starts with it. */
export const NAME_PREFIX = runPrefix('t');
checkDebrisAtExit(SIPC, NAME_PREFIX, 'test/cli');

let counter = 0;
const namesInUse = new Set();
const children = new Set();

/** A channel name no other test (or test run) uses. */
export function uniqueName(label = 'cli') {
  const name = `${NAME_PREFIX}${label}-${counter++}`;
  namesInUse.add(name);
  return name;
}

/**
 * Starts `sipc ARGS` in the background. The result collects stdout (Buffer) and stderr (string);
 * `done` resolves with { code, signal, stdout, stderr }. The process is killed by cleanup() or, if given, after
 * `timeoutMs`: by default it lives as long as the test that started it needs it.
 */
export function start(args, { input, timeoutMs, keepStdinOpen = false } = {}) {
  const child = spawn(...dieWithParent([SIPC, args]), { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const stdout = [];
  let stderr = '';
  child.stdout.on('data', (chunk) => stdout.push(chunk));
  child.stderr.on('data', (chunk) => { stderr += chunk.toString('utf8'); });
  child.stdin.on('error', () => {});
  if (input !== undefined) child.stdin.end(input);
  else if (!keepStdinOpen) child.stdin.end();
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise((resolveDone, rejectDone) => {
    child.on('error', rejectDone);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolveDone({ code, signal, stdout: Buffer.concat(stdout), stderr });
    });
  });
  return {
    child,
    done,
    stdout: () => Buffer.concat(stdout),
    stderr: () => stderr,
  };
}

/** Runs `sipc ARGS` to completion. */
export function run(args, options = {}) {
  return start(args, options).done;
}

/** Polls until predicate() is truthy, up to timeoutMs. */
export async function waitFor(predicate, { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Waits until `sipc stat NAME --json` succeeds and matches predicate(info). By default it waits until
 * the creator finished initialising the channel (state 'empty' until then).
 */
export async function waitForChannel(name, predicate = (info) => info.state !== 'empty', timeoutMs = 5000) {
  return waitFor(async () => {
    const result = await run(['stat', name, '--json']);
    if (result.code !== 0) return null;
    const info = JSON.parse(result.stdout.toString('utf8'));
    return predicate(info) ? info : null;
  }, { timeoutMs, what: `channel ${name}` });
}

/** Waits until a background `sipc tap` announced on stderr that it is watching. */
export async function waitForTap(tap) {
  let exited = null;
  tap.done.then((result) => { exited = result; });
  await waitFor(() => {
    if (exited) throw new Error(`tap exited early with ${exited.code}: ${exited.stderr}`);
    return tap.stderr().includes('watching');
  }, { what: 'tap to start' });
}

/**
 * A `sipc connect` client sends input and ends only once the replies it expects (by default: input itself, from an
 * echo server) came back, so they are sent while it is attached, however slow the machine is. Returns its result.
 */
export async function converse(name, input, expected = input) {
  const want = Buffer.from(expected);
  const client = start(['connect', name, '--linger', '100'], { keepStdinOpen: true });
  client.child.stdin.write(input);
  await waitFor(() => client.stdout().length >= want.length, { timeoutMs: 20000, what: `replies on ${name}` });
  client.child.stdin.end();
  const result = await client.done;
  if (result.code !== 0 || !result.stdout.equals(want)) {
    throw new Error(`connect ${name} exited ${result.code} with ${JSON.stringify(result.stdout.toString())}: ${result.stderr}`);
  }
  return result;
}

/** Kills every child still running and removes every channel the tests named. */
export async function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const name of namesInUse) await run(['rm', '--force', name]);
  namesInUse.clear();
}
