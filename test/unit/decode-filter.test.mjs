// Decoded views' pure parts: the field filter (`type == 2 && sample.value > 10`), the inspector's list filter with
// a schema, the ViewFeed following a schema change, and the wire form of decoded messages (64-bit values as text,
// the field of a selected byte).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asShown, loadCore, loadDecode } from './inspector-core.mjs';

const core = await loadCore();
const d = await loadDecode();

const HEADER = `
enum msg_type { MSG_HELLO = 1, MSG_SAMPLE = 2 };
enum colour { RED, GREEN };
struct hello { uint16_t type; char name[6]; };
struct sample { uint16_t type; enum colour colour : 8; uint8_t pad; int32_t value; uint64_t stamp; };
`;
const schema = d.compileMessageSchema(d.parseCSchema(HEADER), {
  tag: { offset: 0, type: 'uint16_t' }, cases: { MSG_HELLO: 'struct hello', MSG_SAMPLE: 'struct sample' },
});

function sample(value, { colour = 0, stamp = 1n, type = 2 } = {}) {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(type, 0);
  b.writeUInt8(colour, 2);
  b.writeInt32LE(value, 4);
  b.writeBigUInt64LE(stamp, 8);
  return b;
}
const hello = (name) => Buffer.concat([Buffer.from([1, 0]), Buffer.from(name.padEnd(6, '\0'))]);

function matches(filter, bytes) {
  return d.compileFieldFilter(filter, schema.constants)(schema.decode(bytes));
}

test('comparisons, && || ! and parentheses over decoded fields', () => {
  assert.equal(matches('type == 2 && sample.value > 10', sample(11)), true);
  assert.equal(matches('type == 2 && sample.value > 10', sample(10)), false);
  assert.equal(matches('type == 2 && sample.value > 10', hello('x')), false, 'a hello has no sample.value');
  assert.equal(matches('value >= -5 && value <= -5', sample(-5)), true);
  assert.equal(matches('value != 3', sample(3)), false);
  assert.equal(matches('value < 3 || type == 1', hello('a')), true);
  assert.equal(matches('!(value < 3)', sample(3)), true);
  assert.equal(matches('!(value < 3)', hello('a')), true, 'not of a missing field is true');
  assert.equal(matches('(type == 1 || type == 2) && !(value == 7)', sample(8)), true);
  assert.equal(matches('value', sample(0)), false, 'a bare field is true when non-zero');
  assert.equal(matches('value', sample(4)), true);
});

test('names: schema constants, enum value names, strings, 64-bit values, hex', () => {
  assert.equal(matches('type == MSG_SAMPLE', sample(1)), true);
  assert.equal(matches('type == MSG_HELLO', sample(1)), false);
  assert.equal(matches('colour == GREEN', sample(1, { colour: 1 })), true);
  assert.equal(matches('colour == RED', sample(1, { colour: 1 })), false);
  assert.equal(matches('colour != RED', sample(1, { colour: 1 })), true);
  assert.equal(matches('GREEN == colour', sample(1, { colour: 1 })), true, 'the name may come first');
  assert.equal(matches('colour == 1', sample(1, { colour: 1 })), true);
  assert.equal(matches('hello.name == "left"', hello('left')), true);
  assert.equal(matches('name == "left"', hello('right')), false);
  assert.equal(matches('name > 3', hello('right')), false, 'text never orders against numbers');
  assert.equal(matches('stamp == 18446744073709551615', sample(1, { stamp: 0xffffffffffffffffn })), true);
  assert.equal(matches('stamp > 9007199254740993', sample(1, { stamp: 9007199254740994n })), true, 'exact above 2^53');
  assert.equal(matches('stamp > 9007199254740993', sample(1, { stamp: 9007199254740993n })), false);
  assert.equal(matches('value == 0x10', sample(16)), true);
  assert.equal(matches('type == 2', Buffer.from([2])), false, 'a message too short for its tag matches nothing');
});

test('bad filters are refused with a SchemaError SYNTAX', () => {
  for (const text of ['type ==', 'type == 2 &&', '(type == 2', 'type = 2', 'type == 2 )', '"unterminated', '@']) {
    assert.throws(() => d.compileFieldFilter(text), (e) => e.code === 'SYNTAX' && /field filter/.test(e.message), text);
  }
});

test('the list filter applies the field filter with the channel schema, and refuses it without one', () => {
  const entry = (data) => ({ kind: 'message', seq: 0, direction: 'received', timestamp: 0, length: data.length, data });
  const f = core.compileFilter({ fields: 'value > 10', directions: ['received'] }, schema);
  assert.equal(f.isEmpty, false);
  assert.equal(f.matches(entry(sample(11))), true);
  assert.equal(f.matches(entry(sample(9))), false);
  assert.equal(f.matches({ ...entry(sample(11)), direction: 'sent' }), false);
  assert.equal(f.matches({ kind: 'event', seq: 1, timestamp: 0, event: 'peer-gone', detail: '' }), true, 'events are kept');
  assert.equal(core.compileFilter({ fields: '  ' }, undefined).isEmpty, true, 'blank is no filter');
  assert.throws(() => core.compileFilter({ fields: 'value > 10' }), /no schema/);
  assert.equal(core.parseWebviewMessage({ type: 'filter', spec: { fields: 'value > 1' } }).spec.fields, 'value > 1');
  assert.equal('fields' in core.parseWebviewMessage({ type: 'filter', spec: { fields: 3 } }).spec, false, 'only text is a field filter');
});

test('the view feed re-applies its field filter when the schema changes, and drops it when the schema goes', () => {
  const capture = new core.Capture({ maxMessages: 100, maxBytes: 1 << 20 });
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} });
  feed.setDecoder(schema);
  feed.attach();
  capture.addMessage('received', sample(5), 0);
  capture.addMessage('received', sample(50), 0);
  feed.setFilter({ fields: 'value > 10' });
  assert.deepEqual(feed.matchingSeqs().length, 1);
  feed.setDecoder(undefined);
  assert.equal(feed.filterInEffect.fields, undefined, 'a field filter without a schema is dropped');
  assert.equal(feed.matchingSeqs().length, 2);
  feed.dispose();
});

test('wire form: 64-bit values as decimal text, the field of a byte is the deepest that holds it', () => {
  const wire = core.decodedToWire(schema.decode(sample(-3, { stamp: 0xfffffffffffffffen })));
  assert.equal(wire.type, 'struct sample');
  const stamp = wire.root.children.find((f) => f.name === 'stamp');
  assert.deepEqual([stamp.value, stamp.big], ['18446744073709551614', true]);
  assert.equal(JSON.parse(JSON.stringify(wire)).root.children[3].value, -3, 'survives JSON');
  assert.equal(core.fieldAtOffset(wire.root, 0).path, 'type');
  assert.equal(core.fieldAtOffset(wire.root, 2).path, 'colour');
  assert.equal(core.fieldAtOffset(wire.root, 3).path, 'pad');
  assert.equal(core.fieldAtOffset(wire.root, 15).path, 'stamp');
  assert.equal(core.fieldAtOffset(wire.root, 16), undefined, 'past the struct');
  const grid = core.decodedToWire(d.decodeAs(d.parseCSchema('struct g { struct { uint8_t a; uint16_t b[2]; } in; };').lookup('g'), new Uint8Array(6)));
  assert.equal(core.fieldAtOffset(grid.root, 4).path, 'in.b[1]');
});

test('the plot feed: a reset with the retained messages, then batched appends per interval; values per direction', () => {
  const capture = new core.Capture({ maxMessages: 100, maxBytes: 1 << 20 });
  const pushes = [];
  const timers = [];
  const scheduler = { now: () => 0, setTimeout: (cb) => { timers.push(cb); return timers.length; }, clearTimeout: () => {} };
  const feed = new core.PlotFeed(capture, (p) => pushes.push(p), scheduler, 100);
  capture.addMessage('received', sample(5, { stamp: 3n }), 1000);
  capture.addMessage('sent', hello('x'), 1001);
  capture.addEvent('peer-gone', '', 1002);
  feed.set(['value', 'stamp', 'colour'], schema);
  assert.equal(pushes.length, 1);
  assert.deepEqual(pushes[0], { type: 'plot', paths: ['value', 'stamp', 'colour'], reset: true,
    columns: { t: [1000, 1001], dir: ['received', 'sent'], values: [[5, null], [3, null], [0, null]] } });
  capture.addMessage('received', sample(7), 2000);
  capture.addMessage('received', sample(8), 2001);
  assert.equal(pushes.length, 1, 'nothing is posted before the interval');
  assert.equal(timers.length, 1, 'one timer for the batch');
  timers.shift()();
  assert.deepEqual(pushes[1].columns.values[0], [7, 8]);
  assert.equal(pushes[1].reset, false);
  capture.clear();
  assert.equal(pushes.at(-1).reset, true, 'a cleared capture resets the plot');
  assert.deepEqual(pushes.at(-1).columns.t, []);
  feed.set([], schema);
  capture.addMessage('received', sample(9), 3000);
  assert.equal(timers.length, 0, 'no plot, no work');
  feed.dispose();
  assert.equal(core.parseWebviewMessage({ type: 'plot', paths: ['a', 'b'] }).paths.length, 2);
  assert.equal(core.parseWebviewMessage({ type: 'plot', paths: Array(9).fill('a') }), undefined, 'at most 8 fields');
  assert.equal(core.parseWebviewMessage({ type: 'plot', paths: [3] }), undefined);
  assert.deepEqual(core.parseWebviewMessage({ type: 'form' }), { type: 'form' });
  assert.deepEqual(core.parseWebviewMessage({ type: 'form', messageType: 'struct a' }), { type: 'form', messageType: 'struct a' });
  assert.deepEqual(core.parseWebviewMessage({ type: 'encode', messageType: 'struct a', values: { x: '1' } }), { type: 'encode', messageType: 'struct a', values: { x: '1' } });
  assert.equal(core.parseWebviewMessage({ type: 'encode', messageType: 'struct a', values: { x: 1 } }), undefined, 'values are text');
});

test('decoded columns: rows carry one value per picked field, messages without one a dash, events nothing', () => {
  const capture = new core.Capture({ maxMessages: 100, maxBytes: 1 << 20 });
  const posts = [];
  const feed = new core.ViewFeed(capture, (m) => posts.push(asShown(core, m)), { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} });
  feed.setDecoder(schema);
  feed.attach();
  capture.addMessage('received', sample(21, { colour: 1 }), 0);
  capture.addMessage('sent', hello('left'), 0);
  capture.addEvent('peer-gone', '', 0);
  feed.setColumns(['value', 'colour', 'name']);
  const rows = posts.at(-1).rows;
  assert.equal(posts.at(-1).type, 'reset');
  assert.deepEqual(rows.map((r) => r.fields), [['21', 'GREEN (1)', '—'], ['—', '—', '"left"'], undefined]);
  feed.setColumns([]);
  assert.equal(posts.at(-1).rows[0].fields, undefined);
  assert.deepEqual(core.parseWebviewMessage({ type: 'columns', paths: ['a'] }), { type: 'columns', paths: ['a'] });
  assert.equal(core.parseWebviewMessage({ type: 'columns', paths: [''] }), undefined);
  feed.dispose();
});

test('plot decimation: few points are drawn as they are; many keep each pixel column\'s low and high of every line, in order', () => {
  const xs = [0, 1, 2];
  const ys = [[1, null, 3]];
  assert.deepEqual(core.decimate(xs, ys, 10), [xs, ...ys], 'at most two points per column: unchanged');
  // 1,000 points over 10 columns: a saw tooth per line (one line has a spike, one is empty in the first half).
  const n = 1000;
  const x = Array.from({ length: n }, (_, i) => i);
  const saw = x.map((i) => i % 100);
  const spike = x.map((i) => (i === 555 ? 1e6 : 0));
  const half = x.map((i) => (i < 500 ? null : -i));
  const [outX, outSaw, outSpike, outHalf] = core.decimate(x, [saw, spike, half], 10);
  assert.ok(outX.length <= 20, `at most two points per column (${outX.length})`);
  assert.deepEqual(outX.slice(0, 2), [0, 99], 'a column\'s first and last time');
  for (let i = 1; i < outX.length; i++) assert.ok(outX[i] > outX[i - 1], 'times ascend');
  assert.equal(Math.max(...outSaw), 99);
  assert.equal(Math.min(...outSaw), 0);
  assert.deepEqual(outSaw.slice(0, 2), [0, 99], 'the low came before the high');
  assert.ok(outSpike.includes(1e6), 'a one-sample spike is kept');
  assert.deepEqual(outHalf.slice(0, 10), Array(10).fill(null), 'no values in a column: a gap');
  assert.deepEqual(outHalf.slice(10, 12), [-500, -599], 'falling: the high (first) before the low');
});
