// Channel behaviour that no other test pinned down, found by mutation testing (extension/src/api/channel.ts, issue #20):
// each test here fails for a mutant that survived every other test file. The peer getter after a peer was killed (its
// role stays attached, so its pid is still reported, and only the right role's liveness says it is dead), and no
// native call on a channel after close() (update() on a closed channel, reached by removing its last 'message'
// listener, would tell the closed handle's receive thread a new demand), and the text of a send refused at once.
// Session 13: the texts of what close() rejects (a pending connect, a pending receive, sends not yet queued), an
// iterator's return() repeated (it must count once), an iterator whose receiving ended with another error, an empty
// message alone in a batch, a cold iterator's read-ahead bound, and an iterator keeping its process alive.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { headerAbi } from '../../extension/scripts/generate-abi.mjs';
import { api, cleanup, openTracked, PEER_WAIT_MS, scaled, startNode, stepBudget, uniqueName, waitUntil, within } from './helpers.mjs';

const { SIPC_ASYNC_FLOWING } = Object.fromEntries(headerAbi().constants);

const countable = process.platform === 'linux' && !process.env.SIPC_TEST_EMULATOR;
const { api: counted, faults } = countable
  ? await (await import('./wrapped-bindings.mjs')).apiWithFaults()
  : { api: undefined, faults: undefined };

const opened = new Set();

afterEach(async () => {
  faults?.clear();
  await Promise.all([...opened].map((channel) => channel.close().catch(() => undefined)));
  opened.clear();
  await cleanup();
});

const TEST_MS = scaled(60000);

/** A server through the counted bindings (its native calls can be watched and faulted) and a plain client, connected. */
async function connectedPair(name, serverOptions) {
  const server = await counted.open(name, serverOptions);
  opened.add(server);
  const client = await api.open(name);
  opened.add(client);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  return { server, client };
}

test('a killed peer: the peer getter still names its process, and says it is dead (from the server and from the client)', { timeout: TEST_MS }, async () => {
  const left = stepBudget(TEST_MS);
  // The server here, the client a child process killed with SIGKILL.
  const name = uniqueName('dead-client');
  const server = await openTracked(name);
  const client = startNode(`const c = await api.open(name); await c.connect(); console.log('connected'); setInterval(() => {}, 1000);`, { name });
  await within(left(), server.connect({ timeoutMs: PEER_WAIT_MS }), 'the child client');
  await within(left(), client.waitFor('connected'), 'the child client connected');
  assert.deepEqual(server.peer, { pid: client.child.pid, alive: true });
  const clientGone = new Promise((resolve) => server.once('peer-gone', resolve));
  client.child.kill('SIGKILL');
  await within(left(), clientGone, "the server's 'peer-gone'");
  // The dead client's role is still attached (nobody took it over): its pid stays, its liveness is the client's.
  const serverSees = server.info();
  assert.deepEqual([serverSees.serverAlive, serverSees.clientAlive], [true, false], 'only the client is dead');
  assert.deepEqual(server.peer, { pid: client.child.pid, alive: false });

  // The client here, the server a child process killed with SIGKILL.
  const other = uniqueName('dead-server');
  const serverChild = startNode(`const s = await api.open(name); console.log('opened'); await s.connect(); setInterval(() => {}, 1000);`, { name: other });
  await within(left(), serverChild.waitFor('opened'), 'the child server');
  const mine = await openTracked(other);
  await within(left(), mine.connect({ timeoutMs: PEER_WAIT_MS }), 'the child server adopted');
  assert.equal(mine.role, 'client');
  assert.deepEqual(mine.peer, { pid: serverChild.child.pid, alive: true });
  const serverGone = new Promise((resolve) => mine.once('peer-gone', resolve));
  serverChild.child.kill('SIGKILL');
  await within(left(), serverGone, "the client's 'peer-gone'");
  const clientSees = mine.info();
  assert.deepEqual([clientSees.serverAlive, clientSees.clientAlive], [false, true], 'only the server is dead');
  assert.deepEqual(mine.peer, { pid: serverChild.child.pid, alive: false });
});

test('after close(), removing the last \'message\' listener makes no native call on the closed handle', { skip: countable ? false : 'counting bindings need esbuild on Linux' }, async () => {
  let closing = false;
  const demands = [];
  faults.set('sipc_async_channel_demand', (real, handle, flags, delta) => {
    demands.push({ flags, delta, afterClose: closing });
    // Never pass a call made after close() on: the handle may already be freed by the close's native thread.
    return closing ? 0 : real(handle, flags, delta);
  });
  const name = uniqueName('closed-update');
  // receiveSpinUs 0: the channel is never hot, so a listener makes the native thread flow (no pause to wait out).
  const { server, client } = await connectedPair(name, { receiveSpinUs: 0 });
  const listener = () => undefined;
  server.on('message', listener);
  await waitUntil(() => demands.at(-1)?.flags === SIPC_ASYNC_FLOWING, 'the native thread told to flow for the listener');
  closing = true;
  await server.close();
  server.off('message', listener);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(demands.filter((demand) => demand.afterClose), [], 'no demand after close()');
  assert.equal(server.listenerCount('message'), 0);
});

test('a listener that closes the channel while it is handed the backlog: no native call after the close', { skip: countable ? false : 'counting bindings need esbuild on Linux' }, async () => {
  let closing = false;
  const demands = [];
  let taken = 0;
  faults.set('sipc_async_channel_demand', (real, handle, flags, delta) => {
    demands.push({ flags, delta, afterClose: closing });
    return closing ? 0 : real(handle, flags, delta);
  });
  faults.set('sipc_async_channel_take', (real, handle, buffer, capacity, lengths, maxCount, count) => {
    const rc = real(handle, buffer, capacity, lengths, maxCount, count);
    taken += count[0];
    return rc;
  });
  const name = uniqueName('closed-offer');
  const { server, client } = await connectedPair(name, { receiveSpinUs: 0 });
  // An iterator reads ahead: the three messages after the first are taken into the backlog while nobody asks.
  const iterator = server[Symbol.asyncIterator]();
  await client.send('m0');
  assert.equal((await within(PEER_WAIT_MS, iterator.next(), 'm0')).value.toString(), 'm0');
  for (const m of ['m1', 'm2', 'm3']) await client.send(m);
  await waitUntil(() => taken === 4, 'the three messages after m0 taken ahead');
  await iterator.return();
  // A listener added now is handed the backlog; it closes the channel at its first message.
  const got = [];
  server.on('message', (message) => {
    got.push(message.toString());
    closing = true;
    void server.close();
  });
  await waitUntil(() => got.length > 0, 'the backlog offered to the listener');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(got, ['m1'], 'nothing after the close');
  assert.deepEqual(demands.filter((demand) => demand.afterClose), [], 'no demand after close()');
});

test('a send after the peer left fails at once with PEER_GONE, its text naming the send and the channel', async () => {
  const name = uniqueName('gone-send');
  const server = await openTracked(name);
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  const gone = new Promise((resolve) => server.once('peer-gone', resolve));
  await client.close();
  await within(PEER_WAIT_MS, gone, "'peer-gone'");
  // The library refuses it on this thread (send_now): the API's own context comes before the library's reason.
  await assert.rejects(server.send('x'), (error) =>
    error.code === 'PEER_GONE' && error.message.startsWith(`send to channel '${name}' failed: `) && error.message.length > `send to channel '${name}' failed: `.length);
});

test('close(): a pending connect, a pending receive and sends not yet queued reject with CLOSED, each text naming what failed and the channel', async () => {
  const name = uniqueName('close-texts');
  const lonely = await openTracked(name + '-alone');
  const connecting = lonely.connect().then(() => 'connected', (error) => error);
  const receiving = lonely.receive().then(() => 'received', (error) => error);
  await lonely.close();
  const closedText = (what, channel) => `${what} channel '${channel}' failed: the channel was closed`;
  const connectError = await connecting;
  assert.equal(connectError.code, 'CLOSED');
  assert.equal(connectError.message, closedText('connect to', name + '-alone'));
  const receiveError = await receiving;
  assert.equal(receiveError.code, 'CLOSED');
  assert.equal(receiveError.message, closedText('receive from', name + '-alone'));

  // Both ends here; the client asks for nothing, so the queue of depth 1 stays full: the second send waits in the
  // sender thread, the third behind it, and neither is sent when the server closes.
  const server = await openTracked(name, { queueDepth: 1, receiveSpinUs: 0 });
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  await server.send('fills the queue');
  const cutOff = [server.send('waits for room'), server.send('queued behind')].map((send) => send.then(() => 'sent', (error) => error));
  await server.close();
  for (const error of await Promise.all(cutOff)) {
    assert.equal(error.code, 'CLOSED');
    assert.equal(error.message, `send to channel '${name}' failed: the channel was closed before the message could be queued`);
  }
  assert.equal((await client.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'fills the queue');
});

test('an iterator returned twice counts once: another iterator of the channel still keeps the native thread flowing', { skip: countable ? false : 'counting bindings need esbuild on Linux' }, async () => {
  const demands = [];
  faults.set('sipc_async_channel_demand', (real, handle, flags, delta) => {
    demands.push(flags);
    return real(handle, flags, delta);
  });
  const name = uniqueName('iterator-twice');
  // receiveSpinUs 0: never hot, so an iterator makes the native thread flow (never paused).
  const { server, client } = await connectedPair(name, { receiveSpinUs: 0 });
  const first = server[Symbol.asyncIterator]();
  const second = server[Symbol.asyncIterator]();
  await waitUntil(() => demands.at(-1) === SIPC_ASYNC_FLOWING, 'the native thread told to flow for the iterators');
  assert.deepEqual(await first.return(), { done: true, value: undefined });
  assert.deepEqual(await first.return(), { done: true, value: undefined });
  assert.deepEqual(await first.next(), { done: true, value: undefined });
  assert.equal(demands.at(-1), SIPC_ASYNC_FLOWING, 'still flowing for the second iterator');
  await client.send('for the second');
  assert.equal((await within(PEER_WAIT_MS, second.next(), 'the second iterator')).value.toString(), 'for the second');
  await second.return();
  await waitUntil(() => demands.at(-1) === 0, 'no flow once no iterator is left');
});

test('an iterator whose receiving ended with an error other than PEER_GONE or CLOSED throws it, not ends', { skip: countable ? false : 'counting bindings need esbuild on Linux' }, async () => {
  // As in faults.test.mjs: the library refusing its own batch (asked with no room) ends receiving with BUFFER_TOO_SMALL.
  faults.set('sipc_async_channel_take', (real, handle, buffer, capacity, lengths, maxCount, count) =>
    real(handle, buffer, 0, lengths, maxCount, count));
  const name = uniqueName('iterator-error');
  const { server, client } = await connectedPair(name, { receiveSpinUs: 0 });
  const errors = [];
  server.on('error', (error) => errors.push(error));
  const iterator = server[Symbol.asyncIterator]();
  const next = iterator.next();
  await client.send('refused');
  await assert.rejects(within(PEER_WAIT_MS, next, "the iterator's next()"), (error) =>
    error.code === 'BUFFER_TOO_SMALL' && error.message.startsWith(`receive from channel '${name}' failed: `));
  assert.equal(errors.length, 1);
  // It ended (finished): the next call says done.
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
});

test('an empty message taken alone in a batch arrives empty (the batch buffer has 1 byte)', async () => {
  const name = uniqueName('empty-alone');
  // receiveSpinUs 0: every message comes as a batch taken by the native notification.
  const server = await openTracked(name, { receiveSpinUs: 0 });
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  const pending = server.receive({ timeoutMs: PEER_WAIT_MS });
  await client.send(new Uint8Array(0));
  assert.equal((await pending).length, 0);
  await client.send('x');
  assert.equal((await server.receive({ timeoutMs: PEER_WAIT_MS })).toString(), 'x');
});

test('a cold iterator lets the native thread read at most 64 messages ahead: with 64 waiting it stops the flow', { skip: countable ? false : 'counting bindings need esbuild on Linux' }, async () => {
  const demands = [];
  let taken = 0;
  faults.set('sipc_async_channel_demand', (real, handle, flags, delta) => {
    demands.push(flags);
    return real(handle, flags, delta);
  });
  faults.set('sipc_async_channel_take', (real, handle, buffer, capacity, lengths, maxCount, count) => {
    const rc = real(handle, buffer, capacity, lengths, maxCount, count);
    taken += count[0];
    return rc;
  });
  const name = uniqueName('cold-read-ahead');
  // receiveSpinUs 0: never hot, so the iterator's read-ahead is the native thread's (flowing), not this thread's.
  const { server, client } = await connectedPair(name, { receiveSpinUs: 0, queueDepth: 128 });
  const iterator = server[Symbol.asyncIterator]();
  await waitUntil(() => demands.at(-1) === SIPC_ASYNC_FLOWING, 'the native thread told to flow for the iterator');
  const sent = Array.from({ length: 64 }, (_, i) => `m${i}`);
  for (const m of sent) await client.send(m);
  // Nobody calls next(): all 64 go to the backlog; the turn that took the 64th stops the flow.
  await waitUntil(() => taken === 64, 'the 64 messages read ahead');
  assert.equal(demands.at(-1), 0, 'no flow with 64 messages read ahead');
  const got = [];
  for (let i = 0; i < 64; i++) got.push((await iterator.next()).value.toString());
  assert.deepEqual(got, sent);
  await iterator.return();
});

test('an iterator with no next() pending keeps the process alive (its read-ahead) until it is returned', { timeout: TEST_MS }, async () => {
  const name = uniqueName('iterator-alive');
  const server = await openTracked(name);
  // A positive sign of life, as in lifecycle.test.mjs: an unref'd timer fires only in an event loop that something
  // else keeps running (here the iterator alone: connect() has settled, no receive() is pending).
  const child = startNode(`
    const c = await api.open(name);
    await c.connect();
    const iterator = c[Symbol.asyncIterator]();
    setTimeout(() => { console.log('alive with only the iterator'); void iterator.return(); }, 100).unref();
  `, { name });
  await within(PEER_WAIT_MS, server.connect({ timeoutMs: PEER_WAIT_MS }), 'the child client');
  await child.waitFor('alive with only the iterator');
  const result = await within(PEER_WAIT_MS, child.done, 'the child exits once its iterator is returned');
  assert.equal(result.code, 0, result.stderr);
});
