// lifecycle.ts's process-wide machinery, run in this process: its 'beforeExit' and 'exit' hooks (called directly:
// node:test takes Node's own events for the end of the run) and the shared timer that keeps a busy process alive.
// The child-process tests (exit-hook, exit-cleanup, lifecycle) show the same at a real exit, where Stryker cannot see
// which code ran. Calling the 'exit' hook closes every handle of the process, so this file has a process of its own.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, cleanup, keepAliveTimers, observeTracked, openTracked, PEER_WAIT_MS, startCli, uniqueName, waitForChannel, waitUntil, within,
} from './helpers.mjs';

afterEach(cleanup);

test("one pair of exit hooks per process; a busy handle keeps it alive; 'beforeExit' disarms, 'exit' closes every handle at once", async () => {
  // Taken inside the test (node:test has installed its own listeners by now) and before this process's first handle.
  const before = { exit: new Set(process.listeners('exit')), beforeExit: new Set(process.listeners('beforeExit')) };
  const added = (event) => process.listeners(event).filter((listener) => !before[event].has(listener));
  const name = uniqueName('hooks');
  const other = uniqueName('hooks-other');
  const server = await openTracked(name, { receiveSpinUs: 0 });
  const client = await openTracked(name, { receiveSpinUs: 0 });
  await Promise.all([server.connect({ timeoutMs: PEER_WAIT_MS }), client.connect({ timeoutMs: PEER_WAIT_MS })]);
  const observer = await observeTracked(name);
  const idleChannel = await openTracked(other);
  // A channel another process holds, with both its lossless observers in this process: 'exit' must stop and close them
  // (an observer left open keeps its lossless place while the channel lives on).
  const held = uniqueName('hooks-held');
  startCli(['echo', held]);
  await waitForChannel(held);
  const lossless = [await observeTracked(held, { lossless: true }), await observeTracked(held, { lossless: true })];
  await assert.rejects(api.observe(held, { lossless: true }), { code: 'BUSY' }, 'at most two lossless observers');
  assert.equal(added('exit').length, 1, "one 'exit' hook for all handles, not one per handle");
  assert.equal(added('beforeExit').length, 1, "one 'beforeExit' hook for all handles");
  const [exitHook] = added('exit');
  const [beforeExitHook] = added('beforeExit');

  // Idle handles keep nothing alive; pending work does, through one timer for all.
  const idle = keepAliveTimers();
  const first = server.receive();
  assert.equal(keepAliveTimers(), idle + 1, 'a pending receive() keeps the process alive');
  const second = client.receive();
  assert.equal(keepAliveTimers(), idle + 1, 'one shared timer, whatever the number of busy handles');
  await client.send('one');
  assert.equal((await within(PEER_WAIT_MS, first, 'the server\'s receive')).toString(), 'one');
  await waitUntil(() => server.info().toServer.queued === 0, 'the message was taken');
  assert.equal(keepAliveTimers(), idle + 1, "the client's receive is still pending");
  await server.send('two');
  assert.equal((await within(PEER_WAIT_MS, second, 'the client\'s receive')).toString(), 'two');
  await waitUntil(() => keepAliveTimers() === idle, 'no handle is busy any more');

  // 'beforeExit' disarms every handle: news that comes afterwards is not looked at until the handle is used again. The
  // client is the probe: arm(true) only answers that no notify call is in flight (arm(false) would do the hook's work).
  await waitUntil(() => client.arm(true) === 0, 'no notify call in flight');
  const disarmed = client.receive();
  let settled = false;
  disarmed.then(() => { settled = true; }, () => { settled = true; });
  beforeExitHook();
  await server.send('while disarmed');
  await waitUntil(() => client.info().toClient.queued === 0, "the client's native thread took the message");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, "no notification after 'beforeExit'");
  const rearmed = client.receive(); // any call re-arms, and looks at what came meanwhile
  assert.equal((await within(PEER_WAIT_MS, disarmed, 'the receive after re-arming')).toString(), 'while disarmed');
  await server.send('armed again');
  assert.equal((await within(PEER_WAIT_MS, rearmed, 'the next receive')).toString(), 'armed again');

  // 'exit' closes every handle on this thread, before Node tears down: pending calls end, the roles are released, and a
  // channel no other process holds is removed.
  // At a real exit it comes after 'beforeExit' found no notify call in flight (the loop turns until then); a handle with
  // one would be left to libsipc's own exit handler.
  const pending = server.receive();
  beforeExitHook();
  const handles = [server, client, observer, idleChannel, ...lossless];
  await waitUntil(() => handles.every((handle) => handle.arm(false) === 0), 'no notify call in flight');
  exitHook();
  for (const channel of [server, client, idleChannel]) assert.equal(channel.state, 'closed');
  await assert.rejects(pending, { code: 'CLOSED' });
  for (const closed of [observer, ...lossless]) assert.throws(() => closed.stats(), { code: 'CLOSED' });
  assert.equal(keepAliveTimers(), idle, 'closed handles keep nothing alive');
  // The hook stopped and closed the observers (each join bounded at 100 ms at exit): both lossless places are free.
  for (let i = 0; i < 2; i++) await observeTracked(held, { lossless: true });
  for (const closed of [name, other]) await assert.rejects(api.stat(closed), { code: 'NOT_FOUND' }, closed);
  // The process's real 'exit' runs the hook again: it finds nothing left to do.
  exitHook();
});
