// A Node process that exits with channels open leaves nothing in /dev/shm, also when it held both ends itself.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { api, cleanup, derivedNames, scaled, startNode, uniqueName, within } from './helpers.mjs';

afterEach(cleanup);

/** The way the child ends, as source text run once both of its channels are connected. */
const ENDINGS = {
  'process.exit()': 'process.exit(0);',
  'an uncaught exception': "setTimeout(() => { throw new Error('boom'); }, 0);",
  'the end of its work': 'await Promise.all(pairs.flat().map((c) => c.close()));',
};

async function assertGone(name) {
  await assert.rejects(api.stat(name), { code: 'NOT_FOUND' }, `channel '${name}' was left behind`);
}

for (const [ending, code] of Object.entries(ENDINGS)) {
  test(`${ending} with both ends of two channels open removes both channels`, { timeout: scaled(30000) }, async () => {
    const name = uniqueName('exit-both');
    const [first, second] = derivedNames(name, ['a', 'b']);
    const child = startNode(`
      const pairs = [];
      for (const n of [name + '-a', name + '-b']) {
        const s = await api.open(n), c = await api.open(n);
        await Promise.all([s.connect(), c.connect()]);
        await c.send('unread');
        pairs.push([s, c]);
      }
      console.log('connected');
      ${code}
    `, { name });
    await child.waitFor('connected');
    const result = await within(scaled(20000), child.done, 'child exit');
    assert.equal(result.signal, null, result.stderr);
    if (ending === 'an uncaught exception') assert.notEqual(result.code, 0);
    else assert.equal(result.code, 0, result.stderr);
    await assertGone(first);
    await assertGone(second);
  });
}

test('process.exit() with one end open leaves the channel to the peer, which sees PEER_GONE', { timeout: scaled(30000) }, async () => {
  const name = uniqueName('exit-one');
  const server = await api.open(name);
  try {
    const child = startNode(`
      const c = await api.open(name);
      await c.connect();
      console.log('connected');
      process.exit(0);
    `, { name });
    await server.connect({ timeoutMs: scaled(10000) });
    await within(scaled(20000), child.done, 'child exit');
    await within(scaled(3000), assert.rejects(server.receive(), { code: 'PEER_GONE' }), 'PEER_GONE after the child exit');
    assert.equal((await api.stat(name)).clientPid, 0, 'the client role was given back');
  } finally {
    await server.close();
  }
  await assertGone(name);
});
