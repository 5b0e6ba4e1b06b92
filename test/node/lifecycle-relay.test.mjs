// lifecycle.ts's registry with libsipc's relay (SIPC_NODE_NOTIFY=relay), run in this process so that mutation testing
// sees it (notify-relay.test.mjs shows the relay from outside, in child processes): the API is bundled from source with
// its own lifecycle.ts exposed (wrapped-bindings.mjs, `internals`), so the test registers stand-in handles next to real
// channels and can make sipc_async_relay_take answer as it does when the relay's 1,024-token queue overflowed.
// What is checked: a take that reports an overflow makes the API poll every live handle (the dropped tokens' handles
// included: else a receive never settles), and only then; the token ids wrap from 2^24 - 1 back to 1, skipping ids
// still in use, and never reach the relay's number bits; the shared keep-alive timer follows the busy handles exactly.
// Linux only, like channel-spin.test.mjs: esbuild has no binary for the emulated platforms.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { headerAbi } from '../../extension/scripts/generate-abi.mjs';

process.env.SIPC_NODE_NOTIFY = 'relay';
const { cleanup, keepAliveTimers, PEER_WAIT_MS, uniqueName, waitUntil, within } = await import('./helpers.mjs');

// A relay token is the relay's number in the top bits and an id of the caller's in the low SIPC_ASYNC_RELAY_ID_BITS (24).
const { SIPC_ASYNC_RELAY_ID_BITS } = Object.fromEntries(headerAbi().constants);
const ID_LIMIT = 2 ** SIPC_ASYNC_RELAY_ID_BITS;

const countable = process.platform === 'linux' && !process.env.SIPC_TEST_EMULATOR;
const skip = countable ? false : 'the bundle from source needs esbuild on Linux';
const { api, faults } = countable
  ? await (await import('./wrapped-bindings.mjs')).apiWithFaults({ internals: true })
  : { api: undefined, faults: undefined };
const lifecycle = api?.lifecycle;

const opened = new Set();
const registered = new Set();

afterEach(async () => {
  faults?.clear();
  await Promise.all([...opened].map((channel) => channel.close().catch(() => undefined)));
  opened.clear();
  for (const token of registered) lifecycle.unregisterClient(token);
  registered.clear();
  await cleanup();
});

/** A stand-in handle in the bundle's registry that counts its notifications. */
function standIn() {
  const client = { notified: 0, onNotify() { this.notified++; }, arm: () => 0, shutdownForExit() {} };
  const { token } = lifecycle.registerClient(client);
  registered.add(token);
  return { client, token };
}

function release(token) {
  lifecycle.unregisterClient(token);
  registered.delete(token);
}

const idOf = (token) => token % ID_LIMIT;
const relayOf = (token) => Math.floor(token / ID_LIMIT);

async function connectedPair(label) {
  const name = uniqueName(label);
  const server = await api.open(name, { receiveSpinUs: 0 });
  opened.add(server);
  const client = await api.open(name, { receiveSpinUs: 0 });
  opened.add(client);
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  return { server, client };
}

test('a relay take that reports an overflow polls every live handle; an ordinary one only the handles it names', { skip }, async () => {
  const { server, client } = await connectedPair('relay-overflow');
  const others = [standIn(), standIn(), standIn()];
  const gone = standIn();
  release(gone.token);

  // An ordinary read: the server's token comes out of the relay and only the server is polled, and with it the first
  // stand-in, whose token the first take adds (as if its native thread had notified), and not the unregistered one,
  // whose token comes too (a closed handle's late notification: nothing to poll, and no error).
  let takes = 0;
  faults.set('sipc_async_relay_take', (real, relay, tokens, maxCount, count, overflowed) => {
    const rc = real(relay, tokens, maxCount, count, overflowed);
    if (takes++ === 0) {
      tokens[count[0]++] = others[0].token;
      tokens[count[0]++] = gone.token;
    }
    return rc;
  });
  const first = server.receive();
  await client.send('named');
  assert.equal((await within(PEER_WAIT_MS, first, 'the receive of a named token')).toString(), 'named');
  assert.ok(takes > 0, 'the notification came through the relay');
  assert.deepEqual(others.map(({ client: other }) => other.notified), [1, 0, 0], 'only the handles whose tokens were taken are polled');
  const again = server.receive();
  await client.send('named again');
  assert.equal((await within(PEER_WAIT_MS, again, 'the next receive')).toString(), 'named again');
  assert.ok(takes > 1, 'another take');
  assert.deepEqual(others.map(({ client: other }) => other.notified), [1, 0, 0], 'a token taken once is polled once');

  // The queue overflowed: the take reports it, and the server's token is among those the relay dropped. Every live
  // handle must be polled, or the server's receive never settles.
  const hidden = [];
  faults.set('sipc_async_relay_take', (real, relay, tokens, maxCount, count, overflowed) => {
    const rc = real(relay, tokens, maxCount, count, overflowed);
    hidden.push(...tokens.subarray(0, count[0]));
    count[0] = 0;
    overflowed[0] = 1;
    return rc;
  });
  const second = server.receive();
  await client.send('dropped');
  assert.equal((await within(PEER_WAIT_MS, second, 'the receive whose token the overflow dropped')).toString(), 'dropped');
  assert.ok(hidden.length > 0, 'the take had tokens to drop');
  for (const { client: other } of others) assert.ok(other.notified >= 1, 'every live handle is polled after an overflow');
  assert.equal(gone.client.notified, 0, 'an unregistered handle is not polled');
});

test('token ids wrap from 2^24 - 1 back to 1, skip the ids still in use, and keep the relay number', { skip }, async () => {
  // A real channel's token fixes the relay number every token of this bundle must carry.
  const { server, client } = await connectedPair('relay-ids');
  const relays = new Set();
  faults.set('sipc_async_relay_take', (real, relay, tokens, maxCount, count, overflowed) => {
    const rc = real(relay, tokens, maxCount, count, overflowed);
    for (const token of tokens.subarray(0, count[0])) relays.add(relayOf(token));
    return rc;
  });
  const received = client.receive();
  await server.send('a message for the token');
  await within(PEER_WAIT_MS, received, 'the receive');
  await waitUntil(() => relays.size > 0, 'a token came out of the relay');
  assert.equal(relays.size, 1, 'one relay per bundle');
  const [relay] = relays;
  assert.ok(relay >= 1 && relay < 256, `relay number ${relay}`);
  await Promise.all([server.close(), client.close()]);
  opened.clear();

  lifecycle.setNextIdForTests(1);
  const one = standIn();
  const two = standIn();
  assert.deepEqual([idOf(one.token), idOf(two.token)], [1, 2], 'ids count up from the one set');

  lifecycle.setNextIdForTests(ID_LIMIT - 2);
  const last = [standIn(), standIn()];
  assert.deepEqual(last.map(({ token }) => idOf(token)), [ID_LIMIT - 2, ID_LIMIT - 1], 'ids reach 2^24 - 1');
  const wrapped = standIn();
  assert.equal(idOf(wrapped.token), 3, 'after 2^24 - 1 the ids start over at 1, skipping 1 and 2 (in use)');
  assert.equal(idOf(standIn().token), 4, 'and go on from there');

  // The id tried first is in use and the last one: the skip itself wraps, to 1 (free again).
  release(one.token);
  lifecycle.setNextIdForTests(ID_LIMIT - 1);
  const skipped = standIn();
  assert.equal(idOf(skipped.token), 1, 'the skip over a live 2^24 - 1 wraps to 1');
  assert.equal(idOf(standIn().token), 5, 'then skips 2, 3 and 4, in use');

  const tokens = [...registered];
  assert.equal(new Set(tokens).size, tokens.length, 'no two live handles share a token');
  for (const token of tokens) {
    assert.equal(relayOf(token), relay, `token ${token.toString(16)} carries the relay's number`);
    assert.ok(idOf(token) >= 1, `token ${token.toString(16)} has an id`);
  }
});

test('one keep-alive timer while any handle is busy, none once the last is idle or unregistered', { skip }, () => {
  const [a, b] = [standIn(), standIn()];
  const idle = keepAliveTimers();
  lifecycle.setBusy(a.token, true);
  assert.equal(keepAliveTimers(), idle + 1, 'a busy handle keeps the process alive');
  lifecycle.setBusy(b.token, true);
  assert.equal(keepAliveTimers(), idle + 1, 'one timer for every busy handle');
  lifecycle.setBusy(a.token, false);
  assert.equal(keepAliveTimers(), idle + 1, 'still one busy handle');
  lifecycle.setBusy(a.token, false);
  assert.equal(keepAliveTimers(), idle + 1, 'idle twice is still idle: the other handle is busy');
  lifecycle.setBusy(b.token, false);
  assert.equal(keepAliveTimers(), idle, 'no busy handle, no timer');
  lifecycle.setBusy(b.token, false);
  assert.equal(keepAliveTimers(), idle, 'and none comes back');
  lifecycle.setBusy(a.token, true);
  lifecycle.setBusy(a.token, true);
  assert.equal(keepAliveTimers(), idle + 1, 'busy again');
  release(a.token);
  assert.equal(keepAliveTimers(), idle, 'an unregistered handle is idle');
  lifecycle.setBusy(b.token, true);
  assert.equal(keepAliveTimers(), idle + 1, 'and the timer comes back for the next busy one');
  lifecycle.setBusy(b.token, false);
  assert.equal(keepAliveTimers(), idle);
});
