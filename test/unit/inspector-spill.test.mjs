// The restore spill of a live inspector panel (extension/src/inspector/host/spill.ts): entries written before the
// file is open are kept, the spill rotates within its budget (two parts at most, the newest entries kept), reads back
// in order (a torn last block costs only that entry), and is removed on request or when old.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, utimesSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpill } from './inspector-core.mjs';
import { testTempDir } from '../debris.mjs';

const spill = await loadSpill();

const message = (i, size = 100) => ({ kind: 'message', seq: i, direction: i % 2 ? 'to-client' : 'to-server', timestamp: 1764000000000 + i,
  length: size, data: new Uint8Array(size).fill(i & 0xff) });

async function settle(file) {
  // Each part is closed by close(); the test waits for that, not for time.
  await file.close();
}

test('entries before the file is open are kept; the spill reads back in order and is removed on request', async (t) => {
  const folder = testTempDir('spill');
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const file = new spill.SpillFile(folder, 'abcdefgh12', 'chan', 'observer');
  for (let i = 0; i < 50; i++) file.write(message(i));
  file.write({ kind: 'event', seq: 50, timestamp: 1764000000050, event: 'peer-died', detail: 'client pid 7 died' });
  await settle(file);
  const back = await spill.readSpill(folder, 'abcdefgh12', 1000);
  assert.equal(back.length, 51);
  assert.deepEqual(back.slice(0, 50).map((e) => [e.direction, e.data[0]]), Array.from({ length: 50 }, (_, i) => [i % 2 ? 'to-client' : 'to-server', i]));
  assert.deepEqual([back[50].event, back[50].detail], ['peer-died', 'client pid 7 died']);
  assert.deepEqual((await spill.readSpill(folder, 'abcdefgh12', 10)).map((e) => e.timestamp), back.slice(41).map((e) => e.timestamp), 'keep bounds it: the newest win');
  await new spill.SpillFile(folder, 'otherspill1', 'chan', 'observer').remove();
  await file.remove();
  assert.deepEqual(readdirSync(folder), []);
  assert.deepEqual(await spill.readSpill(folder, 'abcdefgh12', 10), [], 'a spill that is gone reads as nothing');
});

test('the spill rotates within its budget: two parts at most, the newest entries kept', async (t) => {
  const folder = testTempDir('spill');
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const budget = 64 * 1024;
  const file = new spill.SpillFile(folder, 'rotating01', 'chan', 'peer', budget);
  for (let i = 0; i < 400; i++) {
    file.write(message(i, 1000));
    // The entries reach the disk in batches of ten, as a live channel's would over time.
    if (i % 10 === 9) await file.flushed();
  }
  await settle(file);
  const parts = readdirSync(folder).sort();
  assert.ok(parts.length <= 2, `at most two parts: ${parts}`);
  const total = parts.reduce((n, p) => n + statSync(join(folder, p)).size, 0);
  // Each part ends at half the budget plus what arrived while the next one was being opened (a batch here).
  assert.ok(total <= budget + 2 * 11 * 1024, `within the budget: ${total} (${parts})`);
  const back = await spill.readSpill(folder, 'rotating01', 100000);
  assert.ok(back.length > 20 && back.length < 400, `some entries (${back.length})`);
  assert.equal(back.at(-1).data[0], 399 & 0xff, 'the newest entry is kept');
  const seqs = back.map((e) => e.timestamp - 1764000000000);
  assert.deepEqual(seqs, Array.from({ length: back.length }, (_, i) => 400 - back.length + i), 'a contiguous run ending at the newest');
});

test('a torn last block costs only that entry; ids from the webview state are checked; old spills are removed', async (t) => {
  const folder = testTempDir('spill');
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const file = new spill.SpillFile(folder, 'tornspill1', 'chan', 'peer');
  for (let i = 0; i < 5; i++) file.write(message(i));
  await settle(file);
  const [part] = readdirSync(folder);
  truncateSync(join(folder, part), statSync(join(folder, part)).size - 5);
  assert.equal((await spill.readSpill(folder, 'tornspill1', 100)).length, 4);

  for (const bad of [undefined, 42, '', 'short', '../../etc/passwd', 'a'.repeat(65), 'has space1']) assert.equal(spill.spillIdOf(bad), undefined, String(bad));
  assert.equal(spill.spillIdOf('Ab_-0123456789'), 'Ab_-0123456789');

  writeFileSync(join(folder, 'stale-0.pcapng'), 'x');
  const old = (Date.now() - spill.SPILL_MAX_AGE_MS - 60_000) / 1000;
  utimesSync(join(folder, 'stale-0.pcapng'), old, old);
  await spill.removeOldSpills(folder);
  assert.deepEqual(readdirSync(folder), [part], 'the old spill went, the recent one stayed');
});
