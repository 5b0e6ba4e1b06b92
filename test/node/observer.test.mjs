// Observer: live traffic of a channel between two other processes, read-only.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../debris.mjs';
import { command } from '../emulator.mjs';
import {
  api, cleanup, whileObserverStopped, keepAliveTimers, observeTracked, openTracked, PEER_WAIT_MS, scaled, SIPC, startCli, startNode, uniqueName, waitForChannel, waitUntil,
  within,
} from './helpers.mjs';

afterEach(cleanup);

/** Collects observed messages until `until(messages)` holds. */
/** A client of `name` (queue depth 4) that sends 'm0'..'m<total-1>', each after the answer to the one before, then closes. */
function startPingPongClient(name, total) {
  return startNode(`
    const c = await api.open(name, { queueDepth: 4 });
    await c.connect();
    for (let i = 0; i < ${total}; i++) { await c.send('m' + i); await c.receive(); }
    await c.close();
  `, { name });
}

function collect(observer, until, ms) {
  const messages = [];
  return within(ms, new Promise((resolve) => {
    observer.on('message', (m) => {
      messages.push(m);
      if (until(messages)) resolve(messages);
    });
  }), 'observed traffic');
}

test('an observer sees both directions between sipc echo and a Node client, without consuming', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('observe');
  startCli(['echo', name, '--depth', '64']);
  await waitForChannel(name);
  const observer = await observeTracked(name);
  assert.equal(observer.name, name);
  assert.equal(observer.info().name, name);
  const seen = collect(observer, (all) => all.length >= 40, scaled(15000));
  const client = startNode(`
    const c = await api.open(name, { queueDepth: 64 });
    await c.connect();
    const back = [];
    for (let i = 0; i < 20; i++) { await c.send('q' + i); back.push((await c.receive()).toString()); }
    console.log(JSON.stringify(back));
    await c.close();
  `, { name });
  const result = await client.done;
  assert.equal(result.code, 0, result.stderr);
  // The observer took nothing away from the peers.
  assert.deepEqual(JSON.parse(result.stdout), Array.from({ length: 20 }, (_, i) => `q${i}`));
  const messages = await seen;
  // The client asks and the echo answers the same text: each question is seen going to the server before its answer.
  const order = messages.map((m) => `${m.direction} ${m.data}`);
  for (let i = 0; i < 20; i++) assert.ok(order.indexOf(`to-server q${i}`) < order.indexOf(`to-client q${i}`), order.join(', '));
  for (const direction of ['to-server', 'to-client']) {
    const one = messages.filter((m) => m.direction === direction);
    assert.deepEqual(one.map((m) => m.data.toString()), Array.from({ length: 20 }, (_, i) => `q${i}`), direction);
    assert.deepEqual(one.map((m) => m.sequence), Array.from({ length: 20 }, (_, i) => i), direction);
    for (const m of one) {
      assert.equal(m.missed, 0);
      assert.equal(m.length, m.data.length);
      assert.ok(m.timestamp instanceof Date && Math.abs(m.timestamp.getTime() - Date.now()) < 60000);
      // The send time in µs, read from the u64 of ns in two halves (no BigInt per message): an integer near now.
      assert.ok(Number.isSafeInteger(m.timestampUs) && Math.abs(m.timestampUs - Date.now() * 1000) < 60e6, String(m.timestampUs));
    }
  }
});

test('an observer truncates to its capacity, and accounts for every message while this thread was not reading', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('missed');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  const observedSince = Date.now();
  const observer = await observeTracked(name, { capacity: 3 });
  // The observer's native thread goes on copying (into up to 16 MiB) while this thread is blocked; what it could not
  // copy in time (a plain observer on a busy machine) is counted as missed: shown + missed is every message.
  const total = 1500;
  const messages = [];
  const complete = (direction) => {
    const one = messages.filter((m) => m.direction === direction);
    return one.length + one.reduce((sum, m) => sum + m.missed, 0);
  };
  // Bounds within the test's own 60 s: 1,500 round trips took over 10 s under wine at load 23.
  const seen = within(scaled(50000), new Promise((resolve) => {
    observer.on('message', (m) => {
      messages.push(m);
      if (complete('to-server') >= total && complete('to-client') >= total) resolve();
    });
  }), 'observer catching up');
  const marker = join(testTempDir('observer'), 'done');
  const client = startNode(`
    const c = await api.open(name, { queueDepth: 4 });
    await c.connect();
    for (let i = 0; i < ${total}; i++) { await c.send('message ' + i); await c.receive(); }
    require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'done');
    setInterval(() => {}, 1000);
  `, { name });
  // Keep this thread blocked until the peers are done: the observer's native thread cannot hand anything over
  // meanwhile (its notify waits for this thread), yet its copying does not wait for it.
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const stop = Date.now() + scaled(40000);
  while (Date.now() < stop && !existsSync(marker)) Atomics.wait(pause, 0, 0, 20);
  assert.ok(existsSync(marker), 'the peers finished');
  rmSync(marker, { force: true });
  client.child.kill();
  await seen;
  assert.equal(complete('to-server'), total);
  assert.equal(complete('to-client'), total);
  for (const m of messages) {
    assert.equal(m.data.length, 3);
    assert.equal(m.data.toString(), 'mes');
    assert.ok(m.length >= 'message 0'.length);
  }
  // The counters agree with what was handed out, and every miss has its cause.
  const stats = observer.stats();
  assert.equal(stats.messages, messages.length);
  assert.equal(stats.missed, messages.reduce((sum, m) => sum + m.missed, 0));
  assert.equal(stats.missedAsleep + stats.missedAway + stats.missedRunning, stats.missed);
  assert.ok(stats.woken <= stats.sleeps && stats.spinHits <= stats.spins, JSON.stringify(stats));
  assert.ok(stats.deliveries >= 1 && stats.largestDelivery >= 1 && stats.largestDelivery <= messages.length, JSON.stringify(stats));
  assert.equal(stats.producerWakes, 0);
  // Durations in µs (the library counts ns): none longer than the observation itself; a mean within its maximum.
  const observedUs = (Date.now() - observedSince + 1) * 1000;
  for (const longest of ['wakeLatencyMaxUs', 'longestMissGapUs', 'longestAwayUs']) {
    assert.ok(stats[longest] >= 0 && stats[longest] <= observedUs, `${longest} ${stats[longest]} of ${observedUs} µs observed`);
  }
  assert.ok(stats.wakeLatencyMeanUs === null || (stats.wakeLatencyMeanUs > 0 && stats.wakeLatencyMeanUs <= stats.wakeLatencyMaxUs), JSON.stringify(stats));
  // A wake-up is timed when its look finds a message not missed. A look that found misses counted at least one, and
  // only the client's attach and close can wake it without a message: beyond those, wake-ups found messages.
  if (stats.woken > stats.missed + 2) assert.notEqual(stats.wakeLatencyMeanUs, null, JSON.stringify(stats));
  await observer.close();
  assert.throws(() => observer.stats(), { code: 'CLOSED' });
});

test("an observer reports 'gone' when the channel is removed; unknown names are NOT_FOUND", { timeout: scaled(60000) }, async () => {
  await assert.rejects(api.observe(uniqueName('nobody')), { code: 'NOT_FOUND' });
  const name = uniqueName('gone');
  const echo = startCli(['echo', name]);
  await waitForChannel(name);
  const observer = await observeTracked(name);
  const gone = new Promise((resolve) => observer.once('gone', resolve));
  echo.child.kill('SIGTERM');
  await echo.done;
  await api.remove(name, true).catch(() => { /* the echo removed it on its way out */ });
  await within(PEER_WAIT_MS, gone, "'gone'");
});

test('a flood that passes while the event loop is blocked is all copied, and handed out in slices', { timeout: scaled(90000) }, async () => {
  const name = uniqueName('blocked');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  const observer = await observeTracked(name, { lossless: true, stallTimeoutMs: 10000 });
  const total = 3000;
  const messages = [];
  let emittedBeforeNextTurn = null;
  const seen = within(scaled(60000), new Promise((resolve) => {
    observer.on('message', (m) => {
      if (messages.length === 0) setImmediate(() => { emittedBeforeNextTurn = messages.length; });
      messages.push(m);
      if (messages.length === 2 * total) resolve();
    });
  }), 'every message');
  // The whole exchange runs while this thread is blocked in spawnSync: only the observer's native thread copies (the
  // lossless peers wait for it, never for JavaScript), and everything it copied waits for the event loop.
  const lines = Array.from({ length: total }, (_, i) => `m${i}`);
  const client = spawnSync(...command(SIPC, ['connect', name, '--timeout', String(scaled(15000))]), { input: lines.join('\n') + '\n', timeout: scaled(60000) });
  assert.equal(client.status, 0, client.stderr?.toString());
  await seen;
  for (const direction of ['to-server', 'to-client']) {
    const one = messages.filter((m) => m.direction === direction);
    assert.deepEqual(one.map((m) => m.data.toString()), lines, direction);
    assert.ok(one.every((m) => m.missed === 0), direction);
  }
  // Handed out in slices: a callback queued at the first message ran long before the last one was emitted.
  assert.ok(emittedBeforeNextTurn !== null && emittedBeforeNextTurn < 2 * total, `first turn emitted ${emittedBeforeNextTurn}`);
  // At most 1,024 messages a turn, and the burst that waited for the blocked thread filled such a turn.
  const { deliveries, largestDelivery } = observer.stats();
  assert.equal(largestDelivery, 1024, 'the largest delivery');
  assert.ok(deliveries >= Math.ceil(2 * total / 1024), `${deliveries} deliveries`);
  await api.remove(name, true);
});

test('a lossless observer misses nothing at full speed and tells who attached, closed and died', { timeout: scaled(90000) }, async () => {
  const name = uniqueName('lossless');
  const echo = startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  await assert.rejects(api.observe(name, { lossless: true, stallTimeoutMs: 10001 }), { code: 'INVALID_ARGUMENT' });
  const observer = await observeTracked(name, { lossless: true, stallTimeoutMs: 10000 });
  const events = [];
  observer.on('event', (e) => events.push(e));
  const total = 3000;
  const messages = [];
  const seen = within(scaled(60000), new Promise((resolve) => {
    observer.on('message', (m) => {
      messages.push(m);
      if (messages.length === 2 * total) resolve();
    });
  }), 'every message');
  const client = startPingPongClient(name, total);
  const result = await client.done;
  assert.equal(result.code, 0, result.stderr);
  await seen;
  for (const direction of ['to-server', 'to-client']) {
    const one = messages.filter((m) => m.direction === direction);
    assert.deepEqual(one.map((m) => m.sequence), Array.from({ length: total }, (_, i) => i), direction);
    assert.deepEqual(one.map((m) => m.data.toString()), Array.from({ length: total }, (_, i) => `m${i}`), direction);
  }
  for (const m of messages) {
    assert.equal(m.missed, 0);
    assert.equal(m.discarded, 0);
    assert.equal(m.undeliverable, false);
    assert.ok(Number.isInteger(m.timestampUs) && Math.abs(m.timestampUs / 1000 - Date.now()) < 60000);
    assert.equal(m.timestamp.getTime(), Math.floor(m.timestampUs / 1000));
  }
  const died = new Promise((resolve) => observer.on('event', (e) => { if (e.kind === 'died') resolve(); }));
  echo.child.kill('SIGKILL');
  await within(PEER_WAIT_MS, died, "the echo's death");
  const timeline = events.map((e) => `${e.kind} ${e.role} ${e.pid} ${e.session}`);
  assert.deepEqual(timeline, [
    `attached server ${echo.child.pid} 1`,
    `attached client ${client.child.pid} 1`,
    `closed client ${client.child.pid} 1`,
    `died server ${echo.child.pid} 1`,
  ]);
  for (const e of events) {
    assert.ok(Number.isInteger(e.timestampUs) && e.timestamp instanceof Date && !('reason' in e), JSON.stringify(e));
    assert.equal(e.timestamp.getTime(), Math.floor(e.timestampUs / 1000), JSON.stringify(e));
  }
  await api.remove(name, true);
});

test("'batch' hands out the same messages as 'message', in columns, split by the events in their place", { timeout: scaled(90000) }, async () => {
  const name = uniqueName('batch');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  // Capacity 6: the longer messages arrive truncated, their full length in `lengths`.
  const observer = await observeTracked(name, { lossless: true, stallTimeoutMs: 10000, capacity: 6 });
  const total = 500;
  const timeline = [];
  const batches = [];
  const messages = [];
  const done = within(scaled(60000), new Promise((resolve) => {
    observer.on('batch', (batch) => {
      batches.push(batch);
      timeline.push({ batch: batch.count });
    });
    observer.on('message', (m) => {
      messages.push(m);
      if (messages.length === 2 * total) resolve();
    });
    observer.on('event', (e) => timeline.push({ event: `${e.kind} ${e.role}` }));
  }), 'every message');
  const closed = within(scaled(60000), new Promise((resolve) => observer.on('event', (e) => { if (e.kind === 'closed') resolve(); })),
    "the client's close");
  const client = startPingPongClient(name, total);
  const result = await client.done;
  assert.equal(result.code, 0, result.stderr);
  await done;
  await closed;
  // The batches hold exactly the messages 'message' handed out, field by field.
  const rows = [];
  for (const batch of batches) {
    assert.ok(batch instanceof api.ObservedBatch && batch.count >= 1);
    for (const column of ['offsets', 'copied', 'lengths', 'directions', 'sequences', 'timestampsUs', 'missed', 'discarded', 'undeliverable']) {
      assert.equal(batch[column].length, batch.count, column);
    }
    let offset = 0;
    for (let i = 0; i < batch.count; i++) {
      assert.equal(batch.offsets[i], offset, 'back to back from the start of data');
      offset += batch.copied[i];
      rows.push({
        direction: batch.direction(i), code: batch.directions[i], sequence: batch.sequences[i], timestampUs: batch.timestampsUs[i],
        length: batch.lengths[i], bytes: batch.payload(i).toString(), missed: batch.missed[i], discarded: batch.discarded[i],
        undeliverable: batch.undeliverable[i] !== 0, message: batch.message(i),
      });
    }
    assert.equal(batch.data.length, offset);
    for (const outside of [batch.count, -1, 0.5]) {
      assert.throws(() => batch.message(outside), { name: 'RangeError', message: `message ${outside} of a batch of ${batch.count}` }, String(outside));
    }
  }
  assert.equal(rows.length, messages.length);
  rows.forEach((row, k) => {
    const m = messages[k];
    assert.deepEqual(
      [row.direction, row.sequence, row.timestampUs, row.length, row.bytes, row.missed, row.discarded, row.undeliverable],
      [m.direction, m.sequence, m.timestampUs, m.length, m.data.toString(), m.missed, m.discarded, m.undeliverable], `row ${k}`);
    assert.equal(row.code, m.direction === 'to-client' ? api.TO_CLIENT : api.TO_SERVER);
    assert.deepEqual(row.message, m);
  });
  for (const direction of ['to-server', 'to-client']) {
    const one = rows.filter((row) => row.direction === direction);
    assert.deepEqual(one.map((row) => row.bytes), Array.from({ length: total }, (_, i) => `m${i}`.slice(0, 6)), direction);
    assert.deepEqual(one.map((row) => row.length), Array.from({ length: total }, (_, i) => `m${i}`.length), direction);
    assert.deepEqual(one.map((row) => row.sequence), Array.from({ length: total }, (_, i) => i), direction);
  }
  // Events come between the batches, in time order: the client's attach before its first message, its close after the
  // last; no batch is empty.
  const order = timeline.map((entry) => entry.event ?? 'batch');
  const firstBatch = order.indexOf('batch');
  const lastBatch = order.lastIndexOf('batch');
  assert.ok(order.indexOf('attached client') >= 0 && order.indexOf('attached client') < firstBatch, order.join(', '));
  assert.ok(order.indexOf('closed client') > lastBatch, order.join(', '));
  assert.equal(timeline.filter((entry) => entry.batch !== undefined).reduce((sum, entry) => sum + entry.batch, 0), 2 * total);
  await api.remove(name, true);
});

test("an observer with only a 'batch' listener keeps the process alive until its traffic comes", { timeout: scaled(60000) }, async () => {
  const name = uniqueName('batchalive');
  startCli(['echo', name]);
  await waitForChannel(name);
  // The child listens for batches only: were 'batch' not a reason to keep the event loop alive, it would end at once.
  const watcher = startNode(`
    const observer = await api.observe(name);
    observer.on('batch', async (batch) => {
      console.log(batch.payload(0).toString());
      await observer.close();
    });
    console.log('observing');
  `, { name });
  await within(PEER_WAIT_MS, watcher.waitFor('observing'), 'the child observing');
  const client = startNode(`
    const c = await api.open(name);
    await c.connect();
    await c.send('hello');
    await c.receive();
    await c.close();
  `, { name });
  assert.equal((await client.done).code, 0);
  const result = await watcher.done;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), ['observing', 'hello']);
});

test('events in the middle of a take split it into batches whose bytes and offsets start at their own first message', { timeout: scaled(90000) }, async () => {
  const name = uniqueName('batchsplit');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  const observer = await observeTracked(name, { lossless: true, stallTimeoutMs: 10000 });
  const timeline = [];
  const batches = [];
  const lines = (client) => Array.from({ length: 40 }, (_, i) => `${client}${i}`.padEnd(3 + (i % 5), '.'));
  const expected = 2 * 2 * 40;
  let rows = 0;
  const done = within(scaled(60000), new Promise((resolve) => {
    observer.on('batch', (batch) => {
      batches.push(batch);
      timeline.push(`batch ${batch.count}`);
      rows += batch.count;
    });
    observer.on('event', (e) => {
      timeline.push(`${e.kind} ${e.role}`);
      if (rows === expected && e.kind === 'closed' && timeline.filter((t) => t === 'closed client').length === 2) resolve();
    });
  }), 'both clients');
  // Two clients, one after the other, while this thread is blocked: the lossless observer's native thread copies all of
  // it (both clients' messages and attach and close events, far fewer than a take holds) before JavaScript takes any.
  for (const client of ['a', 'b']) {
    const run = spawnSync(...command(SIPC, ['connect', name, '--timeout', String(scaled(15000))]), {
      input: lines(client).join('\n') + '\n', timeout: scaled(60000),
    });
    assert.equal(run.status, 0, run.stderr?.toString());
  }
  await done;
  // The events came between the batches, the clients' messages never in one batch.
  const order = timeline.filter((entry) => !entry.startsWith('attached server'));
  assert.deepEqual(order.map((entry) => entry.replace(/^batch \d+$/, 'batch')).filter((entry, i, all) => entry !== 'batch' || all[i - 1] !== 'batch'),
    ['attached client', 'batch', 'closed client', 'attached client', 'batch', 'closed client'], timeline.join(', '));
  const texts = [];
  for (const batch of batches) {
    const clients = new Set();
    for (let i = 0; i < batch.count; i++) {
      const text = batch.payload(i).toString();
      assert.equal(batch.offsets[i], i === 0 ? 0 : batch.offsets[i - 1] + batch.copied[i - 1], 'offsets from the batch\'s own start');
      assert.equal(batch.message(i).data.toString(), text);
      clients.add(text[0]);
      if (batch.direction(i) === 'to-server') texts.push(text);
    }
    assert.equal(batch.data.length, batch.offsets[batch.count - 1] + batch.copied[batch.count - 1]);
    assert.equal(clients.size, 1, 'one client per batch');
  }
  assert.deepEqual(texts, [...lines('a'), ...lines('b')]);
  await api.remove(name, true);
});

test("an observer keeps the process alive while something listens for what it hands out, and no longer once the channel is gone", async () => {
  const name = uniqueName('observer-alive');
  const server = await openTracked(name);
  const observer = await observeTracked(name);
  const { messages, missed, wakeLatencyMeanUs, wakeLatencyMaxUs, deliveries, largestDelivery } = observer.stats();
  assert.deepEqual({ messages, missed, wakeLatencyMeanUs, wakeLatencyMaxUs, deliveries, largestDelivery },
    { messages: 0, missed: 0, wakeLatencyMeanUs: null, wakeLatencyMaxUs: 0, deliveries: 0, largestDelivery: 0 }, 'no traffic yet: no mean');
  const idle = keepAliveTimers();
  const nothing = () => {};
  for (const event of ['message', 'batch', 'event', 'gone']) {
    observer.on(event, nothing);
    await waitUntil(() => keepAliveTimers() === idle + 1, `a '${event}' listener keeps the process alive`);
    observer.off(event, nothing);
    assert.equal(keepAliveTimers(), idle, `without listeners the observer keeps nothing alive ('${event}' removed)`);
  }
  observer.on('error', nothing);
  await new Promise((resolve) => setImmediate(resolve)); // the listener's check runs in a microtask
  assert.equal(keepAliveTimers(), idle, "an 'error' listener alone waits for nothing");
  observer.on('message', nothing);
  await waitUntil(() => keepAliveTimers() === idle + 1, "a 'message' listener keeps the process alive");
  const gone = new Promise((resolve) => observer.once('gone', resolve));
  await server.close(); // its only holder: the channel is removed
  await within(PEER_WAIT_MS, gone, "'gone'");
  assert.equal(keepAliveTimers(), idle, "an observer whose channel is gone keeps nothing alive, whatever listens");
});

test("a lossless observer that stops copying is dropped by the waiting peers, goes on as a plain one, and is told why ('stalled')", { skip: process.platform === 'win32', timeout: scaled(90000) }, async () => {
  const name = uniqueName('stalled');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  // The observer runs in a child process, so that SIGSTOP stops its copying thread while the peers run on.
  const watcher = startNode(`
    const observer = await api.observe(name, { lossless: true, stallTimeoutMs: 100 });
    let seen = 0;
    observer.on('message', () => { seen++; });
    observer.on('event', (e) => {
      if (e.role === null) console.log(e.kind + ' ' + e.reason + ' session ' + e.session);
    });
    console.log('observing');
  `, { name });
  await whileObserverStopped(watcher, () => {
    // More messages each way than the ring keeps for the observer (4,096 of these at depth 4, helper/PROTOCOL.md
    // section 2, "Records, index and history"): a peer soon waits for the stopped observer, and drops it after 100 ms.
    const lines = Array.from({ length: 5000 }, (_, i) => `m${i}`);
    const client = spawnSync(...command(SIPC, ['connect', name, '--timeout', String(scaled(15000))]), { input: lines.join('\n') + '\n', timeout: scaled(60000) });
    // It ended while the observer was stopped: the peers went on without it. (Not every echo need be in its output:
    // `sipc connect` stops listening 500 ms after the last reply, which a loaded machine can exceed.)
    assert.equal(client.status, 0, client.stderr?.toString());
  });
  await within(PEER_WAIT_MS, watcher.waitFor('lossless-dropped'), "the observer's own event");
  watcher.child.kill();
  const { stdout } = await watcher.done;
  assert.match(stdout, /^lossless-dropped stalled session 0$/m);
});

test('observe() checks its options, naming each and its range, and takes the bounds themselves; a closed observer says so', async () => {
  const name = uniqueName('observe-opts');
  await openTracked(name);
  const SIPC_MAX_MESSAGE_LIMIT = 67108864; // abi.ts, from sipc.h
  const capacity = `capacity must be an integer from 0 to ${SIPC_MAX_MESSAGE_LIMIT}`;
  const stall = 'stallTimeoutMs must be an integer from 0 to 10000';
  const refused = [
    [{ capacity: -1 }, capacity], [{ capacity: SIPC_MAX_MESSAGE_LIMIT + 1 }, capacity], [{ capacity: 1.5 }, capacity],
    [{ stallTimeoutMs: -1 }, stall], [{ stallTimeoutMs: 10001 }, stall], [{ stallTimeoutMs: 0.5 }, stall],
  ];
  for (const [options, message] of refused) {
    await assert.rejects(api.observe(name, options), { name: 'SipcError', code: 'INVALID_ARGUMENT', message }, JSON.stringify(options));
  }
  const bounds = [{ capacity: 0 }, { capacity: SIPC_MAX_MESSAGE_LIMIT }, { lossless: true, stallTimeoutMs: 0 }, { lossless: true, stallTimeoutMs: 10000 }];
  for (const options of bounds) await (await api.observe(name, options)).close();
  const observer = await api.observe(name);
  await observer.close();
  assert.throws(() => observer.info(), { code: 'CLOSED', message: `reading the state of channel '${name}' failed: the observer is closed` });
  assert.throws(() => observer.stats(), { code: 'CLOSED', message: `reading the statistics of the observer of '${name}' failed: the observer is closed` });
  await observer.close(); // again: nothing
});

test('a message whose receiver closed without taking it is seen as undeliverable, in the message and in its batch column', {
  skip: process.platform === 'win32', timeout: scaled(60000),
}, async () => {
  const name = uniqueName('undeliverable');
  const server = await openTracked(name);
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  // The observer runs in a child process, so that SIGSTOP holds its copying thread until the server has closed: only
  // then does it read a message addressed to a session that left without taking it.
  const watcher = startNode(`
    const observer = await api.observe(name);
    observer.on('batch', async (batch) => {
      for (let i = 0; i < batch.count; i++) {
        const m = batch.message(i);
        console.log(JSON.stringify({ text: m.data.toString(), direction: m.direction, length: m.length, lengthColumn: batch.lengths[i],
          undeliverable: m.undeliverable, undeliverableColumn: batch.undeliverable[i] }));
      }
      await observer.close();
    });
    console.log('observing');
  `, { name });
  await whileObserverStopped(watcher, async () => {
    await client.send('for the server'); // the server is there: the message is addressed to its session
    await server.close(); // without taking it
  });
  const result = await within(PEER_WAIT_MS, watcher.done, 'the observer seeing the message');
  assert.equal(result.code, 0, result.stderr);
  const [, seen] = result.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(seen), {
    text: 'for the server', direction: 'to-server', length: 14, lengthColumn: 14, undeliverable: true, undeliverableColumn: 1,
  });
});

test('a plain observer held up while the peers go on counts what it missed, each miss with its cause, and the longest gap before one', {
  skip: process.platform === 'win32', timeout: scaled(60000),
}, async () => {
  const name = uniqueName('missgap');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  // More than the ring keeps for the observer (4,096 of these at depth 4, helper/PROTOCOL.md section 2).
  const total = 5000;
  const observedSince = Date.now();
  // Each direction's messages are all accounted for (handed out, or missed just before one that was) when the child
  // prints its statistics.
  const watcher = startNode(`
    const observer = await api.observe(name);
    const accounted = { 'to-server': 0, 'to-client': 0 };
    observer.on('message', async (m) => {
      accounted[m.direction] += 1 + m.missed;
      if (accounted['to-server'] === ${total} && accounted['to-client'] === ${total}) {
        console.log('stats ' + JSON.stringify(observer.stats()));
        await observer.close();
      }
    });
    console.log('observing');
  `, { name });
  await whileObserverStopped(watcher, () => {
    // 5,000 messages each way while the observer cannot look: the first ones are overwritten before it does.
    const lines = Array.from({ length: total }, (_, i) => `m${i}`);
    const client = spawnSync(...command(SIPC, ['connect', name, '--timeout', String(scaled(15000))]), { input: lines.join('\n') + '\n', timeout: scaled(40000) });
    assert.equal(client.status, 0, client.stderr?.toString());
  });
  const result = await within(scaled(30000), watcher.done, "the observer's account");
  const observedUs = (Date.now() - observedSince + 1) * 1000;
  assert.equal(result.code, 0, result.stderr);
  const stats = JSON.parse(result.stdout.split('stats ')[1]);
  assert.ok(stats.missed > 0 && stats.messages + stats.missed === 2 * total, JSON.stringify(stats));
  assert.equal(stats.missedAsleep + stats.missedAway + stats.missedRunning, stats.missed);
  // The look that found messages gone came after the stop, the look before it before: a gap within the observation (µs).
  assert.ok(stats.longestMissGapUs > 0 && stats.longestMissGapUs <= observedUs, `${stats.longestMissGapUs} of ${observedUs} µs observed`);
});

test('only event-loop turns that hand out messages count as deliveries: turns of events alone do not', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('deliveries');
  const server = await openTracked(name);
  const observer = await observeTracked(name);
  const event = (kind) => new Promise((resolve) => observer.on('event', (e) => { if (e.kind === kind && e.role === 'client') resolve(); }));
  const attached = event('attached');
  const client = await openTracked(name);
  await within(PEER_WAIT_MS, attached, "the client's attach");
  const delivered = () => { const { deliveries, largestDelivery } = observer.stats(); return { deliveries, largestDelivery }; };
  assert.deepEqual(delivered(), { deliveries: 0, largestDelivery: 0 }, 'after an event alone');
  const message = new Promise((resolve) => observer.once('message', resolve));
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  await client.send('one');
  await within(PEER_WAIT_MS, message, 'the message');
  assert.deepEqual(delivered(), { deliveries: 1, largestDelivery: 1 }, 'after the message');
  const closed = event('closed');
  await client.close();
  await within(PEER_WAIT_MS, closed, "the client's close");
  assert.deepEqual(delivered(), { deliveries: 1, largestDelivery: 1 }, 'after the close, an event alone');
});

test('an observer closed by a listener in the middle of a take hands out nothing more of it, events included', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('closemidtake');
  startCli(['echo', name, '--depth', '4']);
  await waitForChannel(name);
  const observer = await observeTracked(name, { lossless: true, stallTimeoutMs: 10000 });
  const seen = [];
  const closed = new Promise((resolve) => {
    observer.on('event', (e) => seen.push(`${e.kind} ${e.role}`));
    observer.on('batch', (batch) => {
      seen.push(`batch ${batch.count}`);
      resolve(observer.close());
    });
  });
  // The client attaches, exchanges 5 messages and closes while this thread is blocked: the lossless observer's native
  // thread copies it all, so one take holds the attach, the messages and the close.
  const lines = Array.from({ length: 5 }, (_, i) => `m${i}`);
  const client = spawnSync(...command(SIPC, ['connect', name, '--timeout', String(scaled(15000))]), { input: lines.join('\n') + '\n', timeout: scaled(40000) });
  assert.equal(client.status, 0, client.stderr?.toString());
  await within(PEER_WAIT_MS, closed, 'the first batch');
  await new Promise((resolve) => setImmediate(resolve));
  const order = seen.filter((entry) => entry !== 'attached server');
  assert.deepEqual(order.map((entry) => entry.replace(/^batch \d+$/, 'batch')), ['attached client', 'batch'], `nothing after the close: ${order}`);
});

test("an observed message's send time (µs) lies between the start and the end of its send()", { timeout: scaled(60000) }, async () => {
  const name = uniqueName('sendtime');
  const server = await openTracked(name);
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  const observer = await observeTracked(name);
  const seen = new Promise((resolve) => observer.once('message', resolve));
  const before = Date.now();
  await client.send('when');
  const after = Date.now();
  const { timestampUs } = await within(PEER_WAIT_MS, seen, 'the message');
  // The library stamps the send with the same wall clock, in ns; Date.now() has whole milliseconds.
  assert.ok(timestampUs >= before * 1000 && timestampUs < (after + 1) * 1000, `${timestampUs} µs, send() from ${before} to ${after} ms`);
});
