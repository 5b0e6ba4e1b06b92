// The extension host's capture file writer and reader (extension/src/inspector/host/captureFile.ts) at their edges:
// a disk that fails (/dev/full), batching into few writes, the count of dropped entries in singular and plural, a
// cancelled export and read, and progress every ENTRIES_PER_TURN entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCaptureFile, loadCore } from './inspector-core.mjs';
import { testTempDir } from '../debris.mjs';

const core = await loadCore();
const files = await loadCaptureFile();
const jsonl = () => new core.CaptureEncoder('jsonl', { channel: 'c', mode: 'observer' });
const message = (seq, size = 10) => ({ kind: 'message', seq, direction: 'to-server', timestamp: 1764000000000 + seq, length: size, data: new Uint8Array(size).fill(65) });

/**
 * Settles once the writer's file stream has emitted its own 'error' (a tick after the failed write's callback): the
 * writer listens first (its constructor), so by then it has heard it too, and "told once" can be checked. The stream
 * is the writer's private field; this listener only watches it.
 */
function streamErrorHeard(writer) {
  assert.ok(writer.stream?.listenerCount('error') > 0, "the writer listens to its stream's errors");
  return once(writer.stream, 'error');
}

function folder(t) {
  const dir = testTempDir('capwriter');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('capture file writer: a disk that fails is told to the listeners once; the writer then takes nothing and close() rejects',
  { skip: existsSync('/dev/full') ? false : 'no /dev/full on this system' }, async () => {
    const writer = await files.CaptureFileWriter.open('/dev/full', jsonl());
    const streamFailed = streamErrorHeard(writer);
    const heard = [];
    const stopHearing = writer.onError((error) => heard.push(error.code));
    const silent = [];
    writer.onError((error) => silent.push(error.code))();
    assert.equal(writer.write(message(0)), true);
    await assert.rejects(writer.drained(), { code: 'ENOSPC' });
    assert.deepEqual(heard, ['ENOSPC']);
    assert.deepEqual(silent, [], 'a listener that unsubscribed hears nothing');
    assert.equal(writer.error?.code, 'ENOSPC');
    assert.equal(writer.write(message(1)), false, 'a failed file takes nothing');
    assert.equal(writer.progress.messages, 1);
    await assert.rejects(writer.close(), { code: 'ENOSPC' });
    await assert.rejects(writer.close(), { code: 'ENOSPC' }, 'and again');
    assert.equal((await streamFailed)[0].code, 'ENOSPC');
    assert.deepEqual(heard, ['ENOSPC'], "told once, the stream's own 'error' after the write's included");
    stopHearing();
    await assert.rejects(files.writeCaptureFile('/dev/full', jsonl(), [message(0), message(1)]), { code: 'ENOSPC' });
  });

test('capture file writer: a failed write and the writes queued behind it are reported once',
  { skip: existsSync('/dev/full') ? false : 'no /dev/full on this system' }, async () => {
    const writer = await files.CaptureFileWriter.open('/dev/full', jsonl());
    const streamFailed = streamErrorHeard(writer);
    const failures = [];
    writer.onError((error) => failures.push(error.code));
    // Two writes handed to the stream before the first one fails: the stream fails the queued one with the same error.
    writer.write(message(0));
    const first = writer.drained();
    writer.write(message(1));
    const second = writer.drained();
    const results = await Promise.allSettled([first, second]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    await assert.rejects(writer.close(), { code: 'ENOSPC' });
    await streamFailed;
    assert.deepEqual(failures, ['ENOSPC']);
    assert.equal(writer.error.code, 'ENOSPC');
  });

test('capture file writer: entries of one turn go out in one write; needsDrain from what the stream holds; close twice is fine', async (t) => {
  const path = join(folder(t), 'batch.jsonl');
  const writer = await files.CaptureFileWriter.open(path, jsonl());
  assert.equal(writer.path, path);
  assert.equal(writer.needsDrain, false);
  for (let i = 0; i < 3; i++) assert.equal(writer.write(message(i)), true);
  writer.write({ kind: 'event', seq: 3, timestamp: 1764000000003, event: 'e', detail: '' });
  assert.deepEqual(writer.progress, { messages: 3, bytes: 0, dropped: 0 }, 'nothing handed to the file within the turn');
  await writer.drained();
  const written = readFileSync(path, 'utf8');
  assert.equal(writer.progress.bytes, Buffer.byteLength(written));
  assert.equal(written.trim().split('\n').length, 5, 'the header and four entries');
  // A batch of 256 KiB or more goes to the file at once; once the stream holds more than it wants, the writer asks the
  // export to wait.
  writer.write(message(4, 300 * 1024));
  assert.ok(writer.progress.bytes > 300 * 1024, 'written without waiting for the turn to end');
  writer.write(message(5, 1200 * 1024));
  assert.equal(writer.needsDrain, true, 'more than the stream wants to hold');
  await writer.drained();
  assert.equal(writer.needsDrain, false);
  const first = await writer.close();
  assert.deepEqual(await writer.close(), first);
  assert.equal(first.bytes, readFileSync(path).length);
  assert.equal(writer.write(message(6)), false, 'a closed writer takes nothing');
  writer.destroy();
});

test('capture file writer: entries dropped behind a slow disk are counted in one row before the next entry (singular and plural)', async (t) => {
  const path = join(folder(t), 'drops.jsonl');
  const writer = await files.CaptureFileWriter.open(path, jsonl(), { maxBacklogBytes: 1024 });
  assert.equal(writer.write(message(0, 2000)), true, 'the first batch goes in: nothing waits yet');
  assert.equal(writer.write(message(1)), false, 'over the bound: dropped');
  await writer.drained();
  assert.equal(writer.write(message(2)), true);
  assert.equal(writer.write(message(3, 2000)), true);
  assert.equal(writer.write(message(4)), false);
  assert.equal(writer.write(message(5)), false);
  await writer.drained();
  assert.equal(writer.write(message(6)), true);
  const progress = await writer.close();
  assert.deepEqual(progress.dropped, 3);
  assert.equal(progress.messages, 4);
  const rows = core.parseJsonl(readFileSync(path, 'utf8')).entries.map((e) => (e.kind === 'event' ? `${e.event}@${e.seq}: ${e.detail}` : e.seq));
  assert.deepEqual(rows, [0, 'not-recorded@2: 1 entry before this one was not recorded: the disk fell behind', 2, 3,
    'not-recorded@6: 2 entries before this one were not recorded: the disk fell behind', 6]);
});

test('writeCaptureFile: progress every ENTRIES_PER_TURN entries; a cancelled export stops there and closes the file', async (t) => {
  const dir = folder(t);
  assert.equal(files.ENTRIES_PER_TURN, 2000);
  const entries = function* (n) { for (let i = 0; i < n; i++) yield message(i); };
  const progress = [];
  const done = await files.writeCaptureFile(join(dir, 'all.jsonl'), jsonl(), entries(4001), (n) => progress.push(n));
  assert.deepEqual(progress, [2000, 4000]);
  assert.equal(done.messages, 4001);
  let asked = 0;
  const cancelled = await files.writeCaptureFile(join(dir, 'cut.jsonl'), jsonl(), entries(10000), undefined, () => ++asked >= 2);
  assert.equal(cancelled.messages, 4000, 'asked after each turn\'s batch: stopped after the second');
  assert.equal(core.parseJsonl(readFileSync(join(dir, 'cut.jsonl'), 'utf8')).entries.length, 4000);
  assert.equal((await files.writeCaptureFile(join(dir, 'none.jsonl'), jsonl(), [])).messages, 0);
});

test('readCaptureFile: a cancelled read stops before the next chunk; a file ending in a damaged chunk hands out what came before', async (t) => {
  const dir = folder(t);
  const path = join(dir, 'big.jsonl');
  // More than one read chunk (1 MiB) of lines.
  await files.writeCaptureFile(path, jsonl(), (function* () { for (let i = 0; i < 6000; i++) yield message(i, 300); })());
  const batches = [];
  await files.readCaptureFile(path, new core.CaptureDecoder(), (batch) => batches.push(batch.length), () => batches.length > 0);
  assert.equal(batches.length, 1, 'one chunk, then cancelled');
  assert.ok(batches[0] > 0 && batches[0] < 6000);
  // The damage sits in the middle of the file's last chunk: every entry before it comes out, then the error.
  const text = readFileSync(path, 'utf8').split('\n');
  text[5000] = '{"type":"message"}';
  writeFileSync(join(dir, 'bad.jsonl'), text.join('\n'));
  const read = [];
  await assert.rejects(files.readCaptureFile(join(dir, 'bad.jsonl'), new core.CaptureDecoder(), (batch) => read.push(...batch)),
    { message: 'line 5001: malformed message' });
  assert.equal(read.length, 4999);
  assert.deepEqual(read.map((e) => e.seq), Array.from({ length: 4999 }, (_, i) => i));
});

test('readCaptureFile: no empty batches; the last line without a newline comes out at the end', async (t) => {
  const dir = folder(t);
  const header = '{"type":"header","format":"sipc-capture","version":1,"channel":"c"}';
  const event = (seq) => `{"type":"event","seq":${seq},"timestampMs":1,"event":"e${seq}"}`;
  const read = async (text) => {
    writeFileSync(join(dir, 'f.jsonl'), text);
    const batches = [];
    await files.readCaptureFile(join(dir, 'f.jsonl'), new core.CaptureDecoder(), (batch) => batches.push(batch.map((e) => e.event)));
    return batches;
  };
  assert.deepEqual(await read(`${header}\n`), [], 'a header alone: nothing handed out');
  assert.deepEqual(await read(`${header}\n${event(0)}\n${event(1)}`), [['e0'], ['e1']], 'the last line, without its newline, at the end');
  assert.deepEqual(await read(`${header}\n${event(0)}\n`), [['e0']]);
});
