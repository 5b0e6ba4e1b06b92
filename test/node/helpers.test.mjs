// The test helpers' own promises: a test that waits for a child's marker must see it however early it was printed.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, PEER_WAIT_MS, startNode, within } from './helpers.mjs';

afterEach(cleanup);

test('waitFor finds a marker the child printed before the test asked, and then the next one after it', async () => {
  const child = startNode(`console.log('ready one'); console.log('ready two'); console.log('done');`);
  const result = await within(PEER_WAIT_MS, child.done, 'the child');
  assert.equal(result.code, 0, result.stderr);
  // Everything was printed before the first waitFor: each call takes the next occurrence, in order.
  assert.equal(await child.waitFor('ready'), 'ready one\n');
  assert.equal(await child.waitFor('ready'), 'ready two\n');
  assert.equal(await child.waitFor('done'), 'done\n');
});

test('waitFor rejects with the child\'s stderr when the child ends without the marker', async () => {
  const child = startNode(`console.log('something else'); console.error('why'); process.exit(3);`);
  await assert.rejects(child.waitFor('never printed'), /child ended \(code 3, signal null\) before 'never printed'; stderr: why/);
});
