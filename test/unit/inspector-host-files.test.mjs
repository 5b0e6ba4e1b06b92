// The extension host's files as a user meets them (extension/src/inspector/host/captureFile.ts and spill.ts): a
// recording reaches the disk by itself, its backlog bound counts what waits (the header included, empty messages
// too), an export waits for the disk instead of holding the file in memory, the file's mode, a destroyed writer, and
// the restore spill's bound, write errors, a spill that failed or closed staying shut, its parts' order across a
// rotation, and entries that arrive while the previous part is still closing. Written for the mutants these modules'
// other tests let survive (README, "The rest of the inspector").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, utimesSync,
  writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCaptureFile, loadCore, loadSpill } from './inspector-core.mjs';
import { testTempDir } from '../debris.mjs';

const core = await loadCore();
const files = await loadCaptureFile();
const spill = await loadSpill();

const pcapng = () => new core.CaptureEncoder('pcapng', { channel: 'c', mode: 'observer' });
const jsonl = () => new core.CaptureEncoder('jsonl', { channel: 'c', mode: 'observer' });
const message = (seq, size = 10) => ({ kind: 'message', seq, direction: 'to-server', timestamp: 1764000000000 + seq, length: size,
  data: new Uint8Array(size).fill(65) });

function folder(t) {
  const dir = testTempDir('hostfiles');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits until `check()` is true (a state of the file system), failing after a generous bound. */
async function waitFor(check, what) {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`not reached within 20 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('capture file writer: written entries reach the file by themselves, without drained() or close()', async (t) => {
  const path = join(folder(t), 'live.jsonl');
  const writer = await files.CaptureFileWriter.open(path, jsonl());
  writer.write(message(0));
  await waitFor(() => readFileSync(path, 'utf8').split('\n').length === 3, 'the header and the first entry');
  writer.write(message(1));
  await waitFor(() => readFileSync(path, 'utf8').split('\n').length === 4, 'the second entry, written later');
  assert.deepEqual(core.parseJsonl(readFileSync(path, 'utf8')).entries.map((e) => e.seq), [0, 1]);
  await writer.close();
});

test('capture file writer: batchBytes and flushIntervalMs set how much waits for one write (the restore spill writes less often)', async (t) => {
  const path = join(folder(t), 'spill-like.jsonl');
  const writer = await files.CaptureFileWriter.open(path, jsonl(), { batchBytes: 1024 * 1024, flushIntervalMs: 10 });
  // 300 KiB would go at once with the default batch (above); with a 1 MiB batch it waits for the interval.
  writer.write(message(0, 300 * 1024));
  assert.equal(writer.progress.bytes, 0, 'nothing handed to the file below the batch size');
  writer.write(message(1, 800 * 1024));
  assert.ok(writer.progress.bytes > 1024 * 1024, 'a batch of 1 MiB or more is written at once');
  const afterBatch = writer.progress.bytes;
  writer.write(message(2));
  assert.equal(writer.progress.bytes, afterBatch, 'the small entry waits');
  // The interval's flush comes by itself (no drained() here, which would flush at once).
  const before = writer.progress.bytes;
  await waitFor(() => writer.progress.bytes > before, 'the interval handed the small entry to the file');
  await writer.drained();
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 4, 'the header and three entries');
  await writer.close();
  assert.deepEqual(core.parseJsonl(readFileSync(path, 'utf8')).entries.map((e) => e.seq), [0, 1, 2]);
  assert.deepEqual(spill.SPILL_WRITES, { batchBytes: 1024 * 1024, flushIntervalMs: 250 });
});

test('capture file writer: flushes after its interval and not before (the option\'s, else 50 ms), by mocked timers', async (t) => {
  // Only setTimeout is mocked: the file's open and writes are fs calls, which the mock leaves alone. progress.bytes
  // counts what was handed to the file, at each flush.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const dir = folder(t);
  for (const [name, options, interval] of [['default', {}, 50], ['spill-like', spill.SPILL_WRITES, 250], ['short', { flushIntervalMs: 7 }, 7]]) {
    const writer = await files.CaptureFileWriter.open(join(dir, `${name}.jsonl`), jsonl(), options);
    // The header waits for the interval like any entry.
    t.mock.timers.tick(interval - 1);
    assert.equal(writer.progress.bytes, 0, `${name}: nothing flushed 1 ms before the interval`);
    t.mock.timers.tick(1);
    const header = writer.progress.bytes;
    assert.ok(header > 0, `${name}: the header flushed at ${interval} ms`);
    // An entry written later waits a whole interval from its own write, not from the last flush.
    t.mock.timers.tick(3 * interval);
    writer.write(message(0));
    t.mock.timers.tick(interval - 1);
    assert.equal(writer.progress.bytes, header, `${name}: the entry waits`);
    t.mock.timers.tick(1);
    assert.ok(writer.progress.bytes > header, `${name}: the entry flushed at ${interval} ms`);
    await writer.close();
  }
});

test('capture file writer: the backlog bound counts the header waiting for the disk, and an entry reaching it exactly is kept', async (t) => {
  const header = pcapng().start().reduce((n, chunk) => n + chunk.length, 0);
  const path = join(folder(t), 'bound.pcapng');
  // The header alone fills the bound: the first entry still goes in (the bound is reached, not exceeded), the next one
  // waits behind more than the bound and is dropped.
  const writer = await files.CaptureFileWriter.open(path, pcapng(), { maxBacklogBytes: header });
  assert.equal(writer.write(message(0)), true);
  assert.equal(writer.write(message(1)), false);
  const progress = await writer.close();
  assert.deepEqual([progress.messages, progress.dropped], [1, 1]);
});

test('capture file writer: empty messages count against the backlog bound too', async (t) => {
  const writer = await files.CaptureFileWriter.open(join(folder(t), 'empty.pcapng'), pcapng(), { maxBacklogBytes: 64 * 1024 });
  let kept = 0;
  for (let i = 0; i < 100_000; i++) if (writer.write(message(i, 0))) kept++;
  assert.ok(kept > 0 && kept < 100_000, `a flood of empty messages is bounded (${kept} kept)`);
  writer.destroy();
});

test('capture file writer: a destroyed writer takes nothing more', async (t) => {
  const writer = await files.CaptureFileWriter.open(join(folder(t), 'gone.jsonl'), jsonl());
  assert.equal(writer.write(message(0)), true);
  writer.destroy();
  assert.equal(writer.write(message(1)), false);
  assert.equal(writer.progress.messages, 1);
});

test('capture file writer: the file is created 0644 (not widened by a permissive umask)', async (t) => {
  const path = join(folder(t), 'mode.jsonl');
  const umask = process.umask(0);
  try {
    await (await files.CaptureFileWriter.open(path, jsonl())).close();
  } finally {
    process.umask(umask);
  }
  assert.equal(statSync(path).mode & 0o777, 0o644);
});

test('writeCaptureFile: an export waits for the disk rather than holding what it wrote in memory', async (t) => {
  const path = join(folder(t), 'export.pcapng');
  const size = 4096;
  const lags = [];
  const entries = function* () { for (let i = 0; i < 4000; i++) yield message(i, size); };
  await files.writeCaptureFile(path, pcapng(), entries(), (done) => lags.push(done * size - statSync(path).size));
  // Told after each 2,000 entries (8 MiB): the file then lacks at most what the stream and one batch may hold
  // (1 MiB and 256 KiB), not most of what was written in that stretch.
  assert.equal(lags.length, 2);
  for (const lag of lags) assert.ok(lag < 3 * 1024 * 1024, `the file lags ${lag} bytes behind the entries written`);
});

test('spill ids: a number or an array is not an id, whatever its text', () => {
  for (const value of [12345678, ['abcdefgh'], 1e20]) assert.equal(spill.spillIdOf(value), undefined, String(value));
});

test('removeOldSpills: a spill exactly SPILL_MAX_AGE_MS old stays; older goes', async (t) => {
  const dir = folder(t);
  const path = join(dir, 'edge-0.pcapng');
  writeFileSync(path, 'x');
  const at = (Date.now() - 3600_000) / 1000;
  utimesSync(path, at, at);
  const mtime = statSync(path).mtimeMs;
  await spill.removeOldSpills(dir, mtime + spill.SPILL_MAX_AGE_MS);
  assert.ok(existsSync(path), 'exactly the age: not older');
  await spill.removeOldSpills(dir, mtime + spill.SPILL_MAX_AGE_MS + 1);
  assert.ok(!existsSync(path));
});

test('a spill closed before its first entry writes no file afterwards', async (t) => {
  const dir = join(folder(t), 'spill');
  const file = new spill.SpillFile(dir, 'closedspill', 'c', 'peer');
  await file.close();
  file.write(message(0));
  await file.flushed();
  assert.ok(!existsSync(dir), 'not even its folder');
});

test('a spill that failed stays failed when the cause goes away: nothing is retried', async (t) => {
  const dir = folder(t);
  writeFileSync(join(dir, 'file'), 'x');
  const failures = [];
  const file = new spill.SpillFile(join(dir, 'file', 'sub'), 'failedspill', 'c', 'peer', undefined, (error) => failures.push(error.code));
  file.write(message(0));
  await file.flushed();
  assert.deepEqual(failures, ['ENOTDIR']);
  rmSync(join(dir, 'file'));
  file.write(message(1));
  await file.flushed();
  await file.close();
  assert.deepEqual(readdirSync(dir), [], 'no folder made, no part written');
});

test('a spill whose part cannot be written says so once and takes nothing more',
  { skip: existsSync('/dev/full') ? false : 'no /dev/full on this system' }, async (t) => {
    const dir = folder(t);
    symlinkSync('/dev/full', join(dir, 'fullspill1-0.pcapng'));
    const failures = [];
    const file = new spill.SpillFile(dir, 'fullspill1', 'c', 'peer', undefined, (error) => failures.push(error.code));
    file.write(message(0));
    await file.flushed();
    assert.deepEqual(failures, ['ENOSPC']);
    file.write(message(1));
    await file.close();
    assert.deepEqual(failures, ['ENOSPC']);
  });

test('a spill whose disk falls behind drops entries (bounded memory) and says so in the part', async (t) => {
  const dir = folder(t);
  const file = new spill.SpillFile(dir, 'slowspill1', 'c', 'peer');
  file.write(message(0));
  await file.flushed();
  // 25 MiB in one turn of the event loop: the disk cannot take it before the turn ends.
  const data = new Uint8Array(256 * 1024).fill(66);
  for (let i = 1; i <= 100; i++) file.write({ ...message(i), length: data.length, data });
  await file.flushed();
  file.write(message(101));
  await file.close();
  const back = await spill.readSpill(dir, 'slowspill1', 1000);
  const messages = back.filter((e) => e.kind === 'message');
  assert.ok(messages.length < 80, `${messages.length} of 102 messages kept`);
  assert.equal(back.at(-1).timestamp, message(101).timestamp, 'the entry after the drops is kept');
  assert.equal(back.at(-2).event, 'not-recorded');
});

test('entries that arrive while a spill rotates keep their order: a contiguous run ending at the newest', async (t) => {
  const dir = folder(t);
  const file = new spill.SpillFile(dir, 'rotorder01', 'c', 'peer', 64 * 1024);
  // One entry per turn of the event loop, as a live channel's arrive, without waiting for the parts to close.
  for (let i = 0; i < 400; i++) {
    file.write(message(i, 1000));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await file.close();
  const seqs = (await spill.readSpill(dir, 'rotorder01', 100_000)).map((e) => e.timestamp - 1764000000000);
  assert.ok(seqs.length > 20, `${seqs.length} entries`);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => 400 - seqs.length + i));
});

test('entries that arrive while the previous part is still closing go to the new part, not into a queue',
  { skip: process.platform === 'win32' ? 'no FIFOs' : false }, async (t) => {
    const dir = folder(t);
    const fifo = join(dir, 'slowdisk');
    execFileSync('mkfifo', [fifo]);
    // Part 0 is a FIFO that this test reads: until it does, the part cannot finish closing (a disk that is slow to
    // take the last of the previous part).
    symlinkSync(fifo, join(dir, 'closing01-0.pcapng'));
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    t.after(() => closeSync(reader));
    const budget = 4 * 1024 * 1024;
    const file = new spill.SpillFile(dir, 'closing01', 'c', 'peer', budget);
    const big = (seq) => message(seq, 256 * 1024);
    file.write(message(0));
    await file.flushed(); // part 0 is open
    // 8 × 256 KiB pass half the budget (each is written at once): part 1 opens. The pipe holds far less than 2 MiB.
    for (let seq = 1; seq <= 8; seq++) file.write(big(seq));
    file.write(big(9)); // arrives while part 1 is being opened: queued, then written to it first
    const part1 = join(dir, 'closing01-1.pcapng');
    await waitFor(() => existsSync(part1) && statSync(part1).size > 256 * 1024, 'part 1 with the entry queued while it opened');
    // Part 1 is open and part 0 cannot close (nobody reads the FIFO): this entry arrives while the previous part closes.
    file.write(message(10));
    let flushed = false;
    const done = file.flushed().then(() => { flushed = true; });
    const chunk = Buffer.alloc(1024 * 1024);
    let fromPart0 = 0;
    while (!flushed) {
      try {
        fromPart0 += readSync(reader, chunk);
      } catch (error) {
        if (error.code !== 'EAGAIN') throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await done;
    await file.close();
    assert.ok(fromPart0 > 1024 * 1024, `part 0 held ${fromPart0} bytes: more than a pipe holds, so it closed only as it was read`);
    rmSync(join(dir, 'closing01-0.pcapng'));
    const back = await spill.readSpill(dir, 'closing01', 1000);
    assert.deepEqual(back.map((e) => e.timestamp - message(0).timestamp), [9, 10], 'part 1: the entry queued while it opened, then the one written while part 0 closed');
  });
