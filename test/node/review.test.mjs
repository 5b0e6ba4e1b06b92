// Regression tests for bugs found in review of the Node API.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { api, cleanup, openTracked, PEER_WAIT_MS, scaled, startCli, uniqueName, waitForChannel, waitUntil } from './helpers.mjs';

afterEach(cleanup);

test('a message listener that calls receive() loses none of the batch being delivered', { timeout: scaled(60000) }, async () => {
  const name = uniqueName('reentrant');
  startCli(['echo', name]);
  await waitForChannel(name);
  const channel = await openTracked(name);
  await channel.connect({ timeoutMs: PEER_WAIT_MS });
  const sent = ['a', 'b', 'c', 'd'];
  for (const text of sent) await channel.send(text);
  // Every echo queued in the channel before anyone listens, so that the native thread hands them over as one batch.
  await waitUntil(async () => (await api.stat(name)).toClient.queued === sent.length, 'all four echoes are queued');
  const heard = [];
  let received;
  channel.on('message', (data) => {
    heard.push(data.toString());
    if (!received) received = channel.receive({ timeoutMs: scaled(3000) }).then((m) => m.toString());
  });
  const fromReceive = await (await waitUntil(() => received, 'the listener hears the first message'));
  await waitUntil(() => heard.length >= sent.length - 1, `the listener hears the other three (heard ${JSON.stringify(heard)})`, 5000);
  const got = [...heard, fromReceive].sort();
  assert.deepEqual(got, sent, `listener heard ${JSON.stringify(heard)}`);
});
