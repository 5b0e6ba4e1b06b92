'use strict';
// The Node API on Windows: run by the official Windows node.exe under wine (test/wine/run.sh), with the
// API bundle (api.js) beside a node_modules holding koffi and @koromix/koffi-win32-x64, and sipc.dll in
// native/win32-x64/. The peer is a second Windows node process running this file with "--child".
// Under wine node's stdio must not be a pipe: children get stdio 'ignore' and talk over the channel.
const { spawn } = require('node:child_process');
const path = require('node:path');

const api = require(path.join(__dirname, 'api.js'));

const role = process.argv[2];
if (role === '--child') {
  runChild(process.argv[3], process.argv[4]).then(
    () => process.exit(0),
    () => process.exit(1),
  );
} else {
  defineTests();
}

/** Peer process: "echo" sends every message back until the server closes; "hold" says ready and waits. */
async function runChild(scenario, name) {
  const channel = await api.open(name);
  await channel.connect({ timeoutMs: 20000 });
  if (scenario === 'hold') {
    await channel.send('ready');
    setInterval(() => {}, 1 << 30); // stay alive until killed
    return new Promise(() => {});
  }
  for (;;) {
    let message;
    try {
      message = await channel.receive({ timeoutMs: 20000 });
    } catch (error) {
      if (error.code === 'PEER_GONE') break;
      throw error;
    }
    await channel.send(message);
  }
  await channel.close();
}

function defineTests() {
  const { test } = require('node:test');
  const assert = require('node:assert/strict');
  let counter = 0;
  const uniqueName = (what) => `wn-${process.pid}-${what}-${counter++}`;

  function startPeer(scenario, name) {
    const child = spawn(process.execPath, [__filename, '--child', scenario, name], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited };
  }

  test('loads sipc.dll of the bundle folder through koffi win32-x64', () => {
    assert.equal(api.platformTarget(), 'win32-x64');
    assert.equal(api.libraryFileName(), 'sipc.dll');
    assert.equal(path.resolve(api.libraryPath()), path.join(__dirname, 'native', 'win32-x64', 'sipc.dll'));
    assert.match(api.libraryVersion(), /^\d+\.\d+\.\d+$/);
  });

  test('two Windows node processes exchange messages in order', async () => {
    const name = uniqueName('echo');
    const server = await api.open(name);
    assert.equal(server.role, 'server');
    const peer = startPeer('echo', name);
    await server.connect({ timeoutMs: 20000 });
    const count = 200;
    for (let i = 0; i < count; i++) {
      const sent = Buffer.alloc(i * 37 % 4000, i & 0xff);
      sent.write(`#${i}`);
      await server.send(sent, { timeoutMs: 10000 });
      const back = await server.receive({ timeoutMs: 10000 });
      assert.ok(back.equals(sent), `message ${i} came back intact`);
    }
    await server.close();
    assert.deepEqual(await peer.exited, { code: 0, signal: null });
  });

  test('receive times out with TIMEOUT', async () => {
    const name = uniqueName('timeout');
    const server = await api.open(name);
    const peer = startPeer('hold', name);
    await server.connect({ timeoutMs: 20000 });
    assert.equal((await server.receive({ timeoutMs: 10000 })).toString(), 'ready');
    const started = Date.now();
    await assert.rejects(server.receive({ timeoutMs: 200 }), (error) => error.code === 'TIMEOUT');
    assert.ok(Date.now() - started >= 190);
    peer.child.kill();
    await peer.exited;
    await server.close();
  });

  test('a killed peer ends a pending receive with PEER_GONE', async () => {
    const name = uniqueName('killed');
    const server = await api.open(name);
    const peer = startPeer('hold', name);
    await server.connect({ timeoutMs: 20000 });
    assert.equal((await server.receive({ timeoutMs: 10000 })).toString(), 'ready');
    // The receive's own timeout is the only bound: a death never noticed ends it with TIMEOUT, not PEER_GONE (how
    // soon it is noticed is the benchmark's business, not a wall-clock threshold here).
    const pending = server.receive({ timeoutMs: 30000 });
    peer.child.kill(); // TerminateProcess
    await assert.rejects(pending, (error) => error.code === 'PEER_GONE');
    await peer.exited;
    assert.equal((await api.stat(name)).state, 'peer-gone');
    await server.close();
  });

  test('an observer sees both directions; stat, list and remove work by name', async () => {
    const name = uniqueName('observed');
    const server = await api.open(name);
    const observer = await api.observe(name);
    const seen = [];
    observer.on('message', (message) => seen.push(`${message.direction}:${message.data.toString()}`));
    const peer = startPeer('echo', name);
    await server.connect({ timeoutMs: 20000 });
    await server.send('hello', { timeoutMs: 10000 });
    assert.equal((await server.receive({ timeoutMs: 10000 })).toString(), 'hello');
    const until = Date.now() + 10000;
    while (seen.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(seen, ['to-client:hello', 'to-server:hello']);
    const info = await api.stat(name);
    assert.equal(info.state, 'connected');
    assert.equal(info.serverPid, process.pid);
    assert.equal(info.clientPid, peer.child.pid);
    assert.ok((await api.list()).some((listed) => listed.name === name));
    await assert.rejects(api.remove(name), (error) => error.code === 'BUSY');
    await observer.close();
    await server.close();
    assert.deepEqual(await peer.exited, { code: 0, signal: null });
    await assert.rejects(api.stat(name), (error) => error.code === 'NOT_FOUND');
  });
}
