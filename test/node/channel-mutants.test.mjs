// Channel behaviour that no other test pinned down, found by mutation testing (extension/src/api/channel.ts, issue #20):
// each test here fails for a mutant that survived every other test file. The peer getter after a peer was killed (its
// role stays attached, so its pid is still reported, and only the right role's liveness says it is dead), and no
// native call on a channel after close() (update() on a closed channel, reached by removing its last 'message'
// listener, would tell the closed handle's receive thread a new demand), and the text of a send refused at once.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { api, cleanup, openTracked, PEER_WAIT_MS, scaled, startNode, stepBudget, uniqueName, waitUntil, within } from './helpers.mjs';

// extension/src/api/abi.ts (generated from sipc.h).
const SIPC_ASYNC_FLOWING = 1;

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
  const server = await counted.open(name, { receiveSpinUs: 0 });
  opened.add(server);
  const client = await api.open(name);
  opened.add(client);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
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
  const server = await counted.open(name, { receiveSpinUs: 0 });
  opened.add(server);
  const client = await api.open(name);
  opened.add(client);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
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
