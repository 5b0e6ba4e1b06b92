// Channel: messages to and from real peers (the sipc CLI, other Node processes).
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, cleanup, openTracked, PEER_WAIT_MS, randomBytes, scaled, segmentHeader, startCli, startNode, uniqueName, waitForChannel, waitUntil, within,
} from './helpers.mjs';

afterEach(cleanup);

/** extension/src/api/abi.ts: the demand flag that parks a channel's native receive thread while the main thread spins. */
const SIPC_ASYNC_PAUSED = 2;
/** helper/src/layout.h (PROTOCOL.md section 2): waiters[SIPC_WAIT_DATA(0)] (threads waiting for a server -> client message) and roles[1].sleepers. */
const WAITERS_DATA_TO_CLIENT = 480 + 4 * 1;
const CLIENT_SLEEPERS = 384 + 24;
/** waiters[SIPC_WAIT_SPACE(0)]: threads (the server's sends) waiting for a free slot towards the client. */
const WAITERS_SPACE_TO_CLIENT = 480 + 4 * 2;

/** Starts `sipc echo` as the server of a new channel and connects to it as the client. */
async function echoPeer(label, { maxSize = 65536, depth = 16, receiveSpinUs } = {}) {
  const name = uniqueName(label);
  const echo = startCli(['echo', name, '--max-size', String(maxSize), '--depth', String(depth)]);
  await waitForChannel(name);
  const channel = await openTracked(name, { maxMessageSize: maxSize, queueDepth: depth, receiveSpinUs });
  await channel.connect({ timeoutMs: PEER_WAIT_MS });
  return { name, echo, channel };
}

test('10k messages of random sizes come back from sipc echo intact and in order', { timeout: scaled(60000) }, async () => {
  const { channel } = await echoPeer('integrity');
  assert.equal(channel.role, 'client');
  assert.equal(channel.state, 'connected');
  const count = 10000;
  const sent = [];
  for (let i = 0; i < count; i++) {
    // Mostly small messages, some up to the maximum, and empty ones.
    const size = i % 500 === 0 ? 65536 : i % 97 === 0 ? 0 : (i * 7919) % (i % 10 === 0 ? 65536 : 2048);
    const data = randomBytes(size, i + 1);
    sent.push(data);
  }
  let received = 0;
  const allBack = new Promise((resolve, reject) => {
    channel.on('message', (data) => {
      const expected = sent[received];
      if (!expected || !data.equals(expected)) {
        reject(new Error(`message ${received}: got ${data.length} bytes, expected ${expected?.length}`));
        return;
      }
      if (++received === count) resolve();
    });
  });
  // Sends are not awaited one by one: their order must still hold.
  await within(scaled(50000), Promise.all([Promise.all(sent.map((data) => channel.send(data))), allBack]), '10k echoes');
  assert.equal(received, count);
  const info = channel.info();
  assert.equal(info.toServer.messages, count);
  assert.equal(info.toClient.messages, count);
});

test('request/response: 3000 round trips through sipc echo, each answer matching its request', { timeout: scaled(60000) }, async () => {
  const { channel } = await echoPeer('round-trips');
  // Back-to-back round trips keep the channel hot: receive() then looks for the answer on the main thread.
  for (let i = 0; i < 3000; i++) {
    const request = randomBytes(1 + (i % 200), i + 7);
    await channel.send(request);
    const answer = await channel.receive({ timeoutMs: PEER_WAIT_MS });
    assert.ok(answer.equals(request), `round trip ${i}`);
  }
  assert.equal(channel.info().toClient.messages, 3000);
});

test('receiveSpinUs 0 (the extension host\'s setting): every answer comes from the native thread, in order', { timeout: scaled(60000) }, async () => {
  const { channel } = await echoPeer('no-spin', { receiveSpinUs: 0 });
  for (let i = 0; i < 1000; i++) {
    const request = randomBytes(1 + (i % 100), i + 3);
    await channel.send(request);
    assert.ok((await channel.receive({ timeoutMs: PEER_WAIT_MS })).equals(request), `round trip ${i}`);
  }
  const streamed = [];
  const allBack = new Promise((resolve) => channel.on('message', (m) => streamed.push(m.toString()) === 2000 && resolve()));
  await within(scaled(50000), Promise.all([...Array.from({ length: 2000 }, (_, i) => channel.send(`m${i}`)), allBack]), '2000 echoes');
  assert.deepEqual(streamed, Array.from({ length: 2000 }, (_, i) => `m${i}`));
});

test('a hot channel that goes quiet stops spinning: a pending receive is left to the native thread, which sleeps', { timeout: scaled(60000) }, async () => {
  // States, not a CPU-time ratio. On Linux the channel's own calls are counted (the API bundled from source with
  // counting bindings; esbuild has no binary for the emulated platform here, so under wine and qemu the public API is
  // used) and the segment shows the native receive thread asleep in its futex wait (PROTOCOL.md: waiters[1] counts the
  // client's receive waits, roles[client].sleepers its threads asleep).
  const linux = process.platform === 'linux';
  const countable = linux && !process.env.SIPC_TEST_EMULATOR;
  const { api: counted, faults } = countable ? await (await import('./wrapped-bindings.mjs')).apiWithFaults() : { api };
  let mainThreadTakes = 0;
  let demandFlags = -1;
  faults?.set('sipc_async_channel_take_now', (real, ...args) => { mainThreadTakes++; return real(...args); });
  faults?.set('sipc_async_channel_demand', (real, handle, flags, wantDelta) => { demandFlags = flags; return real(handle, flags, wantDelta); });
  const name = uniqueName('cool-down');
  startCli(['echo', name]);
  await waitForChannel(name);
  const channel = await counted.open(name);
  try {
    await channel.connect({ timeoutMs: PEER_WAIT_MS });
    for (let i = 0; i < 2000; i++) {
      await channel.send('ping');
      await channel.receive({ timeoutMs: PEER_WAIT_MS });
    }
    // (How many answers the main thread caught depends on the machine's load: not asserted.)
    // Nothing is on its way now: the main-thread spin must give up within its hot window and hand the wait over.
    const pending = channel.receive({ timeoutMs: scaled(20000) });
    pending.catch(() => {}); // awaited below; a failure before that closes the channel and rejects it
    if (faults) await waitUntil(() => (demandFlags & SIPC_ASYNC_PAUSED) === 0, 'the native thread takes the pending receive over');
    // A spin goes on from setImmediate turns: none is scheduled any more (this process schedules no other).
    await waitUntil(() => !process.getActiveResourcesInfo().includes('Immediate'), 'no main-thread spin is scheduled');
    if (linux) {
      await waitUntil(() => {
        const header = segmentHeader(name);
        return header.readUInt32LE(WAITERS_DATA_TO_CLIENT) >= 1 && header.readUInt32LE(CLIENT_SLEEPERS) >= 1;
      }, "the native thread sleeps in the client's receive wait");
    }
    const takesAtHandOver = mainThreadTakes;
    await channel.send('late');
    assert.equal((await within(PEER_WAIT_MS, pending, 'the late answer')).toString(), 'late');
    assert.equal(mainThreadTakes, takesAtHandOver, 'the late answer came through the native thread: no main-thread look since');
  } finally {
    faults?.clear();
    await channel.close();
  }
});

test('the largest message passes; one byte more is TOO_BIG and nothing is sent', { timeout: scaled(60000) }, async () => {
  const { channel } = await echoPeer('largest', { maxSize: 1 << 20, depth: 4 });
  assert.equal(channel.maxMessageSize, 1 << 20);
  const largest = randomBytes(1 << 20, 42);
  await assert.rejects(channel.send(Buffer.alloc((1 << 20) + 1)), { name: 'SipcError', code: 'TOO_BIG' });
  await channel.send(largest);
  const back = await channel.receive({ timeoutMs: PEER_WAIT_MS });
  assert.ok(back.equals(largest));
  assert.equal(channel.info().toServer.messages, 1);
});

test('binary data stays byte-exact, views keep their offset, strings are UTF-8', { timeout: scaled(60000) }, async () => {
  const { channel } = await echoPeer('binary');
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await channel.send(every);
  assert.deepEqual([...(await channel.receive({ timeoutMs: PEER_WAIT_MS }))], [...every]);
  const backing = new Uint8Array([9, 9, 0, 1, 2, 0xff, 9]);
  await channel.send(backing.subarray(2, 6));
  assert.deepEqual([...(await channel.receive({ timeoutMs: PEER_WAIT_MS }))], [0, 1, 2, 0xff]);
  const text = 'héllo ✓ 🚀 \u0000 end';
  await channel.send(text);
  const back = await channel.receive({ timeoutMs: PEER_WAIT_MS });
  assert.ok(back.equals(Buffer.from(text, 'utf8')));
  assert.equal(back.toString('utf8'), text);
  await channel.send(new Uint8Array(0));
  assert.equal((await channel.receive({ timeoutMs: PEER_WAIT_MS })).length, 0);
});

test('timeouts: receive, connect, send on a full queue; abort a connect', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('timeouts');
  const server = await openTracked(name, { queueDepth: 2, maxMessageSize: 1024 });
  assert.equal(server.role, 'server');
  assert.equal(server.state, 'waiting');
  await assert.rejects(server.connect({ timeoutMs: 50 }), { code: 'TIMEOUT', message: new RegExp(`channel '${name}'`) });
  await assert.rejects(server.connect({ timeoutMs: 0 }), { code: 'TIMEOUT' });
  const abort = new AbortController();
  const aborted = server.connect({ signal: abort.signal });
  assert.equal(server.state, 'waiting', 'the connect waits (no peer): aborted while it waits, not after a chosen time');
  abort.abort();
  await assert.rejects(aborted, { code: 'CANCELLED' });
  await assert.rejects(server.connect({ timeoutMs: -1 }), { code: 'INVALID_ARGUMENT' });

  // The client is another process that never receives.
  const peer = startNode(`const c = await api.open(name); await c.connect(); console.log('ready'); setInterval(() => {}, 1000);`, { name });
  await peer.waitFor('ready');
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  assert.deepEqual(server.peer, { pid: peer.child.pid, alive: true });
  await assert.rejects(server.receive({ timeoutMs: 30 }), { code: 'TIMEOUT', message: /no message arrived within 30 ms/ });
  await server.send('1');
  await server.send('2');
  const started = Date.now();
  await assert.rejects(server.send('3', { timeoutMs: 100 }), { code: 'TIMEOUT' });
  assert.ok(Date.now() - started >= 90, 'the send waited for its timeout');
  await assert.rejects(server.send('3', { timeoutMs: 0 }), { code: 'TIMEOUT' });
  assert.equal(server.info().toClient.queued, 2);
});

test('sends that find the queue full wait in order behind each other', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('order');
  const server = await openTracked(name, { queueDepth: 2 });
  // A slow reader in another process: it reads 200 messages, 1 ms apart, and prints them.
  const reader = startNode(`const c = await api.open(name); await c.connect();
    const got = []; for (let i = 0; i < 200; i++) { got.push((await c.receive()).toString()); await new Promise(r => setTimeout(r, 1)); }
    console.log(JSON.stringify(got)); await c.close();`, { name });
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  const sends = [];
  for (let i = 0; i < 200; i++) sends.push(server.send(`m${i}`));
  await within(scaled(20000), Promise.all(sends), '200 sends');
  const result = await reader.done;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), Array.from({ length: 200 }, (_, i) => `m${i}`));
});

test('a peer killed with SIGKILL ends receive() with PEER_GONE, not a hang', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('sigkill');
  const server = await openTracked(name);
  const peer = startNode(`const c = await api.open(name); await c.connect(); await c.send('last words'); console.log('ready'); setInterval(() => {}, 1000);`, { name });
  await peer.waitFor('ready');
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  const gone = new Promise((resolve) => server.once('peer-gone', resolve));
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'last words');
  const pending = server.receive();
  peer.child.kill('SIGKILL');
  await within(PEER_WAIT_MS, assert.rejects(pending, { code: 'PEER_GONE', message: new RegExp(`channel '${name}'`) }), 'PEER_GONE');
  await within(PEER_WAIT_MS, gone, "'peer-gone'");
  assert.equal(server.state, 'peer-gone');
  await assert.rejects(server.receive(), { code: 'PEER_GONE' });
});

test('a peer that sends and leaves: its messages arrive first, then the iterator ends', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('iterate');
  const server = await openTracked(name);
  const peer = startNode(`const c = await api.open(name); await c.connect(); for (let i = 0; i < 5; i++) await c.send('n' + i); await c.close();`, { name });
  const got = [];
  await within(PEER_WAIT_MS, (async () => { for await (const m of server) got.push(m.toString()); })(), 'iteration');
  assert.deepEqual(got, ['n0', 'n1', 'n2', 'n3', 'n4']);
  assert.equal((await peer.done).code, 0);
});

test('a server waits for its next peer after peer-gone', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('next-peer');
  const server = await openTracked(name);
  const first = startNode(`const c = await api.open(name); await c.connect(); await c.send('first'); await c.close();`, { name });
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'first');
  await first.done;
  await assert.rejects(server.receive({ timeoutMs: PEER_WAIT_MS }), { code: 'PEER_GONE' });
  const next = server.connect({ timeoutMs: PEER_WAIT_MS });
  assert.equal(server.state, 'waiting');
  const second = startCli(['send', name, 'second', '--timeout', String(scaled(5000))]);
  await next;
  assert.equal(server.state, 'connected');
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'second');
  assert.equal((await second.done).code, 0);
});

test('close() rejects pending receive/connect with CLOSED and cancels a blocked send', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('close');
  const lonely = await openTracked(name + '-alone');
  const connecting = assert.rejects(lonely.connect(), { code: 'CLOSED' });
  const receiving = assert.rejects(lonely.receive(), { code: 'CLOSED' });
  await lonely.close();
  await connecting;
  await receiving;
  await assert.rejects(lonely.send('x'), { code: 'CLOSED' });
  assert.equal(lonely.state, 'closed');
  await lonely.close(); // twice is fine

  const server = await openTracked(name, { queueDepth: 1 });
  const peer = startNode(`const c = await api.open(name); await c.connect(); console.log('ready'); setInterval(() => {}, 1000);`, { name });
  await peer.waitFor('ready');
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  await server.send('fills the queue');
  const blocked = server.send('waits for room');
  const behind = server.send('queued behind');
  // The close must find the send blocked in the library (its sender thread asleep waiting for room), not still queued.
  if (process.platform === 'linux') {
    await waitUntil(() => segmentHeader(name).readUInt32LE(WAITERS_SPACE_TO_CLIENT) >= 1, 'the send waits for room in the library');
  }
  // A close that waited for the blocked send (it has no timeout) would never end: the bound only turns that into a failure.
  await within(scaled(2000), server.close(), 'close with a blocked send');
  await assert.rejects(blocked, { code: 'CLOSED' });
  await assert.rejects(behind, { code: 'CLOSED' });
});

test('messages that arrive before a listener is attached are kept for it', { timeout: scaled(60000) }, async () => {
  const { channel } = await echoPeer('late-listener');
  await channel.send('a');
  await channel.send('b');
  assert.equal((await channel.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'a');
  const got = await new Promise((resolve) => channel.once('message', (m) => resolve(m.toString())));
  assert.equal(got, 'b');
});

test('bad arguments get clear errors', { timeout: scaled(60000) }, async () => {
  await assert.rejects(api.open('.hidden'), { name: 'SipcError', code: 'INVALID_NAME', message: /\.hidden/ });
  await assert.rejects(api.open('x'.repeat(201)), { code: 'INVALID_NAME' });
  await assert.rejects(api.open(uniqueName('opts'), { queueDepth: 0 }), { code: 'INVALID_ARGUMENT', message: /queueDepth/ });
  await assert.rejects(api.open(uniqueName('opts'), { maxMessageSize: 1.5 }), { code: 'INVALID_ARGUMENT' });
  for (const receiveSpinUs of [-1, 1.5, 1001]) {
    await assert.rejects(api.open(uniqueName('opts'), { receiveSpinUs }), { code: 'INVALID_ARGUMENT', message: /receiveSpinUs/ });
  }
});
