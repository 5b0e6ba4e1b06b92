// Channels by name (validateName/stat/list/remove) and finding the native library.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, cleanup, openTracked, PEER_WAIT_MS, scaled, segmentPath, startNode, uniqueName, within } from './helpers.mjs';

const linux = process.platform === 'linux';

afterEach(cleanup);

test('validateName accepts the documented names and explains the rule otherwise', () => {
  for (const good of ['a', 'demo', 'A-z_0.9', 'x'.repeat(200)]) api.validateName(good);
  for (const bad of ['', '.dot', 'has space', 'slash/no', 'x'.repeat(201), 'ünï']) {
    assert.throws(() => api.validateName(bad), { name: 'SipcError', code: 'INVALID_NAME', message: /A-Z a-z 0-9/ }, bad);
    assert.throws(() => api.validateName(bad), (e) => e.message.startsWith(`'${bad}' is not a valid channel name: `), `names ${bad}`);
  }
  assert.throws(() => api.validateName(5), { name: 'SipcError', code: 'INVALID_NAME', message: 'a channel name must be a string' });
});

test('stat and remove refuse a bad name with the same explanation, as a rejected promise', async () => {
  for (const call of [() => api.stat('.dot'), () => api.remove('.dot'), () => api.remove('.dot', true)]) {
    let promise;
    assert.doesNotThrow(() => { promise = call(); }, 'never a synchronous throw');
    await assert.rejects(promise, (e) => e.code === 'INVALID_NAME' && e.message.startsWith("'.dot' is not a valid channel name: "));
  }
});

test('stat, list and remove a channel by name', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('admin');
  // The library's own text for the status (sipc_strerror), after what was attempted.
  await assert.rejects(api.stat(name), { code: 'NOT_FOUND', message: `reading the state of channel '${name}' failed: no channel of that name exists` });
  const server = await openTracked(name, { maxMessageSize: 4096, queueDepth: 8, mode: 0o640 });
  const info = await api.stat(name);
  assert.equal(info.name, name);
  assert.equal(info.state, 'waiting');
  assert.equal(info.serverPid, process.pid);
  assert.equal(info.serverAlive, true);
  assert.equal(info.clientPid, 0);
  assert.equal(info.maxMessageSize, 4096);
  assert.equal(info.queueDepth, 8);
  assert.equal(info.mode, 0o640);
  assert.equal(info.protocolVersion, 4);
  assert.ok(info.created instanceof Date && Math.abs(info.created.getTime() - Date.now()) < 60000);
  assert.equal(info.toClient.capacity, 8);
  assert.equal(info.toServer.lastActivity, undefined);
  assert.equal((await api.stat(name, { timeoutMs: 0 })).state, 'waiting');
  await assert.rejects(api.stat(name, { timeoutMs: -1 }), { code: 'INVALID_ARGUMENT', message: /timeoutMs/ });
  assert.ok((await api.list()).some((c) => c.name === name && c.serverPid === process.pid));
  await assert.rejects(api.remove(name), { code: 'BUSY' });
  await api.remove(name, true);
  await assert.rejects(api.stat(name), { code: 'NOT_FOUND' });
  await server.close();
});

test('a channel whose creator died before initialising it has no creation time (undefined, not 1970)', {
  skip: process.platform !== 'linux' && 'the half-made object is written into /dev/shm directly',
  timeout: scaled(60000),
}, async () => {
  const name = uniqueName('x');
  assert.ok(name.length <= 25, `${name} must stay a plain key (sipc.NAME, 30 bytes at most), not a hashed one`);
  // What a creator leaves before the magic (PROTOCOL.md section 5): the header sized, the channel's name and its
  // lock word written; the word names a process that has exited, so the object is stale. created_ns is still 0.
  const deadPid = spawnSync('true').pid;
  const header = Buffer.alloc(1024);
  header.writeUInt32LE(name.length, 36);
  header.writeBigUInt64LE((BigInt(deadPid) << 32n) | 1n, 56);
  header.write(name, 64, 'latin1');
  writeFileSync(segmentPath(name), header, { mode: 0o600 });
  const info = await api.stat(name);
  assert.equal(info.state, 'stale');
  assert.equal(info.created, undefined);
  const listed = (await api.list()).find((c) => c.name === name);
  assert.ok(listed && !api.isUnusable(listed), 'listed as a stale channel');
  assert.equal(listed.created, undefined);
  await api.remove(name);
  await assert.rejects(api.stat(name), { code: 'NOT_FOUND' });
});

test('stat follows a channel through its states: connected, peer-gone, and stale once its server died', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('states');
  const server = await openTracked(name);
  const client = await openTracked(name);
  await server.connect({ timeoutMs: PEER_WAIT_MS });
  const connected = await api.stat(name);
  assert.equal(connected.state, 'connected');
  assert.equal(connected.clientPid, process.pid);
  assert.equal(connected.clientAlive, true);
  assert.equal(connected.connections, 1);
  await client.close();
  const left = await api.stat(name);
  assert.equal(left.state, 'peer-gone');
  assert.equal(left.clientPid, 0);
  assert.equal(left.clientAlive, false);
  await server.close();
  // A server that dies without closing: its pid stays in the segment, not alive. The child waits to be killed: a
  // handle does not hold the event loop, so it used to end by itself after 'serving' and its exit hook removed the
  // channel first whenever the kill came late (stat: NOT_FOUND, 1 of 463 under two CPU hogs; 12 of 25 at load 20).
  const peer = startNode(`await api.open(name); console.log('serving'); setInterval(() => {}, 1 << 30);`, { name });
  await within(PEER_WAIT_MS, peer.waitFor('serving'), 'the child server');
  peer.child.kill('SIGKILL');
  await within(PEER_WAIT_MS, peer.done, 'the killed child');
  const stale = await api.stat(name);
  assert.equal(stale.state, 'stale');
  assert.equal(stale.serverPid, peer.child.pid);
  assert.equal(stale.serverAlive, false);
});

test('a name that leads to no channel is explained: what was attempted, and the library\'s reason', { skip: !linux, timeout: scaled(60000) }, async () => {
  const name = uniqueName('dir');
  const path = segmentPath(name);
  mkdirSync(path);
  try {
    const reason = `${path} is a directory, not a sipc segment`;
    const attempts = {
      stat: [() => api.stat(name), `reading the state of channel '${name}' failed: `],
      remove: [() => api.remove(name), `removing channel '${name}' failed: `],
      open: [() => api.open(name), `open channel '${name}' failed: `],
      observe: [() => api.observe(name), `observe channel '${name}' failed: `],
    };
    for (const [what, [attempt, context]] of Object.entries(attempts)) {
      await assert.rejects(attempt(), (e) => e.code === 'NOT_A_CHANNEL' && e.message.startsWith(context) && e.message.endsWith(reason), what);
    }
    const listed = (await api.list()).find((entry) => entry.name === name);
    assert.ok(listed && api.isUnusable(listed), 'listed as unusable');
    assert.equal(listed.unusable.code, 'NOT_A_CHANNEL');
    assert.ok(listed.unusable.message.startsWith(`channel '${name}' cannot be used: `), listed.unusable.message);
    assert.ok(listed.unusable.message.endsWith(reason), listed.unusable.message);
  } finally {
    rmdirSync(path);
  }
});

test('a missing library is LIBRARY_NOT_FOUND naming where it was looked for', { timeout: scaled(60000) }, async () => {
  const missing = '/nonexistent/sipc-test/libsipc.so';
  const child = startNode(`
    try { await api.open('whatever'); } catch (e) { console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message })); }
  `, { env: { SIPC_LIBRARY: missing } });
  const result = await within(PEER_WAIT_MS, child.done, 'child');
  assert.equal(result.code, 0, result.stderr);
  const error = JSON.parse(result.stdout);
  assert.equal(error.code, 'LIBRARY_NOT_FOUND');
  assert.equal(error.name, 'SipcError');
  assert.ok(error.message.includes(missing), error.message);
});

test('library lookup prefers the bundle folder, then the repository build', () => {
  const saved = process.env.SIPC_LIBRARY;
  delete process.env.SIPC_LIBRARY;
  try {
    const [bundled, repo] = api.libraryCandidates();
    const target = `${process.platform}-${process.arch}`;
    const file = api.libraryFileName();
    const bundledSuffix = join('dist', 'native', target, file);
    const repoSuffix = join('helper', 'build', target, file);
    assert.ok(bundled.endsWith(bundledSuffix), `${bundled} should end with ${bundledSuffix}`);
    assert.ok(repo.endsWith(repoSuffix), `${repo} should end with ${repoSuffix}`);
    assert.equal(api.libraryFileName('linux'), 'libsipc.so');
    assert.equal(api.libraryFileName('win32'), 'sipc.dll');
    assert.equal(api.libraryFileName('darwin'), 'libsipc.dylib');
  } finally {
    if (saved !== undefined) process.env.SIPC_LIBRARY = saved;
  }
  assert.match(api.libraryVersion(), /^\d+\.\d+\.\d+$/);
});
