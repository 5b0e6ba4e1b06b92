// The streaming commands behind a reader that quits early (`sipc record x -o - | head -c 100`, `sipc tap x | head`):
// the reader going away is the normal end, as for Unix tools (exit 0, nothing on stderr but record's own summary),
// whether the command finds it at its next write or while idle. A real write error (a full device) still fails with
// a clear message and exit 2.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { dieWithParent } from '../debris.mjs';
import { SIPC, assertBinary, cleanup, converse, start, uniqueName, waitFor, waitForChannel, waitForTap } from './helpers.mjs';

const T = { timeout: 60000 };

async function echoChannel(label) {
  const name = uniqueName(label);
  start(['echo', name, '--timeout', '30000', '--depth', '256']);
  await waitForChannel(name, undefined, 20000);
  return name;
}

/** Closes the read end of the command's stdout once `bytes` arrived, as `head -c` does. */
async function readThenClose(proc, bytes) {
  await waitFor(() => proc.stdout().length >= bytes, { timeoutMs: 20000, what: `${bytes} bytes on stdout` });
  proc.child.stdout.destroy();
}

/** The command's result, or a failure if it still runs after `ms` (it did not notice its reader left, or the error). */
async function endsWithin(proc, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} still ran after ${ms} ms`)), ms); });
  try {
    return await Promise.race([proc.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `sipc ARGS` with stdout on /dev/full; resolves with { code, stderr }. */
function runIntoFullDevice(args) {
  const full = openSync('/dev/full', 'w');
  const child = spawn(...dieWithParent([SIPC, args]), { stdio: ['ignore', full, 'pipe'] });
  closeSync(full);
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk.toString('utf8'); });
  return { child, stderr: () => stderr, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))) };
}

const noError = (stderr) => stderr.split('\n').filter((line) => line !== '' && !/recording 1 channel|messages? recorded/.test(line));

describe('streaming commands whose stdout reader goes away', () => {
  before(assertBinary);
  after(cleanup);

  it('record -o - ends with exit 0 when its reader quits while messages flow (found by the next write)', T, async () => {
    const name = await echoChannel('rec-busy');
    const record = start(['record', name, '-o', '-']);
    await readThenClose(record, 100); // the pcapng header alone is longer
    // Enough traffic to fill any pipe buffer the closed reader leaves behind.
    await converse(name, 'x'.repeat(200).concat('\n').repeat(50));
    const ended = await endsWithin(record, 20000, 'record');
    assert.equal(ended.code, 0, ended.stderr);
    assert.deepEqual(noError(ended.stderr), []);
  });

  it('record -o - ends with exit 0 when its reader quits while the channel is idle (nothing to write)', T, async () => {
    const name = await echoChannel('rec-idle');
    const record = start(['record', name, '-o', '-']);
    await readThenClose(record, 100);
    const ended = await endsWithin(record, 20000, 'an idle record');
    assert.equal(ended.code, 0, ended.stderr);
    assert.deepEqual(noError(ended.stderr), []);
  });

  it('tap ends with exit 0 and a silent stderr when its reader quits', T, async () => {
    const name = await echoChannel('tap');
    const tap = start(['tap', name]);
    await waitForTap(tap);
    await converse(name, 'first\n');
    await readThenClose(tap, 1);
    await converse(name, 'y'.repeat(200).concat('\n').repeat(50));
    const ended = await endsWithin(tap, 20000, 'tap');
    assert.equal(ended.code, 0, ended.stderr);
    assert.doesNotMatch(ended.stderr, /cannot write|Broken pipe/);
  });

  it('recv ends with exit 0 and a silent stderr when its reader quits', T, async () => {
    const name = uniqueName('recv');
    const recv = start(['recv', name, '--timeout', '30000']);
    await waitForChannel(name, undefined, 20000);
    const sender = start(['connect', name], { keepStdinOpen: true });
    sender.child.stdin.write('one\n');
    await readThenClose(recv, 1);
    sender.child.stdin.end('z'.repeat(200).concat('\n').repeat(400));
    const ended = await endsWithin(recv, 20000, 'recv');
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(ended.stderr, '');
  });

  it('a real write error still fails: record and tap into /dev/full exit 2 saying why', T, async () => {
    if (!existsSync('/dev/full')) return;
    const name = await echoChannel('full');
    const record = runIntoFullDevice(['record', name, '-o', '-']);
    const recorded = await endsWithin(record, 20000, 'record into /dev/full');
    assert.equal(recorded.code, 2, recorded.stderr);
    assert.match(recorded.stderr, /cannot write stdout: No space left on device/);

    const tap = runIntoFullDevice(['tap', name]);
    await waitFor(() => tap.stderr().includes('watching'), { what: 'tap to start' });
    await converse(name, 'w'.repeat(200).concat('\n').repeat(50));
    const tapped = await endsWithin(tap, 20000, 'tap into /dev/full');
    assert.equal(tapped.code, 2, tapped.stderr);
    assert.match(tapped.stderr, /cannot write to stdout: No space left on device/);
  });
});
