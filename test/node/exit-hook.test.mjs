// The Node API's exit hook closes every channel of a process that ends: its peer finds the role free (pid 0),
// not held by a dead process, and the channels nobody else held are removed. A hook that did nothing would
// still give the peer PEER_GONE (the process died), so these tests look at the role itself.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { api, cleanup, derivedNames, openTracked, scaled, startNode, uniqueName, within } from './helpers.mjs';

afterEach(cleanup);

for (const ending of ['returns from its last callback', 'calls process.exit(0)']) {
  test(`a process that ${ending} closes its channels: the peer's role pid is back to 0, its own channels are gone`, { timeout: scaled(60000) }, async () => {
    const name = uniqueName('exit-hook');
    const own = derivedNames(name, ['own-0', 'own-1']);
    const server = await openTracked(name);
    const child = startNode(`
      const c = await api.open(name);
      await c.connect();
      for (const other of ${JSON.stringify(own)}) await api.open(other);
      console.log('connected as ' + process.pid);
      ${ending.includes('exit') ? 'process.exit(0);' : ''}
    `, { name });
    await server.connect({ timeoutMs: scaled(20000) }); // a child Node process can take seconds to start under load
    const result = await within(scaled(20000), child.done, 'child ending');
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    const childPid = Number(/connected as (\d+)/.exec(result.stdout)?.[1]);
    assert.ok(childPid > 0, result.stdout);
    await assert.rejects(within(scaled(10000), server.receive(), 'receive after the peer left'), { code: 'PEER_GONE' });
    const info = await api.stat(name);
    assert.equal(info.clientPid, 0, `the client role was released (a dead holder would leave pid ${childPid})`);
    assert.equal(info.clientAlive, false);
    assert.equal(info.serverPid, process.pid);
    for (const other of own) await assert.rejects(async () => api.stat(other), { code: 'NOT_FOUND' }, other);
  });
}
