// Process lifetime: exiting with open channels (busy or idle) is clean, and idle channels starve nothing.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { cleanup, derivedNames, openTracked, PEER_WAIT_MS, scaled, startNode, stepBudget, uniqueName, within } from './helpers.mjs';

afterEach(cleanup);

test('process.exit() during heavy traffic on open channels exits with code 0, no crash', { timeout: scaled(60000) }, async () => {
  for (let round = 0; round < 5; round++) {
    const name = uniqueName(`exit-busy${round}`);
    derivedNames(name, [0, 1, 2, 'idle']);
    const child = startNode(`
      const pairs = [];
      for (let i = 0; i < 3; i++) {
        const s = await api.open(name + '-' + i), c = await api.open(name + '-' + i);
        await Promise.all([s.connect(), c.connect()]);
        pairs.push([s, c]);
      }
      await api.open(name + '-idle');
      // The exit comes in the middle of the traffic, at a count of messages rather than after a time (each round
      // another count): the process has had traffic when it exits, whatever the machine's load.
      const exitAt = 200 + ${round * 37};
      let received = 0;
      const heard = () => {
        if (++received !== exitAt) return;
        console.log('received ' + received);
        setImmediate(() => process.exit(0)); // from the event loop, as a timer did, while the sends go on
      };
      for (const [s, c] of pairs) {
        s.on('message', heard);
        c.on('message', heard);
        (async () => { for (;;) { await c.send('x'.repeat(100)); await s.send('y'); } })().catch(() => {});
      }
    `, { name });
    const result = await within(scaled(20000), child.done, 'child exit');
    assert.equal(result.signal, null, `round ${round}: killed by ${result.signal}; stderr: ${result.stderr}`);
    assert.equal(result.code, 0, `round ${round}: stderr: ${result.stderr}`);
    assert.equal(result.stdout, `received ${200 + round * 37}\n`, 'it exited in the middle of its traffic');
    assert.equal(result.stderr, '');
  }
});

test('a process with open idle channels ends by itself, and its peer sees PEER_GONE', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('exit-idle');
  derivedNames(name, ['idle-0', 'idle-1', 'idle-2', 'idle-3']);
  const server = await openTracked(name);
  const child = startNode(`
    const c = await api.open(name);
    await c.connect();
    await c.send('hello');
    await c.receive({ timeoutMs: 10 }).catch((e) => console.log('receive ' + e.code));
    for (let i = 0; i < 4; i++) await api.open(name + '-idle-' + i);
    console.log('leaving with channels open');
  `, { name });
  // Bounds below the test's own 45 s: a child Node process can take seconds to start on a loaded machine.
  assert.equal((await server.receive({ timeoutMs: scaled(20000) })).toString(), 'hello');
  const result = await within(scaled(20000), child.done, 'child ending by itself');
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /receive TIMEOUT/);
  // The exit hook closed the channel (exit-hook.test.mjs checks that the role was released, not abandoned).
  await within(scaled(10000), assert.rejects(server.receive(), { code: 'PEER_GONE' }), 'PEER_GONE after the child exit');
});

test('a pending receive keeps the process alive until its message arrives', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('keep-alive');
  const server = await openTracked(name);
  // A positive sign of life instead of "not exited yet after a while": an unref'd timer keeps no process alive, so
  // it fires only in an event loop that something else (the pending receive) keeps running; without that the
  // process ends first and never prints 'alive'.
  const child = startNode(`
    const c = await api.open(name);
    c.receive().then((m) => console.log('got ' + m.toString()));
    console.log('waiting');
    setTimeout(() => console.log('alive with only the receive pending'), 100).unref();
  `, { name });
  await child.waitFor('waiting');
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  await child.waitFor('alive with only the receive pending');
  assert.equal(child.child.exitCode, null, 'the child is still running while its receive() is pending');
  await server.send('late');
  const result = await within(PEER_WAIT_MS, child.done, 'child exit');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /got late/);
});

test('8 idle connected channels with pending receives and blocked sends leave fs.readFile working', { timeout: scaled(60000) }, async () => {
  const base = uniqueName('starve');
  derivedNames(base, [0, 1, 2, 3, 4, 5, 6, 7]);
  const servers = [];
  for (let i = 0; i < 8; i++) servers.push(await openTracked(`${base}-${i}`, { queueDepth: 1 }));
  const peer = startNode(`
    const cs = [];
    for (let i = 0; i < 8; i++) { const c = await api.open(name + '-' + i, { queueDepth: 1 }); await c.connect(); cs.push(c); }
    console.log('ready');
    setInterval(() => {}, 1000);
  `, { name: base });
  await peer.waitFor('ready');
  await Promise.all(servers.map((s) => s.connect({ timeoutMs: PEER_WAIT_MS })));
  const pending = [];
  for (const server of servers) {
    pending.push(server.receive().catch(() => undefined));
    await server.send('fills the queue of 1');
    pending.push(server.send('blocks: the peer never receives').catch(() => undefined));
  }
  const self = fileURLToPath(import.meta.url);
  // Were the 16 waits parked in libuv's pool (4 threads), no readFile would answer while they last: each read must
  // complete (the wait's bound only turns a hang into a failure; how fast they are is the benchmark's business).
  for (let i = 0; i < 8; i++) {
    await within(PEER_WAIT_MS, readFile(self), `fs.readFile ${i + 1} of 8 with 8 idle channels`);
  }
  await Promise.all(servers.map((s) => s.close()));
  await within(PEER_WAIT_MS, Promise.all(pending), 'pending operations settling on close');
});

test('an exception thrown by a \'message\' listener surfaces as an uncaught exception, and the channel goes on', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('listener-throws');
  const child = startNode(`
    const server = await api.open(name), client = await api.open(name);
    await Promise.all([server.connect(), client.connect()]);
    let uncaught = 0;
    process.on('uncaughtException', (error) => {
      console.log('uncaught: ' + error.message);
      if (++uncaught === 2) Promise.all([server.close(), client.close()]).then(() => console.log('closed'));
    });
    // Both are queued before the listener comes, so they are taken in one batch: the second must not be lost.
    await client.send('one');
    await client.send('two');
    server.on('message', (message) => { throw new Error('the listener threw at ' + message); });
  `, { name });
  const result = await within(PEER_WAIT_MS, child.done, 'the child');
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), ['uncaught: the listener threw at one', 'uncaught: the listener threw at two', 'closed']);
});

const BEFORE_EXIT_TEST_MS = scaled(60000);

test('a channel used again from a \'beforeExit\' listener works: the exit hook\'s disarming is undone', { timeout: BEFORE_EXIT_TEST_MS }, async () => {
  // The child's start, connect and exit share the test's budget (a start took over 20 s under two CPU hogs).
  const left = stepBudget(BEFORE_EXIT_TEST_MS);
  const name = uniqueName('before-exit');
  const server = await openTracked(name);
  const child = startNode(`
    const c = await api.open(name);
    await c.connect();
    // The exit hook (installed at the first open) disarmed the channel's notify calls just before this listener.
    process.once('beforeExit', () => {
      c.receive().then((m) => { console.log('got ' + m); return c.close(); });
      console.log('waiting');
    });
  `, { name });
  await server.connect({ timeoutMs: left() });
  await within(left(), child.waitFor('waiting'), "the child's beforeExit");
  await server.send('after beforeExit');
  const result = await within(left(), child.done, 'the child');
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), ['waiting', 'got after beforeExit']);
});
