// The receive spin and the demand the Node API tells its native thread, observed instead of timed: the API is bundled
// from source with its native bindings counted (wrapped-bindings.mjs), both ends of each channel are in this process
// (the peer's sends are in the shared queue before the receiving side looks), and the spin policy's clock
// (`performance.now()`) is frozen, so a channel stays hot, or goes cold, exactly when the test says.
// What is checked: when a receive or a 'message' listener looks on this thread (sipc_async_channel_take_now), with
// which buffer, spin budget and count; that a spin runs once per event-loop turn and an iterator's read-ahead stops
// at 64 messages; and that the native thread's requested-message count (its `want`, which every take lowers) is
// always exactly what the API believes it told it: never clamped at 0, 0 while paused, the pending receives after.
// Also sends whose results are collected by close(): more than one batch of 256, and a failed send's own error.
// Linux only, like the counting test of channel.test.mjs: esbuild has no binary for the emulated platforms.
// Notifications go through libsipc's relay (SIPC_NODE_NOTIFY=relay, read when an API opens its first handle): its
// notify does not wait for the main thread, so the native threads go on while a test blocks the main thread on purpose
// (with koffi's callback they would wait in their first notify).
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { headerAbi } from '../../extension/scripts/generate-abi.mjs';

process.env.SIPC_NODE_NOTIFY = 'relay';
const { api, cleanup, keepAliveTimers, PEER_WAIT_MS, segmentPath, uniqueName, waitUntil, within } = await import('./helpers.mjs');

const { SIPC_ASYNC_FLOWING, SIPC_ASYNC_PAUSED } = Object.fromEntries(headerAbi().constants);

const countable = process.platform === 'linux' && !process.env.SIPC_TEST_EMULATOR;
const skip = countable ? false : 'counting bindings need esbuild on Linux';
const { api: counted, faults } = countable
  ? await (await import('./wrapped-bindings.mjs')).apiWithFaults()
  : { api: undefined, faults: undefined };

const opened = new Set();
const realNow = performance.now;
let frozenAt;

afterEach(async () => {
  performance.now = realNow;
  frozenAt = undefined;
  faults?.clear();
  await Promise.all([...opened].map((channel) => channel.close().catch(() => undefined)));
  opened.clear();
  await cleanup();
});

/** Stops the spin policy's clock (SpinPolicy reads performance.now()); advance() moves it on by hand. */
function freezeClock() {
  frozenAt = realNow.call(performance);
  performance.now = () => frozenAt;
  return { advance: (ms) => { frozenAt += ms; } };
}

/**
 * Counts the counted API's native calls for the channels it opens, and keeps the native receive thread's `want` as
 * libsipc keeps it (async.c: demand adds its delta, clamped at 0; every take and take_now lowers it by what it took).
 * The API must never need the clamp: it always knows the native count exactly.
 */
function ledger() {
  const calls = { takeNow: [], take: [], demand: [] };
  const wants = new Map();
  const problems = [];
  let polled;
  faults.set('sipc_async_channel_take_now', (real, handle, buffer, capacity, lengths, maxCount, count, spinUs) => {
    const rc = real(handle, buffer, capacity, lengths, maxCount, count, spinUs);
    calls.takeNow.push({ bufferLength: buffer.length, capacity, maxCount, lengthsLength: lengths.length, spinUs, taken: count[0], rc });
    wants.set(handle, Math.max(0, (wants.get(handle) ?? 0) - count[0]));
    return rc;
  });
  faults.set('sipc_async_channel_take', (real, handle, buffer, capacity, lengths, maxCount, count) => {
    const rc = real(handle, buffer, capacity, lengths, maxCount, count);
    calls.take.push({ taken: count[0], rc });
    wants.set(handle, Math.max(0, (wants.get(handle) ?? 0) - count[0]));
    return rc;
  });
  faults.set('sipc_async_channel_demand', (real, handle, flags, delta) => {
    const next = (wants.get(handle) ?? 0) + delta;
    if (next < 0) problems.push(`demand(${flags}, ${delta}) would take the native want below 0 (it is ${wants.get(handle) ?? 0})`);
    const want = Math.max(0, next);
    if ((flags & SIPC_ASYNC_PAUSED) !== 0 && want !== 0) problems.push(`paused with a native want of ${want}`);
    if ((flags & SIPC_ASYNC_PAUSED) !== 0 && (flags & SIPC_ASYNC_FLOWING) !== 0) problems.push('paused and flowing at once');
    wants.set(handle, want);
    calls.demand.push({ flags, delta, want });
    return real(handle, flags, delta);
  });
  faults.set('sipc_async_channel_poll', (real, handle, status) => {
    polled = { real, handle };
    return real(handle, status);
  });
  return {
    calls,
    problems,
    /** The native want of the one channel this ledger has seen a demand for. */
    want: () => [...wants.values()].reduce((a, b) => a + b, 0),
    lastFlags: () => calls.demand.at(-1)?.flags ?? 0,
    /** The native status of the last channel polled, read now (a synchronous look, for a blocked main thread). */
    peek: () => {
      const status = { connect_status: 0, recv_status: 0, ready_count: 0, send_results: 0, ready_bytes: 0, sends_queued: 0, notifying: 0 };
      polled.real(polled.handle, status);
      return status;
    },
  };
}

/** A server opened with the counted API and a client opened with the plain one, both connected, in this process. */
async function pair(label, serverOptions, clientApi = api) {
  const name = uniqueName(label);
  const server = await counted.open(name, serverOptions);
  opened.add(server);
  const client = await clientApi.open(name);
  opened.add(client);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  return { name, server, client };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a hot receive takes the next messages on this thread: one take_now with the channel\'s buffer, spin budget and 256 lengths', { skip }, async () => {
  const books = ledger();
  freezeClock();
  const { server, client } = await pair('hot-receive', { maxMessageSize: 1000, receiveSpinUs: 997, queueDepth: 16 });
  // The first message comes through the native thread (the channel is not hot before a message arrived).
  await client.send('m0');
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'm0');
  assert.equal(books.calls.takeNow.length, 0, 'a cold channel does not look on this thread');
  assert.ok(books.calls.take.length >= 1, 'm0 was taken from the native thread');
  // Now hot (the clock stands still): the native thread is paused with no want, and a receive looks itself.
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) !== 0, 'the native thread is paused');
  assert.equal(books.want(), 0);
  const takesBefore = books.calls.take.length;
  await client.send('m1');
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'm1');
  assert.equal(books.calls.takeNow.length, 1, 'one look on this thread');
  assert.deepEqual(books.calls.takeNow[0], {
    bufferLength: 1000, capacity: 1000, maxCount: 256, lengthsLength: 256, spinUs: 997, taken: 1, rc: 0,
  });
  // Three waiting messages: one look takes all three, the next two receives are answered from what it took.
  for (const m of ['m2', 'm3', 'm4']) await client.send(m);
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString());
  assert.deepEqual(got, ['m2', 'm3', 'm4']);
  assert.equal(books.calls.takeNow.length, 2, 'one more look for three messages');
  assert.equal(books.calls.takeNow[1].taken, 3);
  assert.equal(books.calls.take.length, takesBefore, 'nothing came through the native thread while hot');
  assert.deepEqual(books.problems, []);
  assert.equal(books.want(), 0, 'no receive is pending: nothing is wanted');
  await turn();
  assert.ok(!process.getActiveResourcesInfo().includes('Immediate'), 'hot, but nothing wants a message: no spin scheduled');
  // A receive made while another waits does not look itself: it would take the first one's message.
  const first = server.receive({ timeoutMs: PEER_WAIT_MS });
  await client.send('x');
  const second = server.receive({ timeoutMs: PEER_WAIT_MS });
  await client.send('y');
  assert.deepEqual([(await first).toString(), (await second).toString()], ['x', 'y']);
  assert.deepEqual(books.problems, []);
});

test('a cooled channel hands a pending receive to the native thread, wanting exactly one message', { skip }, async () => {
  const books = ledger();
  const clock = freezeClock();
  const { server, client } = await pair('cool', { maxMessageSize: 64, receiveSpinUs: 50 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) !== 0, 'the native thread is paused');
  // A receive with nothing to take: it looks once, finds nothing and waits; the channel stays hot (the clock stands).
  const pending = server.receive({ timeoutMs: PEER_WAIT_MS });
  assert.equal(books.calls.takeNow.length, 1);
  assert.equal(books.calls.takeNow[0].taken, 0);
  assert.equal(books.want(), 0, 'paused: the native thread wants nothing yet');
  // The hot window ends: the next look finds nothing, the channel is cold, the native thread wants the one message.
  clock.advance(50);
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) === 0, 'the native thread takes the receive over');
  assert.equal(books.want(), 1, 'one receive is pending');
  assert.equal(books.lastFlags(), 0, 'a receive is not a flow');
  const looks = books.calls.takeNow.length;
  await client.send('late');
  assert.equal((await within(PEER_WAIT_MS, pending, 'the late message')).toString(), 'late');
  assert.equal(books.calls.takeNow.length, looks, 'the native thread brought it: no look on this thread since');
  assert.equal(books.want(), 0);
  assert.deepEqual(books.problems, []);
});

test('receiveSpinUs 0: never a look on this thread, never paused', { skip }, async () => {
  const books = ledger();
  freezeClock();
  const { server, client } = await pair('no-spin', { receiveSpinUs: 0 });
  for (let i = 0; i < 20; i++) {
    await client.send(`m${i}`);
    assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), `m${i}`);
  }
  const got = [];
  server.on('message', (m) => got.push(m.toString()));
  for (let i = 0; i < 20; i++) await client.send(`s${i}`);
  await waitUntil(() => got.length === 20, 'the 20 streamed messages');
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `s${i}`));
  assert.equal(books.want(), 0, 'a flow wants no counted messages');
  server.removeAllListeners('message');
  // Three receives wait: the native thread wants three; one message comes, two are still wanted.
  const waiting = [0, 1, 2].map(() => server.receive({ timeoutMs: PEER_WAIT_MS }));
  assert.equal(books.want(), 3);
  await client.send('r0');
  assert.equal((await waiting[0]).toString(), 'r0');
  await waitUntil(() => books.calls.take.at(-1)?.taken === 1, 'r0 taken');
  assert.equal(books.want(), 2);
  await client.send('r1');
  await client.send('r2');
  assert.deepEqual((await Promise.all(waiting.slice(1))).map(String), ['r1', 'r2']);
  assert.equal(books.want(), 0);
  assert.equal(books.calls.takeNow.length, 0);
  assert.ok(books.calls.demand.every(({ flags }) => (flags & SIPC_ASYNC_PAUSED) === 0), 'never paused');
  assert.ok(books.calls.demand.some(({ flags }) => flags === SIPC_ASYNC_FLOWING), 'the listener made it flow');
  assert.deepEqual(books.problems, []);
});

test('a hot \'message\' listener looks once per event-loop turn; messages come only that way while hot', { skip }, async () => {
  const books = ledger();
  const clock = freezeClock();
  const { server, client } = await pair('hot-listener', { maxMessageSize: 64, receiveSpinUs: 20 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) !== 0, 'the native thread is paused');
  const got = [];
  server.on('message', (m) => got.push(m.toString()));
  // Idle turns: one look each (the channel's spin is one setImmediate, rescheduled from itself).
  await turn();
  const first = books.calls.takeNow.length;
  for (let i = 0; i < 20; i++) await turn();
  const looks = books.calls.takeNow.length - first;
  assert.ok(looks >= 19 && looks <= 21, `one look per turn: ${looks} in 20 turns`);
  assert.ok(books.calls.takeNow.every((call) => call.spinUs === 20 && call.bufferLength === 64));
  const takes = books.calls.take.length;
  for (let i = 0; i < 10; i++) await client.send(`s${i}`);
  await waitUntil(() => got.length === 10, 'the 10 messages');
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `s${i}`));
  assert.equal(books.calls.take.length, takes, 'while hot, nothing came from the native thread');
  assert.equal(books.calls.takeNow.reduce((sum, call) => sum + call.taken, 0), 10);
  assert.equal(books.want(), 0);
  // Cold: the spin stops (no Immediate left), the native thread flows. Not before the scheduled spin found that: a
  // change in between (a second listener) leaves the native thread paused.
  await turn();
  const demands = books.calls.demand.length;
  clock.advance(50);
  server.on('message', () => {});
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(books.calls.demand.length, demands, 'a spin is scheduled: the native thread stays paused until it ran');
  await waitUntil(() => books.lastFlags() === SIPC_ASYNC_FLOWING, 'the native thread flows');
  await waitUntil(() => !process.getActiveResourcesInfo().includes('Immediate'), 'no spin is scheduled');
  const after = books.calls.takeNow.length;
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(books.calls.takeNow.length, after, 'no look once cold');
  // The listener removed: nothing flows, nothing is wanted.
  server.removeAllListeners('message');
  await waitUntil(() => books.lastFlags() === 0, 'the flow stops');
  assert.equal(books.want(), 0);
  assert.deepEqual(books.problems, []);
});

test('two hot windows in a row without a message: the channel backs off and does not look on this thread', { skip }, async () => {
  const books = ledger();
  const clock = freezeClock();
  const { server, client } = await pair('back-off', { maxMessageSize: 64, receiveSpinUs: 10 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  for (const m of ['a', 'b']) {
    // Hot: a receive looks, finds nothing and waits; the window runs out, a spin finds nothing: a miss.
    const pending = server.receive({ timeoutMs: PEER_WAIT_MS });
    const looks = books.calls.takeNow.length;
    clock.advance(3);
    await waitUntil(() => books.calls.takeNow.length > looks && (books.lastFlags() & SIPC_ASYNC_PAUSED) === 0, 'the miss');
    await client.send(m);
    assert.equal((await pending).toString(), m);
  }
  // Two misses: for the back-off (10 ms) a message arriving does not make the channel hot.
  await client.send('c');
  const looks = books.calls.takeNow.length;
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'c');
  assert.equal(books.calls.takeNow.length, looks, 'backing off: no look on this thread');
  // After it, the next message makes it hot again.
  clock.advance(11);
  await client.send('d');
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'd');
  await client.send('e');
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'e');
  assert.equal(books.calls.takeNow.at(-1).taken, 1, 'hot again: e was taken on this thread');
  assert.deepEqual(books.problems, []);
});

test('a hot receive that takes several messages settles first: a \'message\' listener gets the rest only in a later turn', { skip }, async () => {
  const books = ledger();
  freezeClock();
  const { server, client } = await pair('hand-off', { maxMessageSize: 64, receiveSpinUs: 10 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  const log = [];
  server.on('message', (m) => log.push(`listener ${m}`));
  // In one turn, before the listener's spin: two messages in the channel, and a receive that looks for them itself.
  client.send('m1');
  client.send('m2');
  const looks = books.calls.takeNow.length;
  const first = server.receive({ timeoutMs: PEER_WAIT_MS });
  log.push('receive returned');
  assert.equal(books.calls.takeNow.length, looks + 1);
  assert.equal(books.calls.takeNow.at(-1).taken, 2, 'the receive\'s look took both');
  log.push(`awaited ${await first}`);
  await waitUntil(() => log.length === 3, 'm2 delivered');
  assert.deepEqual(log, ['receive returned', 'awaited m1', 'listener m2']);
});

test('a listener that closes the channel while a spin delivers gets no message after the close', { skip }, async () => {
  const books = ledger();
  freezeClock();
  const { server, client } = await pair('close-in-spin', { maxMessageSize: 64, receiveSpinUs: 10 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) !== 0, 'the native thread is paused');
  const got = [];
  const closed = new Promise((resolve) => server.on('message', (m) => { got.push(m.toString()); resolve(server.close()); }));
  // Three messages in the channel before the listener's first spin: it takes all three at once.
  const looks = books.calls.takeNow.length;
  for (const m of ['a', 'b', 'c']) client.send(m);
  await closed;
  assert.equal(books.calls.takeNow.length, looks + 1);
  assert.equal(books.calls.takeNow.at(-1).taken, 3);
  assert.deepEqual(got, ['a']);
});

test('a hot channel left alone hands over once it cooled down: the peer\'s departure is seen', { skip }, async () => {
  const books = ledger();
  const clock = freezeClock();
  const { server, client } = await pair('cooled-peer-gone', { maxMessageSize: 64, receiveSpinUs: 10 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) !== 0, 'the native thread is paused');
  // Paused, the native thread does not watch the channel; nothing is called on the server from here on.
  const gone = new Promise((resolve) => server.once('peer-gone', resolve));
  clock.advance(50);
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) === 0, 'the cool-down timer handed over');
  await client.close();
  await within(PEER_WAIT_MS, gone, "'peer-gone'");
  assert.equal(server.state, 'peer-gone');
});

test('a hot iterator reads at most 64 messages ahead on this thread, then the rest in order', { skip }, async () => {
  const books = ledger();
  freezeClock();
  // A buffer of 4 bytes: each look takes one 4-byte message.
  const { server, client } = await pair('read-ahead', { maxMessageSize: 4, receiveSpinUs: 10, queueDepth: 128 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  await waitUntil(() => (books.lastFlags() & SIPC_ASYNC_PAUSED) !== 0, 'the native thread is paused');
  const sent = Array.from({ length: 100 }, (_, i) => `${i}`.padStart(4, '0'));
  for (const m of sent) await client.send(m);
  const looks = books.calls.takeNow.length;
  const iterator = server[Symbol.asyncIterator]();
  await waitUntil(() => books.calls.takeNow.reduce((sum, call) => sum + call.taken, 0) >= 64, '64 messages read ahead');
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(books.calls.takeNow.reduce((sum, call) => sum + call.taken, 0), 64, 'the read-ahead stops at 64');
  assert.ok(books.calls.takeNow.slice(looks).every((call) => call.taken <= 1 && call.bufferLength === 4));
  assert.equal(server.info().toServer.queued, 36, 'the rest stays in the channel');
  const got = [];
  for (let i = 0; i < 100; i++) got.push((await iterator.next()).value.toString());
  assert.deepEqual(got, sent);
  await iterator.return();
  assert.deepEqual(books.problems, []);
});

/** Blocks this thread until the counted channel's native thread holds `count` ready messages (the batch the next take gets). */
function blockUntilReady(books, count, what, more = () => true) {
  const deadline = Date.now() + PEER_WAIT_MS;
  let status = books.peek();
  while ((status.ready_count < count || !more(status)) && Date.now() < deadline) status = books.peek();
  assert.equal(status.ready_count, count, what);
  return status;
}

test('the native thread\'s batches: a message that fills the buffer followed by an empty one, and a listener closing mid-batch', { skip }, async () => {
  const books = ledger();
  const { server, client } = await pair('batches', { maxMessageSize: 64, receiveSpinUs: 0 });
  const got = [];
  server.on('message', (m) => got.push(m.toString()));
  await turn();
  // 'abc' and '' in one batch: the batch's buffer is 3 bytes, exactly the first message's.
  client.send('abc');
  client.send('');
  blockUntilReady(books, 2, 'both messages wait in one batch');
  await waitUntil(() => got.length === 2, 'both delivered');
  assert.deepEqual(got, ['abc', '']);
  assert.equal(books.calls.take.at(-1).taken, 2);
  server.removeAllListeners('message');
  // A listener that closes the channel on the first of three messages of one batch gets nothing after it.
  const after = [];
  const closed = new Promise((resolve) => server.on('message', (m) => { after.push(m.toString()); resolve(server.close()); }));
  await turn();
  for (const m of ['a', 'b', 'c']) client.send(m);
  blockUntilReady(books, 3, 'three messages wait in one batch');
  await closed;
  assert.deepEqual(after, ['a']);
});

test('a turn takes only what was ready at its first poll; what came after waits for its own notification, before the end of receiving', { skip }, async () => {
  const books = ledger();
  const { server, client } = await pair('turn-budget', { maxMessageSize: 64, receiveSpinUs: 0 });
  const events = [];
  server.on('message', (m) => {
    events.push(m.toString());
    // The end of the turn that delivered 'first': a later turn brings 'late'.
    if (m.toString() === 'first') setImmediate(() => events.push('next turn'));
  });
  server.on('peer-gone', () => events.push('peer-gone'));
  await turn();
  // While the main thread takes the first message, the peer sends one more and leaves; this thread waits until the
  // native thread holds it and saw the departure: the turn's second poll finds it ready, beyond the turn's budget.
  let lateDone = false;
  faults.set('sipc_async_channel_take', (real, handle, buffer, capacity, lengths, maxCount, count) => {
    const rc = real(handle, buffer, capacity, lengths, maxCount, count);
    if (!lateDone) {
      lateDone = true;
      client.send('late');
      client.close();
      blockUntilReady(books, 1, "'late' waits", (status) => status.recv_status !== 0);
    }
    return rc;
  });
  client.send('first');
  await waitUntil(() => events.includes('peer-gone'), "'peer-gone'");
  assert.deepEqual(events, ['first', 'next turn', 'late', 'peer-gone']);
});

test('an iterator ends (done) when the channel closes under it', { skip }, async () => {
  const { server, client } = await pair('iterator-closed', { receiveSpinUs: 0 });
  const got = [];
  const loop = (async () => {
    for await (const m of server) {
      got.push(m.toString());
      if (got.length === 1) server.close();
    }
    return 'ended';
  })();
  await client.send('one');
  assert.equal(await within(PEER_WAIT_MS, loop, 'the loop'), 'ended');
  assert.deepEqual(got, ['one']);
});

test('close() collects more than 256 finished sends at once: every one resolves', { skip }, async () => {
  const books = ledger();
  // The counted side sends; the peer asks for all of them before the sends start, so its native thread takes them.
  const { server, client } = await pair('many-results', { queueDepth: 8, receiveSpinUs: 0 });
  const total = 600;
  // 8 fit in the queue at once; the other 592 go to the sender thread, which waits for room.
  const sends = Array.from({ length: total }, (_, i) => server.send(`m${i}`));
  const settled = sends.map((send) => send.then(() => 'sent', (error) => error.code));
  const received = Array.from({ length: total }, () => client.receive({ timeoutMs: PEER_WAIT_MS }));
  // The main thread blocks here until the sender thread has sent them all, so no notification is taken before the
  // close: close() takes every result itself (592: more than one batch of 256).
  const deadline = Date.now() + PEER_WAIT_MS;
  while (server.info().toClient.messages < total && Date.now() < deadline) { /* the native threads work */ }
  assert.equal(server.info().toClient.messages, total, 'all sent while the main thread was blocked');
  assert.equal(books.peek().send_results, total - 8, 'every background send\'s result waits');
  await server.close();
  assert.deepEqual([...new Set(await Promise.all(settled))], ['sent']);
  const got = (await Promise.all(received)).map(String);
  assert.deepEqual(got, Array.from({ length: total }, (_, i) => `m${i}`));
});

test('close() collects a send that failed with its own error (TIMEOUT), not CLOSED; a send cut off by the close gets CLOSED', { skip }, async () => {
  const books = ledger();
  const { server, name } = await pair('timed-out-send', { queueDepth: 1, receiveSpinUs: 0 });
  await server.send('fills the queue');
  const timedOut = server.send('times out', { timeoutMs: 1 }).then(() => 'sent', (error) => error);
  const cutOff = server.send('waits for room').then(() => 'sent', (error) => error);
  // Blocked until the sender thread reported the timed-out send: close() collects that result, not a notification.
  const deadline = Date.now() + PEER_WAIT_MS;
  while (books.peek().send_results < 1 && Date.now() < deadline) { /* the sender thread waits out 1 ms */ }
  assert.equal(books.peek().send_results, 1, 'the timed-out send reported');
  await server.close();
  const timeout = await timedOut;
  assert.equal(timeout.code, 'TIMEOUT');
  assert.match(timeout.message, new RegExp(`^send to channel '${name}' failed`));
  const closed = await cutOff;
  assert.equal(closed.code, 'CLOSED');
  assert.equal(closed.message, `send to channel '${name}' failed: the channel was closed before the message could be queued`);
});

/** Whether each of this process's descriptors of `path` is close-on-exec (O_CLOEXEC in /proc/self/fdinfo). */
function closeOnExec(path) {
  const flags = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target;
    try { target = readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target !== path) continue;
    const octal = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1];
    flags.push((parseInt(octal, 8) & 0o2000000) !== 0);
  }
  return flags;
}

test('inheritHandles: the segment\'s descriptor is not close-on-exec; by default it is', { skip }, async () => {
  const inherited = uniqueName('inherit');
  const server = await counted.open(inherited, { inheritHandles: true });
  opened.add(server);
  assert.deepEqual(closeOnExec(segmentPath(inherited)), [false]);
  const plain = uniqueName('no-inherit');
  const other = await counted.open(plain, { inheritHandles: false });
  opened.add(other);
  assert.deepEqual(closeOnExec(segmentPath(plain)), [true]);
  const unset = uniqueName('unset-inherit');
  const third = await counted.open(unset);
  opened.add(third);
  assert.deepEqual(closeOnExec(segmentPath(unset)), [true]);
});

test('an aborted connect says so: CANCELLED with the channel and the abort in its message', { skip }, async () => {
  const name = uniqueName('abort-text');
  const server = await counted.open(name);
  opened.add(server);
  const controller = new AbortController();
  const waiting = server.connect({ signal: controller.signal });
  controller.abort();
  await assert.rejects(waiting, { code: 'CANCELLED', message: `connect to channel '${name}' failed: the wait was aborted` });
  await assert.rejects(server.connect({ signal: controller.signal }), {
    code: 'CANCELLED', message: `connect to channel '${name}' failed: the wait was aborted`,
  });
  await assert.rejects(server.connect({ timeoutMs: 5 }), { code: 'TIMEOUT', message: `connect to channel '${name}' failed: no peer connected within 5 ms` });
});

test('a send result that comes while no peer was adopted yet is no connect failure', { skip }, async () => {
  const name = uniqueName('send-before-peer');
  const server = await counted.open(name, { receiveSpinUs: 0 });
  opened.add(server);
  const errors = [];
  server.on('error', (error) => errors.push(error.code));
  // No peer: the sender thread tries the send and reports TIMEOUT while the native connect wait is still pending.
  await assert.rejects(server.send('too early', { timeoutMs: 10 }), { code: 'TIMEOUT' });
  const client = await api.open(name);
  opened.add(client);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  assert.equal(server.state, 'connected');
  assert.deepEqual(errors, []);
});

test('a spin scheduled before close() does not look at the closed channel', { skip }, async () => {
  const books = ledger();
  freezeClock();
  const { server, client } = await pair('close-with-spin', { maxMessageSize: 64, receiveSpinUs: 10 });
  await client.send('warm');
  await server.receive({ timeoutMs: PEER_WAIT_MS });
  server.on('message', () => {});
  await turn();
  await turn();
  assert.ok(process.getActiveResourcesInfo().includes('Immediate'), 'a spin is scheduled');
  const looks = books.calls.takeNow.length;
  const closing = server.close();
  await turn();
  await turn();
  await closing;
  assert.equal(books.calls.takeNow.length, looks, 'no look after close()');
});

test('open() refuses a receiveSpinUs that is not an integer from 0 to 1000, naming the option and its range', { skip }, async () => {
  const name = uniqueName('spin-option');
  for (const receiveSpinUs of [-1, 1001, 1.5, Number.NaN]) {
    await assert.rejects(counted.open(name, { receiveSpinUs }), {
      name: 'SipcError', code: 'INVALID_ARGUMENT', message: 'receiveSpinUs must be an integer from 0 to 1000',
    }, String(receiveSpinUs));
  }
  for (const receiveSpinUs of [0, 1000]) {
    const channel = await counted.open(name, { receiveSpinUs });
    opened.add(channel);
    await channel.close();
  }
});

test('a receive answered before its timeout leaves no timer behind', { skip }, async () => {
  const { server, client } = await pair('receive-timer', { receiveSpinUs: 0 });
  await turn();
  const idle = keepAliveTimers();
  const answered = server.receive({ timeoutMs: 600000 });
  assert.equal(keepAliveTimers(), idle + 2, 'while it waits: its timeout and the shared keep-alive timer');
  await client.send('x');
  assert.equal((await answered).toString(), 'x');
  await turn();
  assert.equal(keepAliveTimers(), idle, 'the timeout was cleared with the answer');
});
