// Observer (extension/src/api/observer.ts): cases written for mutants that the other observer tests left alive
// (session 10's Stryker runs). Each test names the code it pins down.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { command } from '../emulator.mjs';
import {
  api, cleanup, whileObserverStopped, observeTracked, openTracked, PEER_WAIT_MS, scaled, SIPC, startCli, startNode, uniqueName, waitForChannel, waitUntil, within,
} from './helpers.mjs';

afterEach(cleanup);

// BatchColumns lays its columns out in one ArrayBuffer: 4 columns of doubles, 3 of u32, then directions and
// undeliverable (bytes). With the undeliverable column's offset wrong (`doubles - words + rows` or `doubles + words -
// rows`, it then lies inside the missed or lengths column), several undeliverable rows in one take overwrite each other's
// fields: one undeliverable message alone, the last row of its take, did not show it.
test('several undeliverable messages taken at once keep their own flag, length and missed count', {
  skip: process.platform === 'win32', timeout: scaled(60000),
}, async () => {
  const name = uniqueName('undeliverable-many');
  const server = await openTracked(name);
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  const texts = Array.from({ length: 9 }, (_, i) => 'x'.repeat(i + 1));
  // The observer runs in a child process, so that SIGSTOP holds its copying thread until the server has closed: then it
  // copies the nine messages (addressed to a session that left without taking them) and the close, and hands them out.
  // The columns of a take have a row per description, events included; the mutants' misplaced flags land in rows that
  // messages 6 to 8 write after them when the take has 9 or 10 rows (with 12, the initial attach events in it, they did not).
  const watcher = startNode(`
    const observer = await api.observe(name);
    const rows = [];
    observer.on('batch', async (batch) => {
      for (let i = 0; i < batch.count; i++) {
        const m = batch.message(i);
        rows.push({ text: m.data.toString(), length: m.length, missed: m.missed, discarded: m.discarded, undeliverable: m.undeliverable,
          columns: [batch.lengths[i], batch.missed[i], batch.discarded[i], batch.undeliverable[i], batch.directions[i]] });
      }
      if (rows.length === ${texts.length}) {
        console.log(JSON.stringify(rows));
        await observer.close();
      }
    });
    // The attach events of the two holders come first, in a take of their own: the take after the stop then holds the
    // nine messages and the server's close alone (10 descriptions), whatever the timing.
    const attached = new Set();
    observer.on('event', (e) => {
      if (e.kind === 'attached') attached.add(e.role);
      if (e.kind === 'attached' && attached.size === 2) console.log('observing');
    });
  `, { name });
  await whileObserverStopped(watcher, async () => {
    for (const text of texts) await client.send(text);
    await server.close(); // without taking them
  });
  const result = await within(PEER_WAIT_MS, watcher.done, 'the observer seeing the messages');
  assert.equal(result.code, 0, result.stderr);
  const rows = JSON.parse(result.stdout.trim().split('\n')[1]);
  assert.deepEqual(rows, texts.map((text) => ({
    text, length: text.length, missed: 0, discarded: 0, undeliverable: true, columns: [text.length, 0, 0, 1, api.TO_SERVER],
  })));
});

// A take's buffer holds at most 1 MiB of messages unless the observer copies more of one message than that
// (Math.max(capacity, TAKE_BYTES)): with the smaller of the two, a message larger than 1 MiB never fitted a take.
test('an observer whose capacity exceeds 1 MiB hands out a message larger than 1 MiB whole', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('observe-large');
  const size = 1536 * 1024;
  const server = await openTracked(name, { maxMessageSize: 2 * 1024 * 1024 });
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  const observer = await observeTracked(name, { capacity: 2 * 1024 * 1024 });
  const failed = new Promise((resolve) => observer.on('error', resolve));
  const seen = new Promise((resolve) => observer.once('message', resolve));
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 7 + (i >> 12)) & 255;
  await client.send(payload);
  const message = await within(PEER_WAIT_MS, Promise.race([seen, failed.then((e) => { throw e; })]), 'the large message');
  assert.equal(message.length, size);
  assert.equal(message.data.length, size);
  assert.ok(message.data.equals(payload), 'the same bytes');
  assert.equal(message.direction, 'to-server');
});

// A turn hands out at most 1,024 messages (SLICE): every take of the turn asks for at most what the turn has left
// (Math.min(BATCH, slice)). A take is also cut at 1 MiB of bytes, so with messages of 3,000 bytes a turn needs three
// takes (349, 349, then what is left of the 1,024; the attach events count too); asking the third for a whole BATCH handed
// out 1,047 in one turn.
test('a turn hands out at most 1,024 messages when the 1 MiB take buffer cuts its takes short', { timeout: scaled(90000) }, async () => {
  const name = uniqueName('slice-bytes');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  const observer = await observeTracked(name, { lossless: true, stallTimeoutMs: 10000 });
  const total = 1000;
  const lines = Array.from({ length: total }, (_, i) => `${i}:`.padEnd(3000, String.fromCharCode(97 + (i % 26))));
  const messages = [];
  const seen = within(scaled(60000), new Promise((resolve) => {
    observer.on('message', (m) => {
      messages.push(m);
      if (messages.length === 2 * total) resolve();
    });
  }), 'every message');
  // The whole exchange (6 MB, below the native thread's 16 MiB lead) runs while this thread is blocked in spawnSync:
  // the lossless observer's native thread copies all of it, and JavaScript then takes it in full turns.
  const client = spawnSync(...command(SIPC, ['connect', name, '--timeout', String(scaled(15000))]), {
    input: lines.join('\n') + '\n', timeout: scaled(60000), maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(client.status, 0, client.stderr?.toString());
  await seen;
  for (const direction of ['to-server', 'to-client']) {
    assert.deepEqual(messages.filter((m) => m.direction === direction).map((m) => m.data.toString()), lines, direction);
  }
  // The first turn found nearly all of it ready: a full turn, whose 1,024 descriptions include the attach events.
  const { largestDelivery } = observer.stats();
  assert.ok(largestDelivery <= 1024 && largestDelivery >= 1024 - 3, `at most 1,024 messages a turn, and a full one: ${largestDelivery}`);
  await api.remove(name, true);
});

// Only `lossless: true` asks for a lossless place (at most two per channel): plain observers take none.
test('plain observers take no lossless place: three of them and two lossless ones observe one channel', async () => {
  const name = uniqueName('plain-places');
  await openTracked(name);
  for (const options of [{}, { lossless: false }, {}]) await observeTracked(name, options);
  await observeTracked(name, { lossless: true });
  await observeTracked(name, { lossless: true });
  await assert.rejects(api.observe(name, { lossless: true }), { code: 'BUSY' }, 'the third lossless one');
});
