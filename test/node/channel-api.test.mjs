// The Channel API's contract at its edges, with both ends in this process (fast): every argument check and its
// message, every call on a closed channel, the events and states of a connection, sends that cannot wait, and an
// iterator left early. channel.test.mjs checks the traffic itself against real peer processes.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { api, cleanup, openTracked, PEER_WAIT_MS, startNode, uniqueName, waitUntil, within } from './helpers.mjs';

// extension/src/api/abi.ts (generated from sipc.h).
const SIPC_MAX_MESSAGE_LIMIT = 67108864;
const SIPC_MAX_QUEUE_DEPTH = 4096;

afterEach(cleanup);

/** A connected server and client of a new channel, both in this process. */
async function connectedPair(label, options) {
  const name = uniqueName(label);
  const server = await openTracked(name, options);
  const client = await openTracked(name);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  return { name, server, client };
}

test('open() checks every option, naming it and its range; nothing is created for a refused one', async () => {
  const name = uniqueName('opts');
  const refused = [
    [{ maxMessageSize: 0 }, `maxMessageSize must be an integer from 1 to ${SIPC_MAX_MESSAGE_LIMIT}`],
    [{ maxMessageSize: SIPC_MAX_MESSAGE_LIMIT + 1 }, `maxMessageSize must be an integer from 1 to ${SIPC_MAX_MESSAGE_LIMIT}`],
    [{ maxMessageSize: 1.5 }, `maxMessageSize must be an integer from 1 to ${SIPC_MAX_MESSAGE_LIMIT}`],
    [{ queueDepth: 0 }, `queueDepth must be an integer from 1 to ${SIPC_MAX_QUEUE_DEPTH}`],
    [{ queueDepth: SIPC_MAX_QUEUE_DEPTH + 1 }, `queueDepth must be an integer from 1 to ${SIPC_MAX_QUEUE_DEPTH}`],
    [{ mode: -1 }, 'mode must be permission bits from 0 to 0o777'],
    [{ mode: 0o1000 }, 'mode must be permission bits from 0 to 0o777'],
    [{ mode: 0.5 }, 'mode must be permission bits from 0 to 0o777'],
    [{ mode: 0o400 }, "mode must keep the owner's read and write bits (0o600); 0 means 0o600"],
    [{ mode: 0o266 }, "mode must keep the owner's read and write bits (0o600); 0 means 0o600"],
  ];
  for (const [options, message] of refused) {
    await assert.rejects(api.open(name, options), { name: 'SipcError', code: 'INVALID_ARGUMENT', message }, JSON.stringify(options));
  }
  await assert.rejects(api.stat(name), { code: 'NOT_FOUND' }, 'nothing was created');
  // The edges themselves are accepted, and each option reaches the channel.
  const server = await openTracked(name, { maxMessageSize: 1, queueDepth: SIPC_MAX_QUEUE_DEPTH, mode: 0o600, inheritHandles: true });
  const info = server.info();
  assert.deepEqual([info.maxMessageSize, info.queueDepth, info.mode], [1, SIPC_MAX_QUEUE_DEPTH, 0o600]);
  assert.equal(server.maxMessageSize, 1);
  const widest = await openTracked(uniqueName('opts'), { queueDepth: 1, mode: 0o777 });
  assert.deepEqual([widest.info().queueDepth, widest.info().mode], [1, 0o777]);
  const unset = await openTracked(uniqueName('opts'), { mode: 0 }); // sipc.h: mode 0 is the default, 0600
  assert.equal(unset.info().mode, 0o600);
});

test('every timeoutMs is checked the same way: a whole number from 0 to 2147483647', async () => {
  const { name, server } = await connectedPair('timeouts');
  const calls = {
    connect: [(timeoutMs) => server.connect({ timeoutMs }), `connect to channel '${name}'`],
    send: [(timeoutMs) => server.send('x', { timeoutMs }), `send to channel '${name}'`],
    receive: [(timeoutMs) => server.receive({ timeoutMs }), `receive from channel '${name}'`],
  };
  for (const [what, [call, context]] of Object.entries(calls)) {
    for (const bad of [-1, 1.5, 0x80000000, Number.NaN]) {
      await assert.rejects(call(bad), {
        code: 'INVALID_ARGUMENT', message: `${context}: timeoutMs must be an integer from 0 to 2147483647`,
      }, `${what} ${bad}`);
    }
  }
  await server.connect({ timeoutMs: 0x7fffffff }); // connected: answers at once
  await server.send('edge', { timeoutMs: 0x7fffffff });
});

test('a connection: both ends emit \'connected\' once, know their role and their peer, and see it leave', async () => {
  const name = uniqueName('events');
  const server = await openTracked(name);
  assert.equal(server.role, 'server');
  assert.equal(server.state, 'waiting');
  assert.equal(server.peer, undefined, 'no peer yet');
  const serverConnected = [];
  server.on('connected', () => serverConnected.push(server.state));
  const client = await openTracked(name);
  assert.equal(client.role, 'client');
  const clientConnected = [];
  client.on('connected', () => clientConnected.push(client.state));
  await Promise.all([server.connect(), client.connect()]);
  assert.deepEqual(serverConnected, ['connected']);
  await within(PEER_WAIT_MS, new Promise((resolve) => (clientConnected.length ? resolve() : client.once('connected', resolve))), "the client's 'connected'");
  assert.deepEqual(clientConnected, ['connected']);
  assert.deepEqual(server.peer, { pid: process.pid, alive: true });
  assert.deepEqual(client.peer, { pid: process.pid, alive: true });
  const gone = new Promise((resolve) => server.once('peer-gone', resolve));
  await client.close();
  await within(PEER_WAIT_MS, gone, "'peer-gone'");
  assert.equal(server.state, 'peer-gone');
  assert.equal(server.peer, undefined, 'the client role is free again');
  assert.deepEqual(serverConnected, ['connected'], "'connected' came once");
});

test('the peer getter names the process at the other end, from either end', { timeout: 60000 }, async () => {
  const name = uniqueName('peer');
  const server = await openTracked(name);
  const child = startNode(`const c = await api.open(name); await c.connect(); console.log('server is ' + c.peer.pid + ' ' + c.peer.alive); setInterval(() => {}, 1000);`, { name });
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  const line = await within(PEER_WAIT_MS, child.waitFor('server is'), 'the child client');
  assert.match(line, new RegExp(`server is ${process.pid} true`));
  assert.deepEqual(server.peer, { pid: child.child.pid, alive: true });
});

test('a closed channel refuses every call with CLOSED, naming it; close() again is the same promise', async () => {
  const { name, server, client } = await connectedPair('closed');
  const closing = server.close();
  assert.equal(server.close(), closing, 'safe to repeat');
  await closing;
  assert.equal(server.state, 'closed');
  assert.equal(server.peer, undefined);
  await assert.rejects(server.send('x'), { code: 'CLOSED', message: `send to channel '${name}' failed: the channel is closed` });
  await assert.rejects(server.receive(), { code: 'CLOSED', message: `receive from channel '${name}' failed: the channel is closed` });
  await assert.rejects(server.connect(), { code: 'CLOSED', message: `connect to channel '${name}' failed: the channel is closed` });
  assert.throws(() => server.info(), { code: 'CLOSED', message: `read the state of channel '${name}' failed: the channel is closed` });
  await client.close();
});

test('what cannot be sent is refused before anything is queued: not bytes, too big, no room with timeoutMs 0, no peer', async () => {
  const { name, server, client } = await connectedPair('refused', { maxMessageSize: 8, queueDepth: 1 });
  for (const bad of [42, { length: 1 }, null, [1, 2]]) {
    await assert.rejects(server.send(bad), {
      code: 'INVALID_ARGUMENT', message: 'a message must be a Uint8Array (or Buffer) or a string',
    }, JSON.stringify(bad));
  }
  await assert.rejects(server.send('123456789'), {
    code: 'TOO_BIG', message: `send to channel '${name}' failed: the message has 9 bytes, the channel's maximum is 8`,
  });
  await server.send('12345678'); // exactly the maximum
  await assert.rejects(server.send('full', { timeoutMs: 0 }), (e) => e.code === 'TIMEOUT' && e.message.startsWith(`send to channel '${name}' failed: `));
  assert.equal((await client.receive()).toString(), '12345678', 'only the first message was queued');
  await assert.rejects(client.receive({ timeoutMs: 0 }), { code: 'TIMEOUT', message: `receive from channel '${name}' failed: no message arrived within 0 ms` });
  // Without a peer, a send that may not wait fails at once with the library's reason.
  const lonelyName = uniqueName('lonely');
  const lonely = await openTracked(lonelyName);
  await assert.rejects(lonely.send('anyone?', { timeoutMs: 0 }),
    (e) => e.code === 'NOT_CONNECTED' && e.message.startsWith(`send to channel '${lonelyName}' failed: `));
  await assert.rejects(lonely.connect({ timeoutMs: 0 }), { code: 'TIMEOUT', message: /no peer connected within 0 ms$/ });
});

test('an iterator left early stops reading: later messages wait for receive(), in order', async () => {
  const { server, client } = await connectedPair('iterator');
  for (const text of ['a', 'b', 'c']) await client.send(text);
  const seen = [];
  for await (const message of server) {
    seen.push(message.toString());
    if (seen.length === 1) break;
  }
  assert.deepEqual(seen, ['a']);
  const iterator = server[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.return(), { done: true, value: undefined });
  assert.deepEqual(await iterator.next(), { done: true, value: undefined }, 'an iterator that returned stays done');
  assert.equal((await server.receive()).toString(), 'b');
  assert.equal((await server.receive()).toString(), 'c');
  // Once the peer left, an iterator ends (no exception) and receive() reports PEER_GONE.
  await client.close();
  const rest = [];
  for await (const message of server) rest.push(message);
  assert.deepEqual(rest, []);
  await assert.rejects(server.receive(), { code: 'PEER_GONE' });
});

test('a process whose for-await loop broke off ends by itself: a left iterator keeps nothing alive', { timeout: 60000 }, async () => {
  const name = uniqueName('iter-exit');
  const child = startNode(`
    const server = await api.open(name), client = await api.open(name);
    await Promise.all([server.connect(), client.connect()]);
    await client.send('one');
    await client.send('two');
    for await (const message of server) { console.log('got ' + message); break; }
    console.log('left the loop');
  `, { name });
  const result = await within(PEER_WAIT_MS, child.done, 'the child ending by itself');
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), ['got one', 'left the loop']);
});

test('more messages ready at once than one notification takes: every pending receive() gets its own, in order, then PEER_GONE', async () => {
  // 3,000 sent in one event-loop turn reach the main thread in a few notifications (the native thread notifies once
  // until the next poll), more than one notification takes (4 × 256 each): the rest must not wait for news from the peer.
  const count = 3000;
  const expected = Array.from({ length: count }, (_, i) => String(i));
  const { server, client } = await connectedPair('rounds', { queueDepth: 4096, receiveSpinUs: 0 });
  const burst = async (received, then) => {
    const sends = expected.map((text) => client.send(text));
    then();
    await Promise.all(sends);
    return (await within(PEER_WAIT_MS, Promise.all(received), `${count} receives`)).map(String);
  };
  const receives = () => Array.from({ length: count }, () => server.receive());
  // The peer stays, idle: the native thread has nothing new to report.
  assert.deepEqual(await burst(receives(), () => undefined), expected);
  // The peer leaves at once: its leaving is known while messages are still to be taken, and must come after them.
  const received = receives();
  const end = server.receive().then(() => 'a message too many', (e) => e.code);
  assert.deepEqual(await burst(received, () => client.close()), expected);
  assert.equal(await within(PEER_WAIT_MS, end, 'the end of receiving'), 'PEER_GONE');
});

test('what the exit hooks call: arm(false) at \'beforeExit\' stops notifications and the next call re-arms them; shutdownForExit() releases the role at once', async () => {
  const { name, server, client } = await connectedPair('exit-calls', { receiveSpinUs: 0 });
  const first = server.receive();
  let settled = false;
  first.then(() => { settled = true; }, () => { settled = true; });
  // What lifecycle.ts's 'beforeExit' handler does to every handle (Node's own event cannot be emitted here: node:test
  // takes it for the end of the run): no more notify calls. It answers how many are in flight (queued for this thread):
  // the hook lets the loop turn until none is, and so does this test.
  await waitUntil(() => server.arm(false) === 0, 'no notify call in flight');
  await client.send('while disarmed');
  await waitUntil(() => server.info().toServer.queued === 0, 'the native thread took the message');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, 'no notification while disarmed');
  // Any call re-arms, and the news that came meanwhile is looked at (no notify will come for it).
  const second = server.receive();
  assert.equal((await within(PEER_WAIT_MS, first, 'the first receive after re-arming')).toString(), 'while disarmed');
  await client.send('armed again');
  assert.equal((await within(PEER_WAIT_MS, second, 'the second receive')).toString(), 'armed again');
  assert.ok(server.arm(true) >= 0, 'arm() answers the notify calls in flight');
  // The 'exit' hook, after 'beforeExit' found no notify call in flight (with one, the handle is left to libsipc's own
  // exit handler): closed at once, on this thread; the role is free, the peer sees PEER_GONE.
  const pending = server.receive();
  await waitUntil(() => server.arm(false) === 0, 'no notify call in flight');
  server.shutdownForExit();
  assert.equal(server.state, 'closed');
  await assert.rejects(pending, { code: 'CLOSED' });
  await assert.rejects(server.receive(), { code: 'CLOSED' });
  assert.equal((await api.stat(name)).serverPid, 0, 'the server role was released');
  await assert.rejects(within(PEER_WAIT_MS, client.receive(), 'the peer\'s receive'), { code: 'PEER_GONE' });
  server.shutdownForExit(); // again: nothing
  assert.equal(server.arm(false), 0, 'a closed channel is not armed again');
  await server.close();
});

test('a process that closes a channel with a receive() pending ends by itself: a closed channel keeps nothing alive', { timeout: 60000 }, async () => {
  const name = uniqueName('close-exit');
  const child = startNode(`
    const server = await api.open(name);
    const pending = server.receive().catch((e) => console.log('receive ' + e.code));
    await server.close();
    await pending;
    console.log('closed');
  `, { name });
  const result = await within(PEER_WAIT_MS, child.done, 'the child ending by itself');
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), ['receive CLOSED', 'closed']);
});
