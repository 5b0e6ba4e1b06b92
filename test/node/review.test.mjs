// Regression tests for bugs found in review of the Node API.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, openTracked, startCli, uniqueName, waitForChannel } from './helpers.mjs';

afterEach(cleanup);

test('a message listener that calls receive() loses none of the batch being delivered', { timeout: 20000 }, async () => {
  const name = uniqueName('reentrant');
  startCli(['echo', name]);
  await waitForChannel(name);
  const channel = await openTracked(name);
  await channel.connect({ timeoutMs: 5000 });
  const sent = ['a', 'b', 'c', 'd'];
  for (const text of sent) await channel.send(text);
  // Let every echo be queued, so that the native thread hands them over as one batch.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const heard = [];
  let received;
  channel.on('message', (data) => {
    heard.push(data.toString());
    if (!received) received = channel.receive({ timeoutMs: 3000 }).then((m) => m.toString());
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const got = [...heard, await received].sort();
  assert.deepEqual(got, sent, `listener heard ${JSON.stringify(heard)}`);
});
