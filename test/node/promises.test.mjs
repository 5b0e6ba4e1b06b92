// The Node API keeps every promise (issue #19, items 1-4): connect after a failed native connect wait,
// connect({ timeoutMs: 0 }) with the library's own status (also for a peer the native threads have not adopted yet), every connect() with its own signal and timeout,
// and one order of delivery across receive(), 'message' listeners and `for await`.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { cleanup, openTracked, scaled, segmentHeader, segmentPath, startNode, stepBudget, uniqueName, within } from './helpers.mjs';

afterEach(cleanup);

const linux = process.platform === 'linux';
/** Byte offset of rings[to-server].head in a segment (helper/src/layout.h: rings at 512, 192 bytes each). */
const TO_SERVER_HEAD = 512 + 192;
/** rings[to-server].write_pos: where the next record goes (layout 4). */
const TO_SERVER_WRITE_POS = TO_SERVER_HEAD + 32;
/** rings[to-client].head (messages the server published), and waiters[SIPC_WAIT_SPACE(0)] (the server's sends waiting for room). */
const TO_CLIENT_HEAD = 512;
const WAITERS_SPACE_TO_CLIENT = 480 + 4 * 2;

/** Writes a 64-bit little-endian value into the channel's shared segment, as a hostile or broken peer could. */
function pokeSegment(name, offset, value) {
  const fd = openSync(segmentPath(name), 'r+');
  try {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(BigInt(value));
    writeSync(fd, bytes, 0, 8, offset);
  } finally {
    closeSync(fd);
  }
}

/** A Node peer that opens the channel, connects and stays until killed. */
function stayingPeer(name) {
  return startNode(`const c = await api.open(name); await c.connect(); console.log('ready'); setInterval(() => {}, 1000);`, { name });
}

test('a connect() after the native connect wait failed waits again instead of hanging', { skip: !linux, timeout: scaled(30000) }, async () => {
  const name = uniqueName('reconnect-after-corrupt');
  const server = await openTracked(name, { queueDepth: 4 });
  // The queue towards the server claims a message whose slot was never written: openers (which check only
  // the indices) get in, the connect wait finds the queue corrupt.
  pokeSegment(name, TO_SERVER_HEAD, 1);
  const failed = assert.rejects(server.connect(), { code: 'CORRUPT', message: new RegExp(`^connect to channel '${name}' failed: `) });
  const peer = stayingPeer(name);
  await peer.waitFor('ready');
  await failed;
  assert.equal(server.state, 'waiting');
  pokeSegment(name, TO_SERVER_HEAD, 0); // repaired
  await within(scaled(10000), server.connect(), 'connect after the failed wait');
  assert.equal(server.state, 'connected');
});

test('a receive that the library fails (a corrupt queue) ends receiving with that error, not PEER_GONE', { skip: !linux, timeout: scaled(30000) }, async () => {
  const name = uniqueName('receive-corrupt');
  const server = await openTracked(name, { queueDepth: 4, receiveSpinUs: 0 });
  const client = await openTracked(name, { receiveSpinUs: 0 });
  await Promise.all([server.connect(), client.connect()]);
  const errors = [];
  server.on('error', (error) => errors.push(error.code));
  const pending = server.receive();
  // The queue towards the server claims one more message than was written, at a record never written (head and
  // write_pos moved past it; a send refuses a queue whose oldest record would lie at write_pos); the client's send
  // wakes the receive.
  pokeSegment(name, TO_SERVER_HEAD, 1);
  pokeSegment(name, TO_SERVER_WRITE_POS, 128);
  await client.send('behind a message never written');
  const corrupt = { code: 'CORRUPT', message: new RegExp(`^receive from channel '${name}' failed: `) };
  await assert.rejects(within(scaled(10000), pending, 'the pending receive'), corrupt);
  await assert.rejects(server.receive(), corrupt, 'a later receive()');
  assert.deepEqual(errors, ['CORRUPT']);
  assert.equal(server.state, 'connected', 'a failed receive is no departure: the peer is still there');
});

test('connect({ timeoutMs: 0 }) answers with the library\'s own status', { skip: !linux, timeout: scaled(30000) }, async () => {
  const name = uniqueName('connect-zero');
  const server = await openTracked(name, { queueDepth: 4 });
  await assert.rejects(server.connect({ timeoutMs: 0 }), { code: 'TIMEOUT', message: /no peer connected within 0 ms/ });
  pokeSegment(name, TO_SERVER_HEAD, 1);
  await assert.rejects(server.connect({ timeoutMs: 0 }), { code: 'CORRUPT', message: new RegExp(`connect to channel '${name}' failed`) });
  pokeSegment(name, TO_SERVER_HEAD, 0);
  const peer = stayingPeer(name);
  await peer.waitFor('ready');
  await server.connect({ timeoutMs: 0 });
  await server.close();
  await assert.rejects(server.connect({ timeoutMs: 0 }), { code: 'CLOSED' });
});

test('connect({ timeoutMs: 0 }) and send({ timeoutMs: 0 }) right after a peer attached succeed: the native threads adopt it', { timeout: scaled(30000) }, async () => {
  // The main thread never adopts a peer (adopting looks its process up, a file on Linux): a peer that this end has
  // not adopted yet is the native connect wait's (connect) or the sender thread's (send) to adopt, and the promise
  // settles with their answer. Opened back to back, the calls meet the peer before and after its adoption.
  for (let round = 0; round < 10; round++) {
    const name = uniqueName(`zero-after-attach-${round}`);
    const server = await openTracked(name, { queueDepth: 4 });
    const client = await openTracked(name, { queueDepth: 4 });
    await Promise.all([server.connect({ timeoutMs: 0 }), client.connect({ timeoutMs: 0 })]);
    const second = uniqueName(`send-after-attach-${round}`);
    const receiver = await openTracked(second);
    const sender = await openTracked(second);
    await sender.send(`hello ${round}`, { timeoutMs: 0 });
    assert.equal((await within(scaled(10000), receiver.receive(), 'the message')).toString(), `hello ${round}`);
    await Promise.all([server.close(), client.close(), sender.close(), receiver.close()]);
  }
});

test('every connect() honours its own timeout and signal while another connect waits', { timeout: scaled(30000) }, async () => {
  const name = uniqueName('connect-own');
  const server = await openTracked(name);
  const first = server.connect();
  let firstSettled = false;
  first.then(() => { firstSettled = true; }, () => { firstSettled = true; });
  await assert.rejects(server.connect({ timeoutMs: 50 }), { code: 'TIMEOUT' });
  const controller = new AbortController();
  const aborted = assert.rejects(server.connect({ signal: controller.signal }), { code: 'CANCELLED' });
  controller.abort();
  await aborted;
  await assert.rejects(server.connect({ signal: AbortSignal.abort() }), { code: 'CANCELLED' });
  assert.equal(firstSettled, false, 'the first connect still waits');
  const peer = stayingPeer(name);
  await peer.waitFor('ready');
  await within(scaled(10000), first, 'the first connect');
  await server.connect({ timeoutMs: 10 }); // connected: at once
});

/** A Node peer that sends `count` numbered messages as soon as it is connected, then stays. */
function numberedSender(name, count) {
  return startNode(`const c = await api.open(name, { queueDepth: 256 }); await c.connect();
    for (let i = 0; i < ${count}; i++) await c.send('m' + i);
    console.log('sent'); setInterval(() => {}, 1000);`, { name });
}

/**
 * Connects `channel` to a sender process that queues `count` numbered messages, and waits until all are queued.
 * Each step takes what is left of the test's budget (`left`, from stepBudget) and names itself when it runs out,
 * so a slow step fails as itself rather than as the whole test's timeout.
 */
async function connectNumberedSender(channel, name, count, left) {
  const sender = numberedSender(name, count);
  await channel.connect({ timeoutMs: left() });
  // A fast sender prints 'sent' before this process's connect() has settled: waitFor sees it all the same.
  await within(left(), sender.waitFor('sent'), `the sender queueing its ${count} messages`);
}

/** The tests with a sender: its start, its sends and the receiving share this budget (stepBudget). */
const SENDER_TEST_TIMEOUT_MS = scaled(90000);

const expected = (count) => Array.from({ length: count }, (_, i) => `m${i}`);

test('receive() and \'message\' listeners together see each message once, in channel order', { timeout: SENDER_TEST_TIMEOUT_MS }, async () => {
  const left = stepBudget(SENDER_TEST_TIMEOUT_MS);
  const count = 200;
  const name = uniqueName('order-mix');
  const channel = await openTracked(name, { queueDepth: 256 });
  await connectNumberedSender(channel, name, count, left);
  const seen = [];
  let listened = 0;
  channel.on('message', (data) => { seen.push(data.toString()); listened++; });
  // Every fifth message is taken by receive(); a pending receive() has priority over the listener.
  let received = 0;
  while (seen.length < count) {
    const taken = (await within(left(), channel.receive(), `message ${seen.length}`)).toString();
    seen.push(taken);
    received++;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.deepEqual(seen, expected(count));
  assert.ok(received > 0 && listened > 0, `both consumers took messages (receive ${received}, listener ${listened})`);
});

test('every message handed out owns its memory: no view into a batch, no slice of the pool', { timeout: SENDER_TEST_TIMEOUT_MS }, async () => {
  const left = stepBudget(SENDER_TEST_TIMEOUT_MS);
  const count = 60;
  const name = uniqueName('owned');
  const channel = await openTracked(name, { queueDepth: 256 });
  await connectNumberedSender(channel, name, count, left);
  const got = [];
  // Batches reach a listener; receive() takes from the backlog and, when the channel is hot, from the channel.
  const heard = new Promise((resolve) => channel.on('message', (m) => { got.push(m); if (got.length === count / 2) resolve(); }));
  await within(left(), heard, `${count / 2} messages through the listener`).catch((error) => {
    throw new Error(`${error.message} (it had ${got.length})`);
  });
  channel.removeAllListeners('message');
  while (got.length < count) got.push(await within(left(), channel.receive(), 'a message'));
  assert.deepEqual(got.map((m) => m.toString()), expected(count));
  for (const message of got) {
    assert.equal(message.byteOffset, 0, `${message}: starts its buffer`);
    assert.equal(message.buffer.byteLength, message.byteLength, `${message}: its buffer is exactly its bytes`);
  }
});

test('for await, receive() and a listener added midway keep channel order', { timeout: SENDER_TEST_TIMEOUT_MS }, async () => {
  const left = stepBudget(SENDER_TEST_TIMEOUT_MS);
  const count = 150;
  const name = uniqueName('order-iter');
  const channel = await openTracked(name, { queueDepth: 256 });
  await connectNumberedSender(channel, name, count, left);
  const seen = [];
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  const record = (text) => {
    seen.push(text);
    if (seen.length === count) done();
  };
  (async () => {
    for await (const data of channel) {
      record(data.toString());
      if (seen.length === 20) {
        // Mid-loop: a direct receive() and a listener join in.
        record((await channel.receive()).toString());
        channel.on('message', (m) => record(m.toString()));
      }
      if (seen.length >= count) break;
    }
  })();
  await within(left(), all, 'every message');
  assert.deepEqual(seen.slice(0, count), expected(count));
});

test('a failed connect is told once, however often the native side reports it again before the next connect()', { skip: !linux, timeout: scaled(30000) }, async () => {
  const name = uniqueName('connect-fails-once');
  const server = await openTracked(name, { queueDepth: 4 });
  const errors = [];
  server.on('error', (error) => errors.push(error.code));
  pokeSegment(name, TO_SERVER_HEAD, 1); // the connect wait will find the queue corrupt (as in the first test)
  const failed = assert.rejects(server.connect(), { code: 'CORRUPT' });
  const peer = stayingPeer(name);
  await peer.waitFor('ready');
  await failed;
  assert.deepEqual(errors, ['CORRUPT']);
  // The native side goes on reporting the failed wait (its connect status) until the next connect(), so every later
  // notification of the handle polls it again. A send's answer comes by one: the sender thread tries the send (no
  // peer adopted on this side), and the promise settles when the notification is handled.
  for (let i = 0; i < 3; i++) {
    await within(scaled(10000), server.send(`after the failure ${i}`, { timeoutMs: 0 }).catch((error) => error), `send ${i}`);
  }
  assert.deepEqual(errors, ['CORRUPT'], 'the failure was told once, not again at each notification');
  assert.equal(server.state, 'waiting');
});

test('a send that the sender thread completed just before close() resolves: close() collects its result', { skip: !linux, timeout: scaled(30000) }, async () => {
  const name = uniqueName('send-at-close');
  const server = await openTracked(name, { queueDepth: 1 });
  // A peer that, by itself (this test's event loop will be blocked), waits until the server's send sleeps for room
  // (waiters[SPACE(0)] in the segment) and then takes one message, which lets that send complete.
  const peer = startNode(`
    const fs = require('node:fs');
    const c = await api.open(name, { queueDepth: 1 });
    await c.connect();
    console.log('ready');
    const header = Buffer.alloc(512);
    const fd = fs.openSync(${JSON.stringify(segmentPath(name))}, 'r');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      fs.readSync(fd, header, 0, header.length, 0);
      if (header.readUInt32LE(${WAITERS_SPACE_TO_CLIENT}) >= 1) break;
      Atomics.wait(pause, 0, 0, 1);
    }
    console.log('took ' + (await c.receive()).toString());
    setInterval(() => {}, 1000);`, { name });
  await peer.waitFor('ready');
  await server.connect({ timeoutMs: scaled(10000) });
  await server.send('fills the queue');
  const completed = server.send('waits for room');
  let settled;
  completed.then(() => { settled = 'resolved'; }, (error) => { settled = error.code; });
  // Without giving the event loop a turn (the notification of the send's result must not be handled before close()),
  // wait for the state: the message is published (rings[0].head counts 2).
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const giveUp = Date.now() + scaled(20000);
  while (segmentHeader(name).readBigUInt64LE(TO_CLIENT_HEAD) < 2n && Date.now() < giveUp) Atomics.wait(pause, 0, 0, 1);
  assert.equal(segmentHeader(name).readBigUInt64LE(TO_CLIENT_HEAD), 2n, 'the second message was published');
  assert.equal(settled, undefined, 'its result is not taken yet');
  await server.close();
  await completed; // resolved: the message was sent, not CLOSED
  assert.equal(settled, 'resolved');
  assert.match(await peer.waitFor('took'), /took fills the queue/);
});
