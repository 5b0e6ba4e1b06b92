// The capture and its row feed (extension/src/inspector/shared/capture.ts) at their edges: defaults, totals of
// entries read from a file, the rows' Δ and preview of a cut message, listeners that unsubscribe, and the feed's
// timing, paused/detached states and schema changes, driven by a clock that moves only when the test says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asShown, loadCore } from './inspector-core.mjs';

const core = await loadCore();
const enc = (s) => new TextEncoder().encode(s);

/** A scheduler whose clock only moves when the test says so; it records each timer's delay. */
function fakeScheduler() {
  let now = 1000;
  let timers = [];
  const delays = [];
  return {
    now: () => now,
    setTimeout: (callback, ms) => { const t = { at: now + ms, callback }; timers.push(t); delays.push(ms); return t; },
    clearTimeout: (t) => { timers = timers.filter((x) => x !== t); },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) { timers = timers.filter((x) => x !== t); t.callback(); }
    },
    get pending() { return timers.length; },
    delays,
  };
}

test('capture: default limits, limits after setLimits, and totals that are copies', () => {
  assert.deepEqual(core.DEFAULT_RETENTION, { maxMessages: 100_000, maxBytes: 256 * 1024 * 1024 });
  const capture = new core.Capture();
  assert.deepEqual(capture.limits, core.DEFAULT_RETENTION);
  assert.equal(capture.firstSeq, 0);
  capture.setLimits({ maxMessages: 2, maxBytes: 1 << 20 });
  assert.deepEqual(capture.limits, { maxMessages: 2, maxBytes: 1 << 20 });
  capture.addMessage('sent', enc('abc'), 1);
  const totals = capture.totalsFor('sent');
  totals.messages = 99;
  assert.deepEqual(capture.totalsFor('sent'), { messages: 1, bytes: 3 }, 'the caller\'s copy changes nothing');
  assert.deepEqual(capture.totalsFor('to-server'), { messages: 0, bytes: 0 });
  for (let i = 0; i < 3; i++) capture.addEvent('e', '', 2 + i);
  assert.equal(capture.length, 2);
  assert.equal(capture.firstSeq, 2, 'seqs go on; the oldest two were dropped');
  assert.equal(capture.retainedBytes, 2 * 96 + 2 * 2, 'an event costs its overhead and two bytes a character');
});

test('capture: entries read from a file are numbered anew and counted like live ones (events are not counted)', () => {
  const capture = new core.Capture();
  capture.addMessage('sent', enc('x'), 1);
  const added = capture.addEntry({ kind: 'message', seq: 77, direction: 'to-server', timestamp: 2, length: 10, data: enc('abc'), channel: 'other' });
  const event = capture.addEntry({ kind: 'event', seq: 78, timestamp: 3, event: 'opened', detail: '' });
  assert.deepEqual([added.seq, event.seq], [1, 2]);
  assert.equal(added.channel, 'other');
  assert.deepEqual(capture.get(1), added);
  assert.deepEqual(capture.totalsFor('to-server'), { messages: 1, bytes: 10 });
  capture.addEntry({ kind: 'message', seq: 0, direction: 'to-server', timestamp: 4, length: 1, data: enc('a') });
  assert.deepEqual(capture.totalsFor('to-server'), { messages: 2, bytes: 11 });
  assert.deepEqual(capture.totalsFor('sent'), { messages: 1, bytes: 1 });
  const appended = [];
  let cleared = 0;
  const offAppend = capture.onAppend((e) => appended.push(e.seq));
  const offClear = capture.onClear(() => cleared++);
  capture.addEntry({ kind: 'event', seq: 0, timestamp: 5, event: 'x', detail: '' });
  capture.clear();
  assert.deepEqual(capture.totalsFor('to-server'), { messages: 0, bytes: 0 }, 'a clear forgets the totals');
  offAppend();
  offClear();
  capture.addEvent('after', '', 6);
  capture.clear();
  assert.deepEqual(appended, [4]);
  assert.equal(cleared, 1, 'unsubscribed listeners hear nothing more');
  assert.equal(capture.firstSeq, 6, 'seqs go on after a clear');
});

test('capture rows: Δ since the row above (0 for the same time, none for an earlier one), channel, events and cut messages', () => {
  const capture = new core.Capture();
  const a = capture.addMessage('sent', enc('hello'), 10);
  const b = capture.addMessage('received', enc('hello'), 10);
  const c = capture.addEvent('peer-gone', 'the peer left', 9);
  const d = capture.addEntry({ kind: 'message', seq: 0, direction: 'to-client', timestamp: 12.5, length: 100, data: enc('abc'), channel: 'other' });
  const e = capture.addMessage('sent', enc('x'.repeat(100)), 13, 1000);
  assert.equal(capture.summarize(a).delta, undefined, 'the first row has none');
  assert.equal(capture.summarize(b).delta, 0);
  assert.deepEqual({ ...capture.summarize(c) }, { seq: 2, t: 9, delta: undefined, kind: 'event', len: 0, captured: 0, preview: 'the peer left', event: 'peer-gone' });
  assert.deepEqual({ ...capture.summarize(d) }, { seq: 3, t: 12.5, delta: 3.5, kind: 'message', dir: 'to-client', len: 100, captured: 3, preview: 'abc…', channel: 'other' });
  assert.equal(capture.summarize(e).preview, `${'x'.repeat(64)}…`, 'a preview cut already ends in one ellipsis');
  assert.equal('channel' in capture.summarize(a), false);
});

test('feed: the append timer waits out the rest of the interval since the last post', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  scheduler.advance(20);
  capture.addMessage('sent', enc('a'), 1);
  assert.deepEqual(scheduler.delays, [30], 'posted 20 ms ago: 30 ms to wait');
  capture.addMessage('sent', enc('b'), 2);
  assert.equal(scheduler.pending, 1, 'one timer for the batch');
  scheduler.advance(30);
  assert.deepEqual(posts.map((p) => [p.type, p.rows.length]), [['reset', 0], ['append', 2]]);
  scheduler.advance(500);
  capture.addMessage('sent', enc('c'), 3);
  assert.equal(scheduler.delays.at(-1), 0, 'long since the last post: at once (on the next turn)');
  scheduler.advance(0);
  assert.deepEqual(posts.at(-1).rows.map((r) => r.preview), ['c']);
  assert.deepEqual(feed.posted, { resets: 1, appends: 2, rows: 3 });
  assert.deepEqual(posts.at(-1), { type: 'append', rows: posts.at(-1).rows, firstSeq: 0, dropped: 0, retained: 3 });
  feed.dispose();
  capture.addMessage('sent', enc('d'), 4);
  assert.equal(scheduler.pending, 0, 'a disposed feed sets no timer');
});

test('feed: pausing twice or resuming twice posts nothing more; flush while paused or detached posts nothing', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  assert.equal(feed.isPaused, false);
  feed.setPaused(false);
  assert.equal(posts.length, 1, 'not paused: resuming does not reset');
  capture.addMessage('sent', enc('a'), 1);
  feed.setPaused(true);
  assert.equal(feed.isPaused, true);
  assert.equal(scheduler.pending, 0, 'pausing cancels the pending append');
  feed.setPaused(true);
  feed.flush();
  assert.equal(posts.length, 1);
  feed.setPaused(false);
  assert.deepEqual(posts.map((p) => p.type), ['reset', 'reset']);
  feed.detach();
  feed.flush();
  capture.addMessage('sent', enc('b'), 2);
  assert.equal(posts.length, 2, 'detached: nothing');
  assert.equal(scheduler.pending, 0);
  feed.attach();
  assert.deepEqual(posts.at(-1).rows.map((r) => r.preview), ['a', 'b']);
  feed.dispose();
});

test('feed: a filter that does not compile leaves the previous one; a highlight without a filter marks nothing', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  capture.addMessage('sent', enc('needle'), 1);
  capture.addMessage('received', enc('hay'), 2);
  feed.setFilter({ text: 'needle' });
  const count = posts.length;
  assert.throws(() => feed.setFilter({ hex: 'zz' }), (e) => e.code === 'INVALID_HEX');
  assert.equal(posts.length, count, 'nothing posted');
  assert.deepEqual(feed.filterInEffect, { text: 'needle' });
  assert.deepEqual(feed.matchingSeqs(), [0]);
  feed.setFilter({ highlight: true, events: true });
  assert.deepEqual(posts.at(-1).rows.map((r) => [r.preview, r.match]), [['needle', undefined], ['hay', undefined]]);
  feed.dispose();
});

test('feed: a field filter goes with the schema: dropped when the channel loses its schema, kept across a new one', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  // Nothing is decoded here: the capture is empty while the field filter is in effect.
  const schema = { constants: new Map(), decode: () => assert.fail('decoded') };
  feed.setDecoder(schema);
  feed.attach();
  assert.throws(() => feed.setFilter({ fields: 'n ==' }), (e) => e.code !== undefined);
  feed.setFilter({ fields: 'n > 1', text: '' });
  assert.equal(feed.filterInEffect.fields, 'n > 1');
  feed.setDecoder(schema);
  assert.equal(feed.filterInEffect.fields, 'n > 1', 'a schema that can still compile it keeps it');
  feed.setDecoder(undefined);
  assert.equal(feed.filterInEffect.fields, undefined, 'no schema: the field filter is dropped');
  capture.addMessage('sent', Uint8Array.of(0), 1);
  scheduler.advance(100);
  assert.deepEqual(posts.at(-1).rows.map((r) => r.seq), [0], 'and everything shows');
  feed.dispose();
});

test('feed: a feed never attached sets no timer; a clear resets an attached view and posts nothing to a detached one', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  capture.addMessage('sent', enc('a'), 1);
  assert.equal(scheduler.pending, 0, 'not attached: no timer');
  capture.clear();
  assert.equal(posts.length, 0);
  feed.attach();
  capture.addMessage('sent', enc('b'), 2);
  capture.addMessage('sent', enc('c'), 3);
  feed.flush();
  assert.deepEqual(feed.posted, { resets: 1, appends: 1, rows: 2 });
  capture.clear();
  assert.deepEqual(posts.at(-1), { type: 'reset', rows: [], firstSeq: 3, dropped: 0, retained: 0 });
  capture.addMessage('sent', enc('d'), 4);
  feed.setFilter({});
  assert.deepEqual(feed.posted, { resets: 3, appends: 1, rows: 3 }, 'the rows of resets count too');
  feed.detach();
  capture.clear();
  assert.equal(posts.length, 4, 'detached: a clear posts nothing');
  feed.dispose();
});

test('feed: appends beyond twice the retention are trimmed to what is retained, the oldest retained row included', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture({ maxMessages: 2, maxBytes: 1 << 20 });
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  for (let i = 0; i < 5; i++) capture.addMessage('sent', enc(`m${i}`), i);
  scheduler.advance(50);
  assert.deepEqual(posts.at(-1).rows.map((r) => r.preview), ['m3', 'm4']);
  feed.dispose();
});

test('feed: with a schema but no decoded column picked, rows carry no fields; a dropped field filter keeps the rest of the filter', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  const decoder = { constants: new Map(), decode: () => ({ type: 'm', root: { name: '', path: '', type: 'm', offset: 0, size: 0, display: '' }, problems: [] }) };
  feed.setDecoder(decoder);
  feed.attach();
  capture.addMessage('sent', enc('abc'), 1);
  capture.addMessage('sent', enc('xyz'), 2);
  scheduler.advance(50);
  assert.equal('fields' in posts.at(-1).rows[0], false);
  feed.setFilter({ text: 'abc', fields: 'n > 1' });
  feed.setDecoder(undefined);
  assert.deepEqual(feed.filterInEffect, { text: 'abc', fields: undefined });
  assert.deepEqual(posts.at(-1).rows.map((r) => r.preview), ['abc'], 'the text filter still applies');
  feed.dispose();
});

test('feed: the real scheduler posts an append after the interval', async () => {
  const capture = new core.Capture();
  let appended;
  const append = new Promise((resolve) => { appended = resolve; });
  const feed = new core.ViewFeed(capture, (m) => { if (m.type === 'append') appended(asShown(core, m)); }, undefined, 5);
  feed.attach();
  capture.addMessage('sent', enc('real'), 1);
  const post = await append; // resolves only if a real timer fires (the test runner's own timeout bounds the wait)
  assert.deepEqual(post.rows.map((r) => r.preview), ['real']);
  feed.dispose();
});
