// The inspector's webview → host messages (extension/src/inspector/shared/protocol.ts): every message type with
// what it accepts, at each limit and one past it, and what it makes of fields it does not know. The webview is not
// trusted: anything malformed is undefined, and only the known fields come through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const parse = (value) => core.parseWebviewMessage(value);
const paths = (n, length = 1) => Array.from({ length: n }, (_, i) => `${i}`.padEnd(length, 'x'));

test('protocol: anything that is not an object with a known string type is undefined', () => {
  for (const value of [null, undefined, 'ready', 5, [], {}, { type: 5 }, { type: 'nope' }, { type: 'Ready' }, { type: 'constructor' }]) {
    assert.equal(parse(value), undefined, JSON.stringify(value));
  }
});

test('protocol: the messages without fields keep only their type', () => {
  for (const type of ['ready', 'clear', 'sendFile', 'record', 'stopRecording']) {
    assert.deepEqual(parse({ type, seq: 1, extra: 'x' }), { type });
  }
});

test('protocol: a filter keeps the fields of the right type, directions it knows, and finite sizes', () => {
  assert.deepEqual(parse({ type: 'filter', spec: { directions: ['sent', 'up', 'to-client', 7], text: 'a', hex: '0a', minSize: 0, maxSize: 10,
    events: false, highlight: true, fields: 'a.b == 1', other: 1 } }),
  { type: 'filter', spec: { directions: ['sent', 'to-client'], text: 'a', hex: '0a', minSize: 0, maxSize: 10, events: false, highlight: true, fields: 'a.b == 1' } });
  const none = { directions: undefined, text: undefined, hex: undefined, minSize: undefined, maxSize: undefined, events: undefined, highlight: undefined };
  const wrong = parse({ type: 'filter', spec: { directions: 'sent', text: 1, hex: 2, minSize: Infinity, maxSize: NaN, events: 'yes', highlight: 1, fields: 3 } });
  assert.deepEqual(wrong, { type: 'filter', spec: none });
  assert.equal('fields' in wrong.spec, false, 'no fields key for a field filter of the wrong type');
  assert.deepEqual(parse({ type: 'filter', spec: {} }), { type: 'filter', spec: none });
  assert.deepEqual(parse({ type: 'filter', spec: { minSize: '5', maxSize: -Infinity } }).spec, none);
  for (const spec of [undefined, null, 'text']) assert.equal(parse({ type: 'filter', spec }), undefined, String(spec));
});

test('protocol: a seq is a whole number from 0', () => {
  for (const type of ['select', 'saveBytes']) {
    assert.deepEqual(parse({ type, seq: 0, extra: 1 }), { type, seq: 0 });
    assert.deepEqual(parse({ type, seq: 2 ** 40 }), { type, seq: 2 ** 40 });
    for (const seq of [-1, 1.5, '1', NaN, Infinity, undefined]) assert.equal(parse({ type, seq }), undefined, `${type} ${seq}`);
  }
});

test('protocol: form and encode requests', () => {
  assert.deepEqual(parse({ type: 'form' }), { type: 'form' });
  assert.equal('messageType' in parse({ type: 'form' }), false);
  assert.deepEqual(parse({ type: 'form', messageType: 'struct m' }), { type: 'form', messageType: 'struct m' });
  assert.deepEqual(parse({ type: 'form', messageType: 'x'.repeat(256) }), { type: 'form', messageType: 'x'.repeat(256) });
  assert.equal(parse({ type: 'form', messageType: 'x'.repeat(257) }), undefined);
  assert.equal(parse({ type: 'form', messageType: 5 }), undefined);
  assert.equal(parse({ type: 'form', messageType: null }), undefined);
  assert.deepEqual(parse({ type: 'encode', messageType: 'm', values: { a: '1', 'b.c': 'x' }, extra: 1 }),
    { type: 'encode', messageType: 'm', values: { a: '1', 'b.c': 'x' } });
  assert.deepEqual(parse({ type: 'encode', messageType: 'm', values: {} }), { type: 'encode', messageType: 'm', values: {} });
  const many = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, '0']));
  assert.equal(Object.keys(parse({ type: 'encode', messageType: 'm', values: many(4096) }).values).length, 4096);
  assert.equal(parse({ type: 'encode', messageType: 'm', values: many(4097) }), undefined);
  assert.equal(parse({ type: 'encode', messageType: 'm', values: { a: 1 } }), undefined);
  assert.equal(parse({ type: 'encode', messageType: 'm', values: { a: '1', b: null } }), undefined);
  assert.equal(parse({ type: 'encode', messageType: 'm', values: null }), undefined);
  assert.equal(parse({ type: 'encode', messageType: 'm', values: 'a=1' }), undefined);
  assert.equal(parse({ type: 'encode', messageType: 5, values: {} }), undefined);
  assert.equal(parse({ type: 'encode', values: {} }), undefined);
});

test('protocol: columns and plot take up to MAX_PLOTTED_FIELDS paths of 1 to 256 characters', () => {
  assert.equal(core.MAX_PLOTTED_FIELDS, 8);
  for (const type of ['columns', 'plot']) {
    assert.deepEqual(parse({ type, paths: [] }), { type, paths: [] });
    assert.deepEqual(parse({ type, paths: paths(8), extra: 1 }), { type, paths: paths(8) });
    assert.deepEqual(parse({ type, paths: ['x'.repeat(256)] }), { type, paths: ['x'.repeat(256)] });
    for (const bad of [paths(9), [''], ['x'.repeat(257)], ['a', 5], [['a']], [{ length: 1 }], 'a', undefined]) {
      assert.equal(parse({ type, paths: bad }), undefined, `${type} ${JSON.stringify(bad)?.slice(0, 40)}`);
    }
  }
});

test('protocol: pause, lossless, send, copy, openInEditor and export', () => {
  assert.deepEqual(parse({ type: 'pause', paused: true }), { type: 'pause', paused: true });
  assert.deepEqual(parse({ type: 'pause', paused: false }), { type: 'pause', paused: false });
  assert.equal(parse({ type: 'pause', paused: 1 }), undefined);
  assert.equal(parse({ type: 'pause' }), undefined);
  assert.deepEqual(parse({ type: 'lossless', on: false }), { type: 'lossless', on: false });
  assert.deepEqual(parse({ type: 'lossless', on: true }), { type: 'lossless', on: true });
  assert.equal(parse({ type: 'lossless', on: 'true' }), undefined);
  for (const format of ['text', 'hex', 'base64']) {
    for (const lineEnding of ['none', 'lf', 'crlf']) {
      assert.deepEqual(parse({ type: 'send', format, input: 'x', lineEnding, extra: 1 }), { type: 'send', format, input: 'x', lineEnding });
    }
  }
  for (const bad of [{ format: 'octal' }, { format: undefined }, { lineEnding: 'cr' }, { lineEnding: undefined }, { input: 5 }, { input: undefined }]) {
    assert.equal(parse({ type: 'send', format: 'text', input: '', lineEnding: 'none', ...bad }), undefined, JSON.stringify(bad));
  }
  for (const format of ['text', 'hex', 'base64']) {
    assert.deepEqual(parse({ type: 'copy', seq: 3, format }), { type: 'copy', seq: 3, format, start: undefined, end: undefined });
  }
  assert.deepEqual(parse({ type: 'copy', seq: 3, format: 'hex', start: 0, end: 4 }), { type: 'copy', seq: 3, format: 'hex', start: 0, end: 4 });
  assert.deepEqual(parse({ type: 'copy', seq: 3, format: 'hex', start: -1, end: 0.5 }), { type: 'copy', seq: 3, format: 'hex', start: undefined, end: undefined });
  assert.equal(parse({ type: 'copy', seq: -1, format: 'hex' }), undefined);
  assert.equal(parse({ type: 'copy', seq: 1, format: 'json' }), undefined);
  for (const format of ['text', 'hex', 'json']) assert.deepEqual(parse({ type: 'openInEditor', seq: 0, format, extra: 1 }), { type: 'openInEditor', seq: 0, format });
  assert.equal(parse({ type: 'openInEditor', seq: 0, format: 'base64' }), undefined);
  assert.equal(parse({ type: 'openInEditor', seq: 0.5, format: 'text' }), undefined);
  for (const format of ['jsonl', 'pcapng']) {
    for (const filtered of [true, false]) assert.deepEqual(parse({ type: 'export', format, filtered, extra: 1 }), { type: 'export', format, filtered });
  }
  assert.equal(parse({ type: 'export', format: 'csv', filtered: true }), undefined);
  assert.equal(parse({ type: 'export', format: 'jsonl' }), undefined);
});

test('protocol: envelopes and which messages are requests', () => {
  assert.deepEqual(core.parseWebviewEnvelope({ messageId: 0, body: { type: 'clear' }, extra: 1 }), { messageId: 0, body: { type: 'clear' } });
  for (const messageId of [-1, 0.5, '1', undefined]) assert.equal(core.parseWebviewEnvelope({ messageId, body: { type: 'clear' } }), undefined);
  assert.equal(core.parseWebviewEnvelope({ messageId: 1 }), undefined);
  assert.equal(core.parseWebviewEnvelope(null), undefined);
  const requests = ['ready', 'select', 'filter', 'pause', 'send', 'plot', 'form', 'encode', 'columns', 'lossless'];
  const notifications = ['clear', 'sendFile', 'record', 'stopRecording', 'saveBytes', 'copy', 'openInEditor', 'export'];
  for (const type of requests) assert.equal(core.isRequest({ type }), true, type);
  for (const type of notifications) assert.equal(core.isRequest({ type }), false, type);
});
