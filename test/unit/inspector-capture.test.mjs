import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asShown, loadCore } from './inspector-core.mjs';

const core = await loadCore();
const enc = (s) => new TextEncoder().encode(s);

/** A scheduler whose clock only moves when the test says so. */
function fakeScheduler() {
  let now = 1000;
  let timers = [];
  return {
    now: () => now,
    setTimeout: (callback, ms) => { const t = { at: now + ms, callback }; timers.push(t); return t; },
    clearTimeout: (t) => { timers = timers.filter((x) => x !== t); },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) { timers = timers.filter((x) => x !== t); t.callback(); }
    },
    get pending() { return timers.length; },
  };
}

/** An event entry numbered `seq`, retained size 96 + 2 × (1 + text length). */
const ev = (seq, text = '') => ({ kind: 'event', seq, timestamp: seq, event: 'e', detail: text });
/** A message entry numbered `seq` with `bytes` bytes (retained size 96 + bytes). */
const msg = (seq, bytes = 1, fill = seq & 0xff) => ({ kind: 'message', seq, direction: 'to-server', timestamp: seq, length: bytes, data: new Uint8Array(bytes).fill(fill) });
const seqsOf = (ring) => [...ring].map((entry) => entry.seq);

test('ring: drops oldest first by count, reports drops, addresses by index', () => {
  const ring = new core.EntryRing(3, 1e9);
  for (let i = 0; i < 5; i++) ring.push(i % 2 ? ev(i) : msg(i));
  assert.deepEqual(seqsOf(ring), [2, 3, 4]);
  assert.equal(ring.dropped, 2);
  assert.equal(ring.at(0).seq, 2);
  assert.deepEqual([...ring.at(0).data], [2]);
  assert.equal(ring.at(1).event, 'e');
  assert.equal(ring.at(3), undefined);
  assert.equal(ring.at(-1), undefined);
  ring.clear();
  assert.equal(ring.length, 0);
  assert.equal(ring.dropped, 0);
  assert.equal(ring.bytes, 0);
});

test('ring: byte limit drops oldest but always keeps the newest entry', () => {
  const ring = new core.EntryRing(100, 2 * 96 + 8);
  ring.push(msg(0, 4)); ring.push(msg(1, 4));
  assert.equal(ring.push(msg(2, 4)).dropped, 1);
  assert.deepEqual(seqsOf(ring), [1, 2]);
  assert.equal(ring.push(msg(3, 500)).dropped, 2);
  assert.deepEqual(seqsOf(ring), [3]);
  assert.equal(ring.bytes, 96 + 500);
});

test('ring: grows past its initial allocation, wrapped or not, and shrinks with setLimits', () => {
  const ring = new core.EntryRing(5000, 1e9);
  for (let i = 0; i < 6000; i++) ring.push(i % 7 ? { ...msg(i), channel: `c${i}` } : ev(i, `t${i}`));
  assert.equal(ring.length, 5000);
  assert.equal(ring.at(0).seq, 1000);
  assert.equal(ring.at(4999).seq, 5999);
  assert.deepEqual(seqsOf(ring), Array.from({ length: 5000 }, (_, k) => 1000 + k), 'every entry once, in order');
  assert.ok([...ring].every((e) => (e.seq % 7 ? e.kind === 'message' && e.data[0] === (e.seq & 0xff) && e.length === 1 && e.timestamp === e.seq
    && e.channel === `c${e.seq}` : e.kind === 'event' && e.detail === `t${e.seq}`)), 'each entry comes back as it was pushed, with its channel');
  // A ring that grows while wrapped (its oldest entry is not in slot 0: the byte limit dropped a large first message
  // before the 1,024 initial slots were full) keeps the order and every column of the entries that wrapped.
  const wrapped = new core.EntryRing(3000, 2000 * 97);
  wrapped.push(msg(0, 2000 * 97 - 96 - 10 * 97));
  for (let i = 1; i <= 1024 + 10; i++) wrapped.push({ ...msg(i), channel: `w${i}` });
  assert.equal(wrapped.dropped, 1);
  assert.deepEqual(seqsOf(wrapped), Array.from({ length: 1034 }, (_, k) => k + 1));
  assert.ok([...wrapped].every((e) => e.data.length === 1 && e.data[0] === (e.seq & 0xff) && e.timestamp === e.seq && e.channel === `w${e.seq}`),
    'each entry as pushed');
  const small = new core.EntryRing(20, 1e9);
  for (let i = 0; i < 30; i++) small.push(msg(i));
  small.setLimits(40, 1e9);
  for (let i = 30; i < 55; i++) small.push(msg(i));
  assert.deepEqual(seqsOf(small), Array.from({ length: 40 }, (_, k) => 15 + k), 'grown after a wrap');
  assert.equal(ring.setLimits(10, 1e9), 4990);
  assert.deepEqual(seqsOf(ring), [5990, 5991, 5992, 5993, 5994, 5995, 5996, 5997, 5998, 5999]);
  assert.equal(ring.dropped, 1000 + 4990);
  assert.equal(ring.bytes, [...ring].reduce((sum, e) => sum + core.retainedSize(e), 0));
  assert.equal(ring.setLimits(10, 96 + 1), 9, 'the byte limit applies too');
  assert.equal(ring.dropped, 1000 + 4990 + 9);
  assert.throws(() => new core.EntryRing(0, 1), RangeError);
});

test('ring: the limits are inclusive, one entry and one byte are allowed, anything less is refused', () => {
  const exact = new core.EntryRing(100, 2 * 96 + 8);
  assert.equal(exact.push(msg(0, 4)).dropped, 0);
  assert.equal(exact.push(msg(1, 4)).dropped, 0, 'exactly at the byte limit: nothing dropped');
  assert.equal(exact.bytes, 2 * 96 + 8);
  const single = new core.EntryRing(1, 1);
  assert.equal(single.push(ev(0)).dropped, 0);
  assert.equal(single.push(ev(1)).dropped, 1);
  assert.deepEqual(seqsOf(single), [1]);
  assert.deepEqual(single.limits, { maxItems: 1, maxBytes: 1 });
  for (const [items, bytes] of [[0, 1], [1, 0], [NaN, 1], [1, NaN]]) {
    assert.throws(() => new core.EntryRing(items, bytes), { name: 'RangeError', message: /at least 1/ }, `${items}, ${bytes}`);
    assert.throws(() => single.setLimits(items, bytes), { name: 'RangeError', message: /at least 1/ }, `setLimits ${items}, ${bytes}`);
  }
  assert.deepEqual(seqsOf(single), [1], 'a refused setLimits changes nothing');
  const shrinking = new core.EntryRing(5, 1e9);
  for (let i = 0; i < 3; i++) shrinking.push(ev(i));
  assert.equal(shrinking.setLimits(1, 1), 2, 'one entry and one byte are limits setLimits takes too');
  assert.deepEqual(seqsOf(shrinking), [2]);
});

test('ring: at() takes whole indexes only; entries keep their channel and length as sent; a large message is kept as it is', () => {
  const ring = new core.EntryRing(3, 1e9);
  for (let i = 0; i < 4; i++) ring.push(msg(i));
  assert.equal(ring.at(1).seq, 2);
  assert.equal(ring.at(0.5), undefined);
  assert.equal(ring.at(Number.NaN), undefined);
  const large = new Uint8Array(core.BLOCK_COPY_MAX_BYTES + 1);
  const kept = ring.push({ kind: 'message', seq: 9, direction: 'sent', timestamp: 1.5, length: 5000, data: large, channel: 'other' }).kept;
  assert.equal(kept.data, large);
  assert.deepEqual(ring.at(2), { kind: 'message', seq: 9, direction: 'sent', timestamp: 1.5, length: 5000, data: large, channel: 'other' });
  assert.equal(ring.at(2).data.buffer, large.buffer, 'not copied');
  assert.equal('channel' in ring.at(1), false, 'no channel: none named');
  for (const direction of ['sent', 'received', 'to-client', 'to-server']) {
    ring.push({ ...msg(10), direction });
    assert.equal(ring.at(2).direction, direction);
  }
});

test('ring: a clear starts over (no bytes, no drops) and the ring fills again from its first slot', () => {
  const ring = new core.EntryRing(3, 3 * 96 + 12);
  for (let i = 0; i < 4; i++) ring.push(msg(i, 4));
  ring.clear();
  assert.equal(ring.bytes, 0);
  assert.equal(ring.dropped, 0);
  assert.equal(ring.push(msg(5, 5)).dropped, 0, 'the bytes of the cleared entries no longer count');
  assert.equal(ring.push(msg(6, 5)).dropped, 0);
  assert.deepEqual(seqsOf(ring), [5, 6]);
  assert.equal(ring.at(0).seq, 5);
});

test('ring: setLimits drops by count, then by bytes, and counts both', () => {
  const ring = new core.EntryRing(10, 1000);
  for (let i = 1; i <= 6; i++) ring.push(msg(i, i)); // 6 × 96 + 21 bytes
  assert.equal(ring.setLimits(4, 2 * 96 + 12), 4, 'two entries over the count, then 4 × 96 + 18 bytes: the 3 and the 4 go too');
  assert.deepEqual(seqsOf(ring), [5, 6]);
  assert.equal(ring.bytes, 2 * 96 + 11);
  assert.equal(ring.dropped, 4);
  assert.deepEqual(ring.limits, { maxItems: 4, maxBytes: 2 * 96 + 12 });
  assert.equal(ring.setLimits(10, 2000), 0, 'growing drops nothing');
  for (let i = 7; i <= 14; i++) ring.push(msg(i, i));
  assert.deepEqual(seqsOf(ring), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'room for ten again');
  assert.deepEqual([...ring].map((e) => e.data.length), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  assert.equal(ring.dropped, 4);
});

test('capture: contiguous seqs across messages and events, lookup by seq after drops', () => {
  const capture = new core.Capture({ maxMessages: 3, maxBytes: 1e9 });
  capture.addMessage('sent', enc('a'), 1);
  capture.addEvent('peer-gone', 'peer closed', 2);
  capture.addMessage('received', enc('bb'), 3);
  capture.addMessage('received', enc('ccc'), 4, 10);
  assert.equal(capture.firstSeq, 1);
  assert.equal(capture.dropped, 1);
  assert.equal(capture.get(0), undefined);
  assert.equal(capture.get(1).event, 'peer-gone');
  assert.equal(capture.get(3).length, 10);
  assert.deepEqual(capture.totalsFor('received'), { messages: 2, bytes: 12 });
  assert.deepEqual(capture.totalsFor('sent'), { messages: 1, bytes: 1 });
  const row = capture.summarize(capture.get(3));
  assert.deepEqual({ ...row }, { seq: 3, t: 4, delta: 1, kind: 'message', dir: 'received', len: 10, captured: 3, preview: 'ccc…' });
  assert.equal(capture.summarize(capture.get(1)).delta, undefined, 'no delta when the previous entry was dropped');
});

test('filter: direction, text (case-insensitive), hex, size; events kept unless excluded', () => {
  const capture = new core.Capture();
  capture.addMessage('sent', enc('Hello World'), 1);
  capture.addMessage('received', Uint8Array.from([0, 0x0d, 0x0a, 5]), 2);
  capture.addEvent('connected', 'client pid 5', 3);
  capture.addMessage('received', enc('hello again, longer'), 4);
  const seqs = (spec) => { const f = core.compileFilter(spec); return [...capture.entries()].filter(f.matches).map((e) => e.seq); };
  assert.deepEqual(seqs({}), [0, 1, 2, 3]);
  assert.equal(core.compileFilter({}).isEmpty, true);
  assert.deepEqual(seqs({ directions: ['received'] }), [1, 2, 3]);
  assert.deepEqual(seqs({ text: 'HELLO' }), [0, 2, 3]);
  assert.deepEqual(seqs({ hex: '0d0a' }), [1, 2]);
  assert.deepEqual(seqs({ minSize: 5, maxSize: 12 }), [0, 2]);
  assert.deepEqual(seqs({ text: 'hello', events: false }), [0, 3]);
  assert.throws(() => core.compileFilter({ hex: 'xyz' }), (e) => e.code === 'INVALID_HEX');
  assert.throws(() => core.compileFilter({ minSize: -1 }), (e) => e.code === 'INVALID_FORMAT');
});

test('filter: a size bound alone filters; a blank hex, null sizes and nothing else are no filter; its refusals say what is wrong', () => {
  const capture = new core.Capture();
  capture.addMessage('sent', enc('Hello World'), 1);
  capture.addMessage('received', Uint8Array.from([0, 0x0d, 0x0a, 5]), 2);
  capture.addEvent('connected', 'client pid 5', 3);
  capture.addMessage('received', enc('hello again, longer'), 4);
  const seqs = (spec) => { const f = core.compileFilter(spec); return [...capture.entries()].filter(f.matches).map((e) => e.seq); };
  assert.deepEqual(seqs({ minSize: 5 }), [0, 2, 3]);
  assert.deepEqual(seqs({ maxSize: 4 }), [1, 2]);
  for (const spec of [{ hex: '0x' }, { hex: '  ' }, { minSize: null, maxSize: null }]) {
    assert.equal(core.compileFilter(spec).isEmpty, true, JSON.stringify(spec));
  }
  assert.deepEqual(seqs({ hex: ' 0x ', directions: ['sent'] }), [0, 2], 'an empty byte sequence matches every message');
  assert.throws(() => core.compileFilter({ minSize: -1 }), { code: 'INVALID_FORMAT', message: 'Minimum size must be a number of bytes, 0 or more' });
  assert.throws(() => core.compileFilter({ maxSize: Number.NaN }), { code: 'INVALID_FORMAT', message: 'Maximum size must be a number of bytes, 0 or more' });
  assert.throws(() => core.compileFilter({ fields: 'a == 1' }),
    { code: 'INVALID_FORMAT', message: 'this channel has no schema to filter fields with (see .sipc/channels.json)' });
});

test('feed: reset on attach, then at most one append per interval however many messages arrive', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  capture.addMessage('sent', enc('before'), 1);
  assert.equal(posts.length, 0, 'nothing is posted before the view attaches');
  feed.attach();
  assert.equal(posts.length, 1);
  assert.equal(posts[0].type, 'reset');
  assert.deepEqual(posts[0].rows.map((r) => r.preview), ['before']);
  const burst = core.MAX_ROWS_PER_POST - 100; // many messages, one post (more would take several, see below)
  for (let i = 0; i < burst; i++) capture.addMessage('received', enc(`m${i}`), 2 + i);
  assert.equal(posts.length, 1, 'batched, not posted per message');
  assert.equal(scheduler.pending, 1);
  scheduler.advance(49);
  assert.equal(posts.length, 1);
  scheduler.advance(1);
  assert.equal(posts.length, 2);
  assert.equal(posts[1].type, 'append');
  assert.equal(posts[1].rows.length, burst);
  assert.equal(posts[1].rows[burst - 1].preview, `m${burst - 1}`);
  assert.equal(posts[1].retained, burst + 1);
  feed.dispose();
});

test('feed: filter applies to resets and appends; pause and detach stop posting, resume resets', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  feed.setFilter({ directions: ['sent'] });
  capture.addMessage('sent', enc('s1'), 1);
  capture.addMessage('received', enc('r1'), 2);
  scheduler.advance(100);
  const appended = posts.filter((p) => p.type === 'append').flatMap((p) => p.rows.map((r) => r.preview));
  assert.deepEqual(appended, ['s1']);
  feed.setPaused(true);
  const count = posts.length;
  capture.addMessage('sent', enc('s2'), 3);
  scheduler.advance(100);
  assert.equal(posts.length, count, 'paused: nothing posted');
  feed.setPaused(false);
  assert.equal(posts.at(-1).type, 'reset');
  assert.deepEqual(posts.at(-1).rows.map((r) => r.preview), ['s1', 's2']);
  feed.detach();
  capture.addMessage('sent', enc('s3'), 4);
  scheduler.advance(100);
  assert.equal(posts.at(-1).type, 'reset', 'detached: nothing posted');
  capture.clear();
  feed.attach();
  assert.deepEqual(posts.at(-1).rows, []);
  feed.dispose();
});

test('feed: a highlighting filter sends every row and marks the matches; the export still takes the matches only', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  capture.addMessage('sent', enc('needle 1'), 1);
  capture.addMessage('received', enc('hay'), 2);
  feed.setFilter({ text: 'NEEDLE', highlight: true });
  assert.deepEqual(posts.at(-1).rows.map((r) => [r.preview, r.match]), [['needle 1', true], ['hay', false]]);
  capture.addMessage('received', enc('more hay'), 3);
  capture.addMessage('received', enc('a needle'), 4);
  scheduler.advance(100);
  assert.deepEqual(posts.at(-1).rows.map((r) => [r.preview, r.match]), [['more hay', false], ['a needle', true]]);
  assert.deepEqual(feed.matchingSeqs(), [0, 3]);
  // Without a filter there is nothing to mark; without highlight the rows carry no mark and only matches come.
  feed.setFilter({ highlight: true });
  assert.deepEqual(posts.at(-1).rows.map((r) => r.match), [undefined, undefined, undefined, undefined]);
  feed.setFilter({ text: 'hay' });
  assert.deepEqual(posts.at(-1).rows.map((r) => [r.preview, r.match]), [['hay', undefined], ['more hay', undefined]]);
  feed.dispose();
});

test('feed: rows dropped by retention before a flush are skipped and the drop is reported', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture({ maxMessages: 10, maxBytes: 1e9 });
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  for (let i = 0; i < 25; i++) capture.addMessage('received', enc(`m${i}`), i);
  scheduler.advance(50);
  const last = posts.at(-1);
  assert.equal(last.rows.length, 10);
  assert.equal(last.rows[0].preview, 'm15');
  assert.equal(last.firstSeq, 15);
  assert.equal(last.dropped, 15);
  feed.dispose();
});

test('rates: messages and bytes per second over the window; a clear starts over', () => {
  const meter = new core.RateMeter(2000);
  assert.deepEqual(meter.sample('sent', { messages: 0, bytes: 0 }, 0), { messagesPerSecond: 0, bytesPerSecond: 0 });
  assert.deepEqual(meter.sample('sent', { messages: 100, bytes: 1000 }, 1000), { messagesPerSecond: 100, bytesPerSecond: 1000 });
  assert.deepEqual(meter.sample('sent', { messages: 300, bytes: 3000 }, 2000), { messagesPerSecond: 150, bytesPerSecond: 1500 });
  assert.deepEqual(meter.sample('sent', { messages: 500, bytes: 5000 }, 3000), { messagesPerSecond: 200, bytesPerSecond: 2000 });
  assert.deepEqual(meter.sample('sent', { messages: 0, bytes: 0 }, 4000), { messagesPerSecond: 0, bytesPerSecond: 0 });
});

test('rates: either counter going down is a clear; directions are metered apart; reset forgets the samples', () => {
  const meter = new core.RateMeter(2000);
  meter.sample('sent', { messages: 500, bytes: 5000 }, 0);
  assert.deepEqual(meter.sample('sent', { messages: 600, bytes: 100 }, 1000), { messagesPerSecond: 0, bytesPerSecond: 0 },
    'fewer bytes than before: the capture was cleared (and more messages came since)');
  assert.deepEqual(meter.sample('sent', { messages: 700, bytes: 1100 }, 2000), { messagesPerSecond: 100, bytesPerSecond: 1000 });
  assert.deepEqual(meter.sample('received', { messages: 10, bytes: 10 }, 2000), { messagesPerSecond: 0, bytesPerSecond: 0 },
    'the other direction has its own first sample');
  meter.reset();
  assert.deepEqual(meter.sample('sent', { messages: 900, bytes: 9000 }, 3000), { messagesPerSecond: 0, bytesPerSecond: 0 },
    'after a reset the next sample is a first one');
});

test('rates: a tick without traffic keeps the window; fewer messages than before (even with more bytes) is a clear', () => {
  const meter = new core.RateMeter(2000);
  meter.sample('sent', { messages: 100, bytes: 1000 }, 0);
  assert.deepEqual(meter.sample('sent', { messages: 100, bytes: 1000 }, 1000), { messagesPerSecond: 0, bytesPerSecond: 0 });
  assert.deepEqual(meter.sample('sent', { messages: 300, bytes: 3000 }, 2000), { messagesPerSecond: 100, bytesPerSecond: 1000 },
    'averaged over both seconds, the idle one included');
  assert.deepEqual(meter.sample('sent', { messages: 10, bytes: 9000 }, 3000), { messagesPerSecond: 0, bytesPerSecond: 0 },
    'fewer messages: cleared, then a few large ones came');
});

test('capture: the payload memory limit drops the oldest messages, and events by the size of their text', () => {
  const capture = new core.Capture({ maxMessages: 100, maxBytes: 1000 });
  for (let i = 0; i < 10; i++) capture.addMessage('sent', new Uint8Array(400), i);
  assert.ok(capture.length >= 1 && capture.length <= 2, `400-byte messages under a 1000-byte limit: ${capture.length} kept`);
  assert.equal(capture.dropped, 10 - capture.length);
  assert.equal([...capture.entries()].at(-1).seq, 9, 'the newest is kept');
  const events = new core.Capture({ maxMessages: 100, maxBytes: 1000 });
  for (let i = 0; i < 5; i++) events.addEvent('peer-gone', 'x'.repeat(600), i);
  assert.equal(events.length, 1, 'an event with 600 characters of text is over half the limit');
  const short = new core.Capture({ maxMessages: 100, maxBytes: 1000 });
  for (let i = 0; i < 5; i++) short.addEvent('x'.repeat(600), '', i);
  assert.equal(short.length, 1, 'the event name counts too');
});

test('decoded: a byte that lies in no field (padding) selects no field, not the whole message', () => {
  const root = { path: '', name: 'msg', offset: 0, size: 8, children: [
    { path: 'a', name: 'a', offset: 0, size: 2 },
    { path: 'b', name: 'b', offset: 4, size: 4, children: [{ path: 'b.lo', name: 'lo', offset: 4, size: 2 }] },
  ] };
  assert.equal(core.fieldAtOffset(root, 1).path, 'a');
  assert.equal(core.fieldAtOffset(root, 5).path, 'b.lo', 'the deepest field');
  assert.equal(core.fieldAtOffset(root, 7).path, 'b');
  assert.equal(core.fieldAtOffset(root, 3), undefined, 'padding between a and b');
  assert.equal(core.fieldAtOffset(root, 8), undefined, 'past the end');
});

test('webview messages are validated', () => {
  assert.deepEqual(core.parseWebviewMessage({ type: 'select', seq: 4 }), { type: 'select', seq: 4 });
  assert.equal(core.parseWebviewMessage({ type: 'select', seq: -1 }), undefined);
  assert.equal(core.parseWebviewMessage({ type: 'send', format: 'octal', input: '1', lineEnding: 'lf' }), undefined);
  assert.equal(core.parseWebviewMessage(null), undefined);
  assert.equal(core.parseWebviewMessage({ type: 'nope' }), undefined);
  assert.deepEqual(core.parseWebviewMessage({ type: 'filter', spec: { directions: ['sent', 'bogus'], text: 'a', minSize: 'x' } }),
    { type: 'filter', spec: { directions: ['sent'], text: 'a', hex: undefined, minSize: undefined, maxSize: undefined, events: undefined, highlight: undefined } });
});

test('webview envelopes are validated: a number, then a valid body', () => {
  assert.deepEqual(core.parseWebviewEnvelope({ messageId: 3, body: { type: 'select', seq: 4 } }), { messageId: 3, body: { type: 'select', seq: 4 } });
  assert.equal(core.parseWebviewEnvelope({ body: { type: 'select', seq: 4 } }), undefined);
  assert.equal(core.parseWebviewEnvelope({ messageId: -1, body: { type: 'clear' } }), undefined);
  assert.equal(core.parseWebviewEnvelope({ messageId: 1, body: { type: 'nope' } }), undefined);
  assert.equal(core.isRequest({ type: 'select', seq: 1 }), true);
  assert.equal(core.isRequest({ type: 'copy', seq: 1, format: 'hex' }), false);
});

test('messaging: each reply settles the request it names, in whatever order replies come; failures reject', async () => {
  const toHost = [];
  const requester = new core.Requester((envelope) => toHost.push(envelope));
  const toPage = [];
  const responder = new core.Responder((envelope) => toPage.push(envelope));
  const first = requester.request({ type: 'select', seq: 1 });
  requester.notify({ type: 'clear' });
  const second = requester.request({ type: 'pause', paused: true });
  const third = requester.request({ type: 'select', seq: 2 });
  assert.deepEqual(toHost.map((e) => e.messageId), [1, 2, 3, 4], 'every message is numbered');
  // The host answers out of order, and pushes in between.
  responder.push({ type: 'stats', stats: {} });
  responder.reply(toHost[2].messageId, { paused: true });
  responder.fail(toHost[3].messageId, 'boom');
  responder.reply(toHost[0].messageId, { found: false });
  for (const envelope of toPage) if (envelope.inReplyTo !== undefined) assert.equal(requester.settle(envelope), true);
  assert.deepEqual(await first, { found: false });
  assert.deepEqual(await second, { paused: true });
  await assert.rejects(third, (error) => error.code === 'REQUEST_FAILED' && error.requestType === 'select' && error.message === 'boom');
  assert.equal(requester.pendingCount, 0);
  assert.equal(requester.settle({ messageId: 9, inReplyTo: 1, body: {} }), false, 'a second reply to the same request is ignored');
  assert.equal(toPage[0].inReplyTo, undefined, 'a push names no request');
  assert.deepEqual(toPage[0].body, { type: 'stats', stats: {} }, 'a push carries its body');
  assert.deepEqual(toPage.map((e) => e.messageId), [1, 2, 3, 4], 'pushes, replies and failures are numbered alike, in order');
  await third.catch((error) => assert.equal(error.name, 'RequestFailedError'));
});

test('messaging: answerRequest replies with the handler of the request type, or with the error it threw', async () => {
  const sent = [];
  const responder = new core.Responder((envelope) => sent.push(envelope));
  const handlers = {
    select: (request) => ({ found: request.seq === 7 }),
    pause: async () => { throw new Error('not now'); },
  };
  await core.answerRequest(handlers, 11, { type: 'select', seq: 7 }, responder);
  await assert.rejects(core.answerRequest(handlers, 12, { type: 'pause', paused: true }, responder), /not now/);
  assert.deepEqual(sent, [{ messageId: 1, inReplyTo: 11, body: { found: true } }, { messageId: 2, inReplyTo: 12, error: 'not now' }]);
});

test('capture: keeps small messages as copies in shared blocks, large ones as they are', () => {
  const capture = new core.Capture();
  const own = new Uint8Array([4, 5]);
  const small = capture.addMessage('sent', own, 2);
  own[0] = 9;
  assert.deepEqual([...small.data], [4, 5], 'a copy: changing what it was given changes nothing kept');
  assert.deepEqual(capture.get(small.seq).data, small.data);
  assert.equal(capture.get(small.seq).data.buffer, small.data.buffer, 'kept where it was copied to');
  const next = capture.addMessage('received', new Uint8Array(core.BLOCK_COPY_MAX_BYTES).fill(7), 3);
  assert.equal(next.data.buffer, small.data.buffer, 'small messages share one block');
  assert.equal(next.data.byteOffset, small.data.byteOffset + 2, 'one after the other');
  assert.ok(next.data.every((b) => b === 7) && next.data.byteLength === core.BLOCK_COPY_MAX_BYTES);
  const filed = capture.addEntry({ kind: 'message', seq: 0, direction: 'sent', timestamp: 4, length: 3, data: new Uint8Array([1, 2, 3]) });
  assert.equal(filed.data.buffer, small.data.buffer, 'entries read from a file are copied alike');
  const large = new Uint8Array(core.BLOCK_COPY_MAX_BYTES + 1);
  assert.equal(capture.addMessage('sent', large, 5).data, large, 'a large message is kept as it is (in memory of its own)');
  assert.equal(capture.addEntry({ kind: 'message', seq: 0, direction: 'sent', timestamp: 6, length: large.length, data: large }).data, large);
  const shared = new Uint8Array(3 * large.length).fill(3);
  const view = shared.subarray(large.length, 2 * large.length);
  const kept = capture.addMessage('received', view, 7).data;
  assert.notEqual(kept.buffer, shared.buffer, 'a large view of a larger buffer is copied: keeping it would keep the buffer');
  assert.equal(kept.buffer.byteLength, large.length, 'into memory of its own');
  assert.ok(kept.every((b) => b === 3));
});

test('capture: a large message that is a view at offset 0 of a larger buffer is copied; one that is its whole buffer is not', () => {
  // The observer source passes views into one buffer per batch (batch.payload(i)): message 0 starts at its offset 0.
  const capture = new core.Capture();
  const size = core.BLOCK_COPY_MAX_BYTES + 1;
  const batch = new Uint8Array(2 * size).fill(6);
  const first = batch.subarray(0, size);
  const kept = capture.addMessage('received', first, 1).data;
  assert.notEqual(kept.buffer, batch.buffer, 'a view at offset 0 of a larger buffer is copied: keeping it would keep the buffer');
  assert.equal(kept.buffer.byteLength, size, 'into memory of its own');
  assert.equal(kept.byteOffset, 0);
  assert.ok(kept.length === size && kept.every((b) => b === 6));
  batch.fill(1);
  assert.ok(kept.every((b) => b === 6), 'a copy: the batch reused changes nothing kept');
  // The same through the copier alone, and the cases kept as they are: a view of its whole buffer, at offset 0.
  const copier = new core.BlockCopier(8, 4);
  const larger = new Uint8Array(12).fill(2);
  const head = copier.keep(larger.subarray(0, 5));
  assert.notEqual(head.buffer, larger.buffer);
  assert.deepEqual([head.byteOffset, head.byteLength, head.buffer.byteLength], [0, 5, 5]);
  const whole = new Uint8Array(new ArrayBuffer(5));
  assert.equal(copier.keep(whole), whole, 'a view of its whole buffer is kept as it is');
  const fromFile = capture.addEntry({ kind: 'message', seq: 0, direction: 'sent', timestamp: 2, length: size, data: batch.subarray(0, size) });
  assert.notEqual(fromFile.data.buffer, batch.buffer, 'entries read from a file alike');
});

test('blocks: a copy that does not fit the block starts a new one; refused sizes', () => {
  const copier = new core.BlockCopier(8, 4);
  const a = copier.keep(new Uint8Array([1, 2, 3]));
  const b = copier.keep(new Uint8Array([4, 5, 6, 7]));
  const c = copier.keep(new Uint8Array([8, 9]));
  assert.equal(b.buffer, a.buffer, '3 + 4 bytes fit a block of 8');
  assert.notEqual(c.buffer, a.buffer, '7 + 2 do not: a new block');
  assert.equal(c.byteOffset, 0);
  assert.equal(a.buffer.byteLength, 8);
  assert.deepEqual([[...a], [...b], [...c]], [[1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const d = copier.keep(new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.equal(d.buffer.byteLength, 6, 'over the copy limit: kept as it is');
  assert.equal(copier.keep(new Uint8Array(0)).byteLength, 0);
  assert.throws(() => new core.BlockCopier(4, 5), { name: 'RangeError', message: 'a block must hold at least one copy of the largest size copied' });
  assert.throws(() => new core.BlockCopier(0, 0), RangeError);
  assert.throws(() => new core.BlockCopier(4, -1), RangeError, 'a negative copy limit');
});

test('blocks: a copy that exactly fills the rest of a block goes in it; the smallest sizes allowed', () => {
  const copier = new core.BlockCopier(8, 4);
  const a = copier.keep(new Uint8Array([1, 2, 3, 4]));
  const b = copier.keep(new Uint8Array([5, 6, 7, 8]));
  assert.equal(b.buffer, a.buffer, '4 + 4 bytes fill a block of 8');
  assert.deepEqual([[...a], [...b]], [[1, 2, 3, 4], [5, 6, 7, 8]]);
  // A block as large as the largest copy, a one-byte block, a copier that copies nothing but empty messages.
  const exact = new core.BlockCopier(4, 4);
  assert.equal(exact.keep(new Uint8Array(4)).buffer.byteLength, 4);
  assert.equal(new core.BlockCopier(1, 1).keep(Uint8Array.of(9))[0], 9);
  const none = new core.BlockCopier(1, 0);
  const one = Uint8Array.of(1);
  assert.equal(none.keep(one), one, 'one byte is over its copy limit: kept as it is');
});

test('feed: no post carries more than MAX_ROWS_PER_POST rows; a large reset goes out in order, one chunk per turn', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  const total = 2 * core.MAX_ROWS_PER_POST + 10;
  for (let i = 0; i < total; i++) capture.addMessage('received', enc(`m${i}`), i);
  feed.attach();
  assert.equal(posts.length, 1);
  assert.equal(posts[0].type, 'reset');
  assert.equal(posts[0].rows.length, core.MAX_ROWS_PER_POST);
  assert.equal(posts[0].retained, total, 'the reset says how many rows are retained in all');
  // A message that arrives meanwhile comes after the backlog.
  capture.addMessage('sent', enc('late'), total);
  scheduler.advance(0);
  assert.equal(posts.length, 2);
  assert.equal(posts[1].type, 'append');
  assert.equal(posts[1].rows.length, core.MAX_ROWS_PER_POST);
  scheduler.advance(0);
  assert.equal(posts.length, 3);
  assert.deepEqual(posts[2].rows.map((r) => r.preview), [...Array.from({ length: 10 }, (_, k) => `m${total - 10 + k}`), 'late']);
  const seqs = posts.flatMap((p) => p.rows.map((r) => r.seq));
  assert.deepEqual(seqs, Array.from({ length: total + 1 }, (_, k) => k), 'every row once, in order');
  scheduler.advance(1000);
  assert.equal(posts.length, 3, 'nothing more to post');
  feed.dispose();
});

test('feed: a filtered reset also goes out MAX_ROWS_PER_POST rows at a time, the rest in the next turns, each row once', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture();
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  const matching = core.MAX_ROWS_PER_POST + 5;
  for (let i = 0; i < matching; i++) {
    capture.addMessage('sent', enc(`s${i}`), 2 * i);
    capture.addMessage('received', enc(`r${i}`), 2 * i + 1);
  }
  feed.attach();
  feed.setFilter({ directions: ['sent'] });
  const reset = posts.at(-1);
  assert.equal(reset.type, 'reset');
  assert.equal(reset.rows.length, core.MAX_ROWS_PER_POST);
  scheduler.advance(0);
  assert.equal(posts.at(-1).type, 'append', 'the rest goes out on the next turn, without a new message');
  assert.deepEqual([...reset.rows, ...posts.at(-1).rows].map((r) => r.preview), Array.from({ length: matching }, (_, i) => `s${i}`));
  const count = posts.length;
  scheduler.advance(1000);
  assert.equal(posts.length, count, 'nothing more to post: no empty append');
  feed.dispose();
});

test('feed: the pending rows of a filtered list stay bounded by the retention and keep every retained one', () => {
  const scheduler = fakeScheduler();
  const capture = new core.Capture({ maxMessages: 3, maxBytes: 1e9 });
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), scheduler, 50);
  feed.attach();
  feed.setFilter({ text: 'm' });
  // Seven matching messages within one interval: more than twice the retention wait, so the list is trimmed to what
  // is still retained (4, 5, 6) before the flush.
  for (let i = 0; i < 7; i++) capture.addMessage('sent', enc(`m${i}`), i);
  scheduler.advance(100);
  assert.deepEqual(posts.at(-1).rows.map((r) => r.preview), ['m4', 'm5', 'm6']);
  feed.dispose();
});

test('row batches: every field of every kind of row survives the trip to the webview', () => {
  const rows = [
    { seq: 0, t: 1764512345678.125, delta: undefined, kind: 'event', len: 0, captured: 0, preview: 'peer attached', event: 'attached' },
    { seq: 1, t: 1764512345679.5, delta: 1.375, kind: 'message', dir: 'sent', len: 70000, captured: 64, preview: 'héllo ✓ 🚀…' },
    { seq: 2, t: 1764512345680, delta: 0, kind: 'message', dir: 'received', len: 0, captured: 0, preview: '', match: false },
    { seq: 7, t: 1764512345681, delta: 1, kind: 'message', dir: 'to-client', len: 3, captured: 3, preview: '00 ff 01', match: true,
      fields: ['1', '—'] },
    { seq: 2 ** 40, t: 1, delta: 1e-3, kind: 'message', dir: 'to-server', len: 2 ** 32 + 1, captured: 5, preview: 'other', channel: 'b' },
  ];
  const batch = core.encodeRows(rows);
  assert.equal(batch.count, rows.length);
  // One buffer for all columns: VS Code sends it once, as bytes.
  assert.equal(batch.flags.buffer, batch.numbers.buffer);
  assert.equal(batch.previewEnds.buffer, batch.numbers.buffer);
  assert.deepEqual(core.decodeRows(batch), rows.map((row) => ({ ...row, delta: row.delta })));
  assert.deepEqual(core.decodeRows(core.encodeRows([])), []);
  // Only rows with more than the columns carry an extra, and only what they have: a plain row costs no object.
  assert.deepEqual(batch.extras, [{ index: 0, event: 'attached' }, { index: 3, fields: ['1', '—'] }, { index: 4, channel: 'b' }]);
});
