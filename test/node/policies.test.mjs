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
});
