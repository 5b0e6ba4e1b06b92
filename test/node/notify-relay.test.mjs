// How notifications reach the main thread (issue #10, "the extension host never blocks"). With SIPC_NODE_NOTIFY=relay
// (POSIX) the native threads queue them in a libsipc relay whose pipe the event loop reads (lifecycle.ts, sipc_async.h
// "relays"), so the main thread never runs koffi's relay of a registered callback (an N-API thread-safe function,
// whose lock it would share with the notifying thread, which in turn would wait for the main thread). Shown from
// outside: a child process counts koffi.register calls (the only way a native thread can call into JavaScript) and
// the calls of what was registered, while it uses every kind of handle that notifies: channels both ways, an
// observer, one-shot calls (open, stat, list, close) and a channel watch. By default (and on Windows) the same
// program registers one callback and it runs: the count can tell the two apart.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { API_PATH, PEER_WAIT_MS, cleanup, startNode, uniqueName, within } from './helpers.mjs';

afterEach(cleanup);

const MESSAGES = 300;

/** The child's body: wraps koffi.register before the API's first handle, then runs traffic and prints the counts. */
function program() {
  return `
    const koffi = require('node:module').createRequire(${JSON.stringify(API_PATH)})('koffi'); // the API's own koffi
    const counts = { registered: 0, callbackRuns: 0 };
    const register = koffi.register;
    koffi.register = (callback, type) => {
      counts.registered++;
      return register((...args) => { counts.callbackRuns++; return callback(...args); }, type);
    };
    let changes = 0;
    const watch = api.watchChannels(() => { changes++; }, { intervalMs: 50 });
    const server = await api.open(name, { receiveSpinUs: 0 });
    const client = await api.open(name, { receiveSpinUs: 0 });
    await Promise.all([server.connect(), client.connect()]);
    // Lossless: a plain observer may miss messages when the machine is busy (by design), and this test counts them all.
    const observer = await api.observe(name, { lossless: true });
    let observed = 0;
    observer.on('message', () => { observed++; });
    for (let i = 0; i < ${MESSAGES}; i++) {
      const [, toServer] = await Promise.all([client.send('c' + i), server.receive()]);
      if (toServer.toString() !== 'c' + i) throw new Error('server got ' + toServer + ' for c' + i);
      const [, toClient] = await Promise.all([server.send('s' + i), client.receive()]);
      if (toClient.toString() !== 's' + i) throw new Error('client got ' + toClient + ' for s' + i);
    }
    const listed = (await api.list()).some((entry) => entry.name === name);
    const stat = await api.stat(name);
    const deadline = Date.now() + ${PEER_WAIT_MS};
    while ((observed < ${2 * MESSAGES} || changes === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([client.close(), server.close(), observer.close()]);
    watch.dispose();
    console.log('result ' + JSON.stringify({ ...counts, listed, connections: stat.connections, observed, changes }));
  `;
}

async function run(label, env) {
  const name = uniqueName(label);
  const child = startNode(program(), { name, env });
  const result = await within(4 * PEER_WAIT_MS, child.done, `the ${label} program`);
  assert.equal(result.code, 0, result.stderr);
  const line = result.stdout.split('\n').find((text) => text.startsWith('result '));
  assert.ok(line, `no result line in: ${result.stdout}`);
  const outcome = JSON.parse(line.slice('result '.length));
  // Everything arrived either way: the traffic, the observer's copy of it, the calls' outcomes, the watch's news.
  assert.equal(outcome.listed, true);
  assert.ok(outcome.connections >= 1, JSON.stringify(outcome));
  assert.equal(outcome.observed, 2 * MESSAGES, JSON.stringify(outcome));
  assert.ok(outcome.changes >= 1, JSON.stringify(outcome));
  return outcome;
}

test('POSIX, SIPC_NODE_NOTIFY=relay: notifications come through the relay, never through a koffi callback (no thread-safe function on the main thread)', { skip: process.platform === 'win32', timeout: 8 * PEER_WAIT_MS }, async () => {
  const outcome = await run('relay', { SIPC_NODE_NOTIFY: 'relay' });
  assert.equal(outcome.registered, 0, `koffi.register was called: ${JSON.stringify(outcome)}`);
  assert.equal(outcome.callbackRuns, 0);
});

test('by default (and on Windows): one registered koffi callback carries every notification', { timeout: 8 * PEER_WAIT_MS }, async () => {
  const outcome = await run('callback', { SIPC_NODE_NOTIFY: '' });
  assert.equal(outcome.registered, 1, JSON.stringify(outcome));
  assert.ok(outcome.callbackRuns > 0, JSON.stringify(outcome));
});
