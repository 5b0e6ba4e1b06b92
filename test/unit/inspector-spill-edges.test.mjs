// The restore spill (extension/src/inspector/host/spill.ts) at its edges: ids of 8 and 64 characters, parts read in
// numeric order (9 before 10) and only the spill's own, a folder that cannot be made, the queue bound while the first
// part opens, and which files count as old.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadCaptureFile, loadCore, loadSpill } from './inspector-core.mjs';
import { parsePcapng } from '../cli/pcapng.mjs';
import { testTempDir } from '../debris.mjs';

const spill = await loadSpill();
const core = await loadCore();
const files = await loadCaptureFile();

const message = (i) => ({ kind: 'message', seq: i, direction: 'to-server', timestamp: 1764000000000 + i, length: 1, data: Uint8Array.of(i & 0xff) });

function folder(t) {
  const dir = testTempDir('spill-edges');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a part file of `entries` as the spill writes it. */
async function part(path, entries) {
  await files.writeCaptureFile(path, new core.CaptureEncoder('pcapng', { channel: 'c', mode: 'peer' }), entries);
}

test('spill ids: 8 to 64 letters, digits, _ and -', () => {
  for (const id of ['a'.repeat(8), 'Z'.repeat(64), 'a-b_c-d_9']) assert.equal(spill.spillIdOf(id), id);
  for (const id of ['a'.repeat(7), 'a'.repeat(65), 'abcdefgh.', 'abc/defgh', 'abcdefgh\n', null, {}]) assert.equal(spill.spillIdOf(id), undefined, String(id));
  assert.equal(spill.SPILL_FOLDER, 'inspector-spill');
  assert.equal(spill.SPILL_BUDGET_BYTES, 128 * 1024 * 1024);
  assert.equal(spill.SPILL_MAX_AGE_MS, 7 * 24 * 3600 * 1000);
});

test('readSpill: the spill\'s own parts in numeric order; other files and spills are left out; keep bounds the result', async (t) => {
  const dir = folder(t);
  await part(join(dir, 'spillid01-10.pcapng'), [message(10), message(11)]);
  await part(join(dir, 'spillid01-9.pcapng'), [message(9)]);
  await part(join(dir, 'spillid012-1.pcapng'), [message(99)]);
  await part(join(dir, 'xspillid01-1.pcapng'), [message(98)]);
  await part(join(dir, 'spillid01-1.pcapng.old'), [message(97)]);
  await part(join(dir, 'spillid01-x.pcapng'), [message(96)]);
  const seqs = async (keep) => (await spill.readSpill(dir, 'spillid01', keep)).map((e) => e.timestamp - 1764000000000);
  assert.deepEqual(await seqs(100), [9, 10, 11]);
  assert.deepEqual(await seqs(2), [10, 11]);
  assert.deepEqual(await seqs(1), [11]);
  assert.deepEqual(await spill.readSpill(join(dir, 'absent'), 'spillid01', 10), [], 'no folder: nothing');
  // A long part, read with a small keep: the newest `keep` entries, whatever the reader's batches.
  await part(join(dir, 'longspill-0.pcapng'), Array.from({ length: 5000 }, (_, i) => message(i)));
  const newest = await spill.readSpill(dir, 'longspill', 3);
  assert.deepEqual(newest.map((e) => e.timestamp - 1764000000000), [4997, 4998, 4999]);
});

test('removeOldSpills: only .pcapng files older than SPILL_MAX_AGE_MS go; a missing folder is fine', async (t) => {
  const dir = folder(t);
  const old = (Date.now() - spill.SPILL_MAX_AGE_MS - 60_000) / 1000;
  const recent = (Date.now() - spill.SPILL_MAX_AGE_MS + 60_000) / 1000;
  for (const [name, age] of [['old-0.pcapng', old], ['old.txt', old], ['recent-0.pcapng', recent]]) {
    writeFileSync(join(dir, name), 'x');
    utimesSync(join(dir, name), age, age);
  }
  await spill.removeOldSpills(dir);
  assert.deepEqual(readdirSync(dir).sort(), ['old.txt', 'recent-0.pcapng']);
  await spill.removeOldSpills(dir, Date.now() + 120_000);
  assert.deepEqual(readdirSync(dir), ['old.txt'], 'now the other one is old too');
  await spill.removeOldSpills(join(dir, 'absent'));
});

test('a spill whose folder cannot be made fails once, says so, and takes nothing more', async (t) => {
  const dir = folder(t);
  writeFileSync(join(dir, 'file'), 'x');
  const failures = [];
  const file = new spill.SpillFile(join(dir, 'file', 'sub'), 'failing01', 'c', 'peer', undefined, (error) => failures.push(error.code));
  file.write(message(0));
  await file.flushed();
  assert.deepEqual(failures, ['ENOTDIR']);
  file.write(message(1));
  await file.flushed();
  await file.close();
  assert.deepEqual(failures, ['ENOTDIR'], 'told once; nothing retried');
});

test('entries while the first part opens are queued up to 100,000; a closed spill takes nothing', async (t) => {
  const dir = folder(t);
  const file = new spill.SpillFile(dir, 'queuedspill', 'c', 'observer');
  for (let i = 0; i < 100_005; i++) file.write(message(i));
  await file.flushed();
  await file.close();
  file.write(message(200_000));
  const back = await spill.readSpill(dir, 'queuedspill', 200_000);
  assert.equal(back.length, 100_000, 'the queue bound: the entries past it were dropped');
  assert.equal(back.at(-1).timestamp - 1764000000000, 99_999);
});

test('a spill part names the channel and says it is the restore spill', async (t) => {
  const dir = folder(t);
  const file = new spill.SpillFile(dir, 'namedspill', 'orders', 'observer');
  file.write(message(1));
  await file.close();
  const parsed = parsePcapng(readFileSync(join(dir, 'namedspill-0.pcapng')));
  assert.equal(parsed.application, 'sipc inspector (restore spill)');
  assert.deepEqual(parsed.interfaces.map((i) => i.name), ['orders']);
  assert.ok(readFileSync(join(dir, 'namedspill-0.pcapng')).includes(Buffer.from('sipc channel (observer)')));
});
