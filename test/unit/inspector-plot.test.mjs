// The plot's pure parts (extension/src/inspector/shared/plot.ts) at their edges: which field values become
// coordinates, what the feed posts when it has no decoder or more messages than a reset carries, its interval, and
// decimation at the limits of its pixel columns. The decoder here is a stand-in that reads byte 0 as one field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();

/** A decoded message whose fields are `values` (name → value). */
function message(values) {
  const children = Object.entries(values).map(([name, value]) => ({ name, path: name, type: 't', offset: 0, size: 1, value, display: String(value) }));
  return { type: 'm', root: { name: '', path: '', type: 'm', offset: 0, size: 1, display: '', children }, problems: [] };
}
/** Decodes byte 0 as the field "v" (and byte 1, when there is one, as "w"). */
const decoder = { decode: (data) => message(data.length > 1 ? { v: data[0], w: data[1] } : { v: data[0] }) };

function fakeScheduler() {
  const timers = [];
  const delays = [];
  let cleared = 0;
  return {
    now: () => 0,
    setTimeout: (callback, ms) => { timers.push(callback); delays.push(ms); return timers.length; },
    clearTimeout: () => { cleared++; },
    fire() { timers.shift()(); },
    get timers() { return timers.length; },
    get cleared() { return cleared; },
    delays,
  };
}

test('plotValue: finite numbers, 64-bit integers and booleans are coordinates; anything else is a gap', () => {
  const m = message({ n: 2.5, nan: NaN, inf: Infinity, big: 2n ** 60n, neg: -(2n ** 70n), yes: true, no: false, text: '12', none: undefined });
  assert.equal(core.plotValue(m, 'n'), 2.5);
  assert.equal(core.plotValue(m, 'nan'), null);
  assert.equal(core.plotValue(m, 'inf'), null);
  assert.equal(core.plotValue(m, 'big'), 2 ** 60);
  assert.equal(core.plotValue(m, 'neg'), -(2 ** 70));
  assert.equal(core.plotValue(m, 'yes'), 1);
  assert.equal(core.plotValue(m, 'no'), 0);
  assert.equal(core.plotValue(m, 'text'), null);
  assert.equal(core.plotValue(m, 'none'), null);
  assert.equal(core.plotValue(m, 'absent'), null);
});

test('plot feed: without a decoder or without paths it posts an empty reset and then nothing', () => {
  const capture = new core.Capture();
  const pushes = [];
  const scheduler = fakeScheduler();
  const feed = new core.PlotFeed(capture, (p) => pushes.push(p), scheduler);
  capture.addMessage('sent', Uint8Array.of(1), 1);
  assert.equal(feed.active, false);
  feed.set(['v'], undefined);
  assert.equal(feed.active, false);
  assert.deepEqual(pushes, [{ type: 'plot', paths: ['v'], reset: true, columns: { t: [], dir: [], values: [[]] } }]);
  capture.addMessage('sent', Uint8Array.of(2), 2);
  capture.clear();
  assert.equal(scheduler.timers, 0);
  assert.equal(pushes.length, 1, 'an inactive plot hears nothing of new messages or a clear');
  capture.addMessage('sent', Uint8Array.of(3), 3);
  feed.set([], decoder);
  assert.equal(feed.active, false);
  assert.deepEqual(pushes.at(-1), { type: 'plot', paths: [], reset: true, columns: { t: [], dir: [], values: [] } }, 'no paths: no points, with a decoder too');
  feed.dispose();
});

test('plot feed: a reset carries the newest MAX_PLOT_POINTS messages; appends come once per interval, events left out', () => {
  const capture = new core.Capture();
  const pushes = [];
  const scheduler = fakeScheduler();
  const feed = new core.PlotFeed(capture, (p) => pushes.push(p), scheduler);
  const total = core.MAX_PLOT_POINTS + 3;
  for (let i = 0; i < total; i++) capture.addMessage(i % 2 ? 'received' : 'sent', Uint8Array.of(i % 256, 7), i);
  capture.addEvent('peer-gone', '', total);
  feed.set(['v', 'w'], decoder);
  assert.equal(core.MAX_PLOT_POINTS, 20_000);
  const reset = pushes[0].columns;
  assert.equal(reset.t.length, core.MAX_PLOT_POINTS);
  assert.deepEqual(reset.t.slice(0, 2), [3, 4], 'the oldest three left out');
  assert.equal(reset.t.at(-1), total - 1);
  assert.deepEqual(reset.dir.slice(0, 2), ['received', 'sent']);
  assert.deepEqual(reset.values.map((v) => v.slice(0, 2)), [[3, 4], [7, 7]]);
  capture.addEvent('note', '', total + 1);
  assert.equal(scheduler.timers, 0, 'an event sets no timer');
  capture.addMessage('sent', Uint8Array.of(9), total + 2);
  capture.addMessage('received', Uint8Array.of(10, 11), total + 3);
  assert.deepEqual(scheduler.delays, [100], 'the default interval, one timer for both');
  scheduler.fire();
  assert.deepEqual(pushes.at(-1), { type: 'plot', paths: ['v', 'w'], reset: false,
    columns: { t: [total + 2, total + 3], dir: ['sent', 'received'], values: [[9, 10], [null, 11]] } });
  capture.addMessage('sent', Uint8Array.of(12), total + 4);
  scheduler.fire();
  assert.deepEqual(pushes.at(-1).columns.values, [[12], [null]], 'each append carries only what came since the last');
  feed.dispose();
});

test('plot feed: a new set or a dispose cancels the pending append; a clear of an active plot resets it', () => {
  const capture = new core.Capture();
  const pushes = [];
  const scheduler = fakeScheduler();
  const feed = new core.PlotFeed(capture, (p) => pushes.push(p), scheduler, 250);
  feed.set(['v'], decoder);
  capture.addMessage('sent', Uint8Array.of(1), 1);
  assert.deepEqual(scheduler.delays, [250]);
  feed.set(['v'], decoder);
  assert.equal(scheduler.cleared, 1, 'the pending append is cancelled');
  assert.deepEqual(pushes.at(-1).columns.values, [[1]], 'its message is in the new reset');
  capture.addMessage('sent', Uint8Array.of(2), 2);
  capture.clear();
  assert.equal(scheduler.cleared, 2);
  assert.deepEqual(pushes.at(-1), { type: 'plot', paths: ['v'], reset: true, columns: { t: [], dir: [], values: [[]] } });
  capture.addMessage('sent', Uint8Array.of(3), 3);
  feed.dispose();
  assert.equal(scheduler.cleared, 3, 'dispose cancels it too');
  const count = pushes.length;
  capture.addMessage('sent', Uint8Array.of(4), 4);
  capture.clear();
  assert.equal(pushes.length, count, 'a disposed feed posts nothing');
});

test('decimate: the width is whole pixel columns, at least one; exactly two points a column are kept as they are', () => {
  const xs = [0, 1, 2, 3];
  const ys = [[4, 3, 2, 1]];
  assert.deepEqual(core.decimate(xs, ys, 2), [xs, ...ys], 'four points, two columns: unchanged');
  assert.deepEqual(core.decimate(xs, ys, 2.9), [xs, ...ys], 'a fractional width is its whole columns');
  assert.deepEqual(core.decimate(xs, ys, 1), [[0, 3], [4, 1]], 'one column: its first and last time, the high first (it came first)');
  assert.deepEqual(core.decimate(xs, ys, 0), [[0, 3], [4, 1]], 'no width: one column');
  assert.deepEqual(core.decimate(xs, ys, -5), [[0, 3], [4, 1]]);
  assert.deepEqual(core.decimate([5, 5, 5], [[1, 2, 3]], 1), [[5, 5], [1, 3]], 'every point at the same time');
});

test('decimate: a column with one point keeps it alone; each column\'s low and high in the order they came; gaps', () => {
  // Two columns over 0..100: 0, 1, 2 and 3 in the first, 100 alone in the second.
  const xs = [0, 1, 2, 3, 100];
  const [outX, ...ys] = core.decimate(xs, [[1, 7, 3, 5, 2], [null, null, null, null, 4], [6, 6, 6, 6, 9], [2, 5, 2, 3, 1], [5, 2, 5, 3, 1]], 2);
  assert.deepEqual(outX, [0, 3, 100]);
  assert.deepEqual(ys, [
    [1, 7, 2], // rising: low first; the single point alone
    [null, null, 4], // no values: a gap at both times
    [6, 6, 9], // flat
    [2, 5, 1], // the low (first seen at index 0) came before the high
    [5, 2, 1], // the high (first seen at index 0) came before the low
  ]);
  const [x3, y3] = core.decimate([0, 10, 20, 30, 40], [[3, 1, 2, 0, 5]], 2);
  assert.deepEqual(x3, [0, 10, 20, 40]);
  assert.deepEqual(y3, [3, 1, 0, 5], 'column 0: 3 then 1 (falling); column 1: 2, 0, 5: low 0 before high 5');
});

test('decimate: columns are measured from the first time, the last time closes the last column, a gap inside a column is skipped', () => {
  // Times from 1000: the same shape as from 0.
  const [x1, y1] = core.decimate([1000, 1001, 1002, 1003, 1100], [[1, 7, 3, 5, 2]], 2);
  assert.deepEqual([x1, y1], [[1000, 1003, 1100], [1, 7, 2]]);
  // Three points in the last column, the last of them exactly at the end of the time axis.
  const [x2, y2] = core.decimate([0, 1, 2, 50, 60, 100], [[0, 1, 2, 9, 3, 8]], 2);
  assert.deepEqual([x2, y2], [[0, 2, 50, 100], [0, 2, 9, 3]]);
  const [x3, y3] = core.decimate([1000, 1001, 1002, 1050, 1060, 1100], [[0, 1, 2, 9, 3, 8]], 2);
  assert.deepEqual([x3, y3], [[1000, 1002, 1050, 1100], [0, 2, 9, 3]]);
  // A null between values: the column's low is still the value before it.
  const [, y4] = core.decimate([0, 1, 2, 3, 100], [[3, null, 5, 4, 1]], 2);
  assert.deepEqual(y4, [3, 5, 1]);
  // At most two points per column on average, but three in one: still returned as they are.
  assert.deepEqual(core.decimate([0, 1, 2, 10], [[5, 1, 3, 0]], 2), [[0, 1, 2, 10], [5, 1, 3, 0]]);
});
