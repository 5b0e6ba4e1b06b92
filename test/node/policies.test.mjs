// The Node API's pure policies, without a channel: the hot-path spin policy (spinPolicy.ts) and the delivery
// order (delivery.ts). Bundled from the sources here, with a clock the test moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function load(source) {
  const bundle = await esbuild.build({
    entryPoints: [join(repo, source)], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent',
  });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', bundle.outputFiles[0].text)(module, module.exports, () => ({}));
  return module.exports;
}

const { SpinPolicy, spinSetting } = await load('extension/src/api/spinPolicy.ts');
const { OrderedDelivery, ownedBytes } = await load('extension/src/api/delivery.ts');

test('SIPC_SPIN_US: 0 to 1000 µs, anything else is the default 100', () => {
  assert.equal(spinSetting('0'), 0);
  assert.equal(spinSetting('1000'), 1000);
  assert.equal(spinSetting('250'), 250);
  for (const bad of ['1001', '-1', '1.5', 'x']) assert.equal(spinSetting(bad), 100, bad);
  assert.equal(spinSetting(undefined), 100);
});

test('spin policy: hot for 2 ms after a message, backs off 10, 20, 40 ms after two quiet windows in a row', () => {
  let now = 1000;
  const policy = new SpinPolicy(100, () => now);
  assert.equal(policy.isHot(), false, 'cold before any message');
  policy.messageArrived();
  assert.equal(policy.isHot(), true);
  now += 1;
  policy.spun(0); // inside the window: a miss that proves nothing
  assert.equal(policy.isHot(), true);
  now += 2;
  assert.equal(policy.isHot(), false, 'the window ran out');
  policy.spun(0); // first quiet window
  policy.messageArrived();
  assert.equal(policy.isHot(), true, 'one quiet window does not back off');
  now += 3;
  policy.spun(0); // second quiet window in a row: back off 10 ms
  policy.messageArrived();
  assert.equal(policy.isHot(), false, 'backing off');
  now += 10;
  policy.messageArrived();
  assert.equal(policy.isHot(), true, 'back-off over');
  now += 3;
  policy.spun(0);
  policy.messageArrived();
  now += 3;
  policy.spun(0); // two more: 20 ms now
  policy.messageArrived();
  now += 19;
  policy.messageArrived();
  assert.equal(policy.isHot(), false, 'the back-off doubled');
  now += 1;
  policy.messageArrived();
  assert.equal(policy.isHot(), true);
  policy.spun(1); // a caught message starts over
  now += 3;
  policy.spun(0);
  policy.messageArrived();
  assert.equal(policy.isHot(), true, 'one quiet window after a catch does not back off');
  assert.equal(new SpinPolicy(0, () => now).isHot(), false, 'spinning off');
});

function harness() {
  const heard = [];
  let listening = false;
  const delivery = new OrderedDelivery({
    hasListeners: () => listening,
    emit: (m) => heard.push(m.toString()),
    stopped: () => false,
    changed: () => undefined,
  });
  const receive = () => new Promise((resolve, reject) => delivery.addWaiter({ resolve: (m) => resolve(m.toString()), reject, cleanup() {} }));
  return { delivery, heard, receive, listen: (on) => { listening = on; } };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

test('delivery: without consumers messages wait in order; receive() takes the oldest', () => {
  const { delivery } = harness();
  for (const m of ['a', 'b', 'c']) delivery.push(Buffer.from(m));
  assert.equal(delivery.take().toString(), 'a');
  assert.equal(delivery.take().toString(), 'b');
  assert.equal(delivery.backlog.length, 1);
});

test('delivery: after a receive() is settled, listeners get the next messages only once its reactions ran', async () => {
  const { delivery, heard, receive, listen } = harness();
  const seen = [];
  listen(true);
  const first = receive().then((m) => { seen.push(`receive ${m}`); return Promise.resolve(); }).then(() => seen.push('after'));
  delivery.push(Buffer.from('m0'));
  delivery.push(Buffer.from('m1'));
  delivery.push(Buffer.from('m2'));
  assert.deepEqual(heard, [], 'held back while the receive() is being settled');
  await first;
  await turn();
  assert.deepEqual(seen, ['receive m0', 'after']);
  assert.deepEqual(heard, ['m1', 'm2']);
});

test('delivery: a new turn with news ends the hand-off at once; the end of receiving waits for the backlog', async () => {
  const { delivery, receive } = harness();
  const first = receive();
  delivery.push(Buffer.from('x'));
  assert.equal(await first, 'x');
  delivery.newTurn();
  const second = receive();
  delivery.push(Buffer.from('y'));
  assert.equal(await second, 'y', 'settled in the turn it arrived');
  delivery.push(Buffer.from('z')); // held: 'y' was just handed off
  const third = receive();
  const fourth = receive();
  const gone = new Error('gone');
  delivery.end(gone);
  assert.equal(await third, 'z');
  await assert.rejects(fourth, gone);
});

test('ownedBytes: a buffer of its own is kept as is; a view or a pooled Buffer becomes a copy of exactly its bytes', () => {
  const own = new Uint8Array([4, 5]);
  assert.equal(ownedBytes(own), own);
  const batch = new Uint8Array(1 << 20);
  batch.set([1, 2, 3], 100);
  const fromView = ownedBytes(batch.subarray(100, 103));
  assert.deepEqual([...fromView], [1, 2, 3]);
  assert.equal(fromView.byteOffset, 0);
  assert.equal(fromView.buffer.byteLength, 3, 'its own 3-byte buffer, not the 1 MiB batch');
  batch[100] = 9;
  assert.equal(fromView[0], 1, 'not sharing memory with the view');
  const pooled = Buffer.from('pooled');
  assert.notEqual(pooled.buffer.byteLength, pooled.byteLength, 'a small Buffer.from lives in Node\'s pool');
  const fromPool = ownedBytes(pooled);
  assert.equal(fromPool.buffer.byteLength, 6);
  assert.equal(Buffer.from(fromPool).toString(), 'pooled');
  const head = ownedBytes(batch.subarray(0, 2));
  assert.equal(head.buffer.byteLength, 2, 'a view at the start of a larger buffer is copied too');
});

test('spin policy: the window and the back-off include their last millisecond; cold after coolDownMs', () => {
  let now = 1000;
  const policy = new SpinPolicy(100, () => now);
  policy.messageArrived();
  now += 2;
  assert.equal(policy.isHot(), true, 'hot through the 2nd millisecond');
  policy.spun(0); // at the window's last instant: not yet a quiet window
  policy.messageArrived();
  now += 3;
  policy.spun(0); // the first quiet window; had the one before counted, this would back off
  policy.messageArrived();
  assert.equal(policy.isHot(), true, 'one quiet window does not back off');
  const fresh = new SpinPolicy(100, () => now);
  fresh.messageArrived();
  now += fresh.coolDownMs;
  assert.equal(fresh.isHot(), false, 'after coolDownMs without a message the native thread takes over');
  const off = new SpinPolicy(0, () => now);
  off.messageArrived();
  assert.equal(off.isHot(), false, 'SIPC_SPIN_US=0 never spins, even right after a message');
});

test('spin policy: a caught message forgets the quiet windows before it and resets the back-off to 10 ms', () => {
  let now = 1000;
  const policy = new SpinPolicy(100, () => now);
  const quietWindow = () => {
    policy.messageArrived();
    now += 3;
    policy.spun(0);
  };
  quietWindow();
  policy.messageArrived();
  policy.spun(1); // caught: the quiet window before no longer counts
  now += 3;
  policy.spun(0);
  policy.messageArrived();
  assert.equal(policy.isHot(), true, 'only one quiet window since the catch');
  quietWindow();
  quietWindow(); // back off 10 ms
  now += 10;
  quietWindow();
  quietWindow(); // back off 20 ms
  now += 20;
  policy.messageArrived();
  policy.spun(1); // a catch: the next back-off is 10 ms again
  quietWindow();
  quietWindow();
  now += 10;
  policy.messageArrived();
  assert.equal(policy.isHot(), true, 'the back-off started over at 10 ms');
});

/** An OrderedDelivery whose consumers the test controls: listeners on or off, a channel that can stop. */
function deliveryHarness() {
  const heard = [];
  const state = { listening: false, stopped: false, changes: 0, onEmit: () => undefined };
  const delivery = new OrderedDelivery({
    hasListeners: () => state.listening,
    emit: (m) => { heard.push(m.toString()); state.onEmit(m.toString()); },
    stopped: () => state.stopped,
    changed: () => { state.changes++; },
  });
  const waiter = () => {
    let settle;
    const promise = new Promise((resolve, reject) => { settle = { resolve: (m) => resolve(m.toString()), reject }; });
    const w = { resolve: (m) => settle.resolve(m), reject: (e) => settle.reject(e), cleanup() { w.cleaned = true; }, cleaned: false };
    return { w, promise };
  };
  const receive = () => {
    const { w, promise } = waiter();
    delivery.addWaiter(w);
    return promise;
  };
  return { delivery, heard, state, waiter, receive, push: (...ms) => ms.forEach((m) => delivery.push(Buffer.from(m))) };
}

test('delivery: with nothing being handed off, a listener hears a message in the turn it arrives', () => {
  const { delivery, heard, state, push } = deliveryHarness();
  state.listening = true;
  push('a', 'b');
  assert.deepEqual(heard, ['a', 'b']);
  assert.equal(delivery.backlog.length, 0);
});

test('delivery: a message arriving behind a backlog queues behind it, even with a listener ready', () => {
  const { delivery, heard, state, push } = deliveryHarness();
  push('a');
  state.listening = true; // a listener appears; it is offered the backlog below
  push('b');
  assert.deepEqual(heard, [], 'b does not overtake a');
  delivery.offer();
  assert.deepEqual(heard, ['a', 'b'], 'offered in channel order, at once (no receive() being settled)');
  delivery.offer();
  assert.deepEqual(heard, ['a', 'b'], 'an empty backlog offers nothing');
});

test('delivery: a message taken from the backlog by receive() holds the rest back until a later turn', async () => {
  const { delivery, heard, state, push } = deliveryHarness();
  assert.equal(delivery.take(), undefined, 'nothing to take');
  state.listening = true;
  push('first');
  assert.deepEqual(heard, ['first'], 'taking nothing handed nothing off');
  state.listening = false;
  push('a', 'b', 'c');
  state.listening = true;
  assert.equal(delivery.take().toString(), 'a');
  delivery.offer(); // during the hand-off: only from a later turn
  assert.deepEqual(heard, ['first']);
  await turn();
  assert.deepEqual(heard, ['first', 'b', 'c']);
});

test('delivery: handedOff() (a receive() settled straight from the channel) holds new messages back a turn', async () => {
  const { delivery, heard, state, push } = deliveryHarness();
  state.listening = true;
  delivery.handedOff();
  push('x');
  assert.deepEqual(heard, [], 'the awaiting code runs first');
  await turn();
  assert.deepEqual(heard, ['x']);
  state.listening = false;
  push('y'); // waits alone: nothing is scheduled for it
  state.listening = true;
  delivery.handedOff(); // with a backlog: it is delivered on a later turn without any other news
  assert.deepEqual(heard, ['x']);
  await turn();
  assert.deepEqual(heard, ['x', 'y']);
});

test('delivery: newTurn() ends a hand-off and delivers the backlog at once', async () => {
  const { delivery, heard, state, push, receive } = deliveryHarness();
  state.listening = true;
  const first = receive();
  push('m0', 'm1');
  assert.deepEqual(heard, []);
  delivery.newTurn();
  assert.deepEqual(heard, ['m1'], 'synchronously, within the new turn');
  assert.equal(await first, 'm0');
  delivery.newTurn();
  assert.deepEqual(heard, ['m1'], 'nothing left to deliver');
});

test('delivery: hand-offs one after another each wait for the awaiting code, and messages nobody takes stay', async () => {
  const { delivery, heard, state, push, receive } = deliveryHarness();
  const log = [];
  state.listening = true;
  state.onEmit = (m) => log.push(`listener ${m}`);
  const first = receive().then((m) => log.push(`receive ${m}`));
  const second = receive().then((m) => log.push(`receive ${m}`));
  push('a', 'b', 'c');
  await Promise.all([first, second]);
  await turn();
  await turn();
  assert.deepEqual(log, ['receive a', 'receive b', 'listener c'], 'c reaches the listener only after b\'s receive() ran');
  state.listening = false;
  const third = receive();
  const fourth = receive();
  push('d', 'e'); // d settles the third at once; e waits for a later turn
  assert.equal(await third, 'd');
  await turn();
  assert.equal(await fourth, 'e');
  const pending = receive();
  const later = receive();
  const last = receive();
  let rejected = false;
  last.catch(() => { rejected = true; });
  push('f', 'g'); // f settles the first at once, g the second a turn later: the backlog runs dry, one still waits
  assert.equal(await pending, 'f');
  assert.equal(await later, 'g');
  await turn();
  assert.equal(rejected, false, 'a receive() still waiting is not rejected when the backlog runs dry');
  push('h');
  assert.equal(await last, 'h');
  await turn();
  push('i'); // no consumer at all: kept
  delivery.newTurn();
  await turn();
  assert.deepEqual(heard, ['c']);
  assert.equal(delivery.take().toString(), 'i', 'a message nobody took waits in the backlog');
});

test('delivery: a receive() that gave up leaves the queue; the next message goes to the one behind it', async () => {
  const { delivery, waiter, push } = deliveryHarness();
  const gaveUp = waiter();
  const patient = waiter();
  delivery.addWaiter(gaveUp.w);
  delivery.addWaiter(patient.w);
  assert.equal(delivery.removeWaiter(gaveUp.w), true);
  assert.equal(delivery.removeWaiter(gaveUp.w), false, 'already gone');
  push('m');
  assert.equal(await patient.promise, 'm');
  assert.equal(patient.w.cleaned, true, 'a settled receive() cleans up (its timer)');
  assert.equal(delivery.removeWaiter(patient.w), false, 'settled already');
  assert.equal(delivery.waiters.length, 0);
});

test('delivery: end() rejects waiting receives at once when nothing is left; resume() and close()', async () => {
  const { delivery, receive, push } = deliveryHarness();
  const gone = new Error('peer gone');
  const waiting = receive();
  delivery.end(gone);
  await assert.rejects(waiting, gone);
  assert.equal(delivery.ended, gone);
  delivery.resume(); // the peer reconnected
  assert.equal(delivery.ended, undefined);
  const next = receive();
  push('again');
  assert.equal(await next, 'again');
  const handedOff = receive();
  push('y', 'z1', 'z2'); // y settles at once; z1 and z2 wait for later turns
  const [a, b, c] = [receive(), receive(), receive()];
  delivery.end(gone);
  assert.equal(await handedOff, 'y');
  assert.equal(await a, 'z1');
  assert.equal(await b, 'z2', 'every message received before the end is delivered first');
  await assert.rejects(c, gone);
  delivery.resume();
  await turn();
  push('dropped');
  const closed = new Error('closed');
  const pending = receive();
  delivery.close(closed);
  await assert.rejects(pending, closed);
  assert.equal(delivery.backlog.length, 0, 'close drops what was not delivered');
});

test('delivery: a channel that stopped (closed from a listener) delivers nothing more and reports no change', () => {
  const { delivery, heard, state, push } = deliveryHarness();
  push('a', 'b', 'c');
  state.listening = true;
  state.onEmit = () => { state.stopped = true; };
  delivery.offer();
  assert.deepEqual(heard, ['a'], 'stopped after the listener that closed it');
  assert.equal(state.changes, 0, 'a stopped channel is not told about demand');
  state.stopped = false;
  state.onEmit = () => undefined;
  delivery.offer();
  assert.deepEqual(heard, ['a', 'b', 'c']);
  assert.equal(state.changes, 1, 'a drain tells the channel its demand changed');
});
