// JSON Lines captures (extension/src/inspector/shared/jsonl.ts and the decoder of captureFormat.ts): the writer's
// lines compared with literal text, the reader on hand-written lines (every malformed field named by its line, older
// exports without channel/text, several channels, a role that places sent/received), and the decoder on damaged input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const bytes = (s) => new TextEncoder().encode(s);
const HEADER = '{"type":"header","format":"sipc-capture","version":1,"channel":"c"}';

/** The error a JSON Lines text gives: its line and message. */
function failure(text) {
  try {
    core.parseJsonl(text);
  } catch (error) {
    assert.ok(error instanceof core.JsonlParseError);
    assert.equal(error.name, 'JsonlParseError');
    assert.equal(error.code, 'INVALID_CAPTURE');
    return { line: error.line, message: error.message };
  }
  assert.fail('parsed without an error');
}

test('jsonl writer: header, message and event lines, literally', () => {
  assert.equal(core.jsonlHeaderLine({ channel: 'c', mode: 'peer', exported: 0 }),
    '{"type":"header","format":"sipc-capture","version":1,"channel":"c","channels":["c"],"mode":"peer","exported":"1970-01-01T00:00:00.000Z","application":"sipc inspector"}');
  assert.equal(core.jsonlHeaderLine({ channel: 'c', mode: 'observer', exported: 1764000000123, channels: ['c', 'd'], application: 'tool', role: 'client' }),
    '{"type":"header","format":"sipc-capture","version":1,"channel":"c","channels":["c","d"],"mode":"observer","role":"client","exported":"2025-11-24T16:00:00.123Z","application":"tool"}');
  const time = '"time":"2025-11-24T16:00:00.123Z","timestampMs":1764000000123.456,"timestampNs":1764000000123456000';
  assert.equal(core.jsonlEntryLine({ kind: 'message', seq: 4, direction: 'to-server', timestamp: 1764000000123.456, length: 2, data: bytes('hi') }, 'c'),
    `{"type":"message","channel":"c","seq":4,${time},"direction":"to-server","length":2,"data":"aGk=","text":"hi"}`);
  assert.equal(core.jsonlEntryLine({ kind: 'message', seq: 5, direction: 'received', timestamp: 1764000000123.456, length: 10, data: Uint8Array.of(0xff, 0), channel: 'd' }, 'c'),
    `{"type":"message","channel":"d","seq":5,${time},"direction":"received","length":10,"captured":2,"data":"/wA="}`);
  assert.equal(core.jsonlEntryLine({ kind: 'event', seq: 6, timestamp: 1764000000123.456, event: 'peer-gone', detail: 'the "peer" left' }),
    `{"type":"event","channel":"","seq":6,${time},"event":"peer-gone","detail":"the \\"peer\\" left"}`);
  const lines = [...core.jsonlLines([{ kind: 'event', seq: 0, timestamp: 0, event: 'e', detail: '' }], { channel: 'c', mode: 'peer', exported: 0 })];
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('}\n')));
  assert.match(lines[1], /^\{"type":"event","channel":"c",/, 'an entry without a channel is the header\'s');
});

test('jsonl reader: the header gives channel, channels (strings, once each), mode, exported time, application and role', () => {
  const { header } = core.parseJsonl('{"type":"header","format":"sipc-capture","version":1,"channel":"c","channels":["c",7,"d","d"],"mode":"peer",'
    + '"exported":"2025-11-24T16:00:00.123Z","application":"tool","role":"server"}');
  assert.deepEqual(header, { channel: 'c', mode: 'peer', exported: 1764000000123, channels: ['c', 'd'], application: 'tool', role: 'server' });
  assert.deepEqual(core.parseJsonl(`${HEADER}\n`).header, { channel: 'c', mode: '', exported: NaN, channels: ['c'] }, 'an older export: only the channel');
  assert.deepEqual(core.parseJsonl('{"type":"header","format":"sipc-capture","version":1,"channel":"c","channels":"c","application":5,"role":"both","mode":3}').header,
    { channel: 'c', mode: '3', exported: NaN, channels: ['c'] }, 'fields of the wrong type are left out');
});

test('jsonl reader: messages and events, with their own channel only when it is not the header\'s, timestamps from ms or ns', () => {
  const reader = new core.JsonlReader();
  const lines = [
    HEADER,
    '',
    '{"type":"message","seq":1,"timestampMs":1.5,"direction":"to-server","length":2,"data":"aGk="}',
    '{"type":"message","channel":"c","seq":2,"timestampNs":2500000,"direction":"to-client","length":9,"data":"aGk="}',
    '{"type":"message","channel":"d","seq":3,"timestampMs":3,"timestampNs":999,"direction":"sent","length":0,"data":""}',
    '   ',
    '{"type":"event","channel":"e","seq":4,"timestampMs":4,"event":"peer-gone","detail":"bye"}',
    '{"type":"event","seq":5,"timestampMs":5,"event":"note"}',
  ];
  assert.equal(reader.header, undefined, 'no header before its line');
  const entries = lines.map((l) => reader.line(l));
  assert.equal(reader.header.channel, 'c');
  assert.equal(reader.linesRead, lines.length, 'blank lines are counted');
  assert.deepEqual(entries.filter(Boolean).map((e) => ({ ...e, ...(e.data ? { data: [...e.data] } : {}) })), [
    { kind: 'message', seq: 1, direction: 'to-server', timestamp: 1.5, length: 2, data: [104, 105] },
    { kind: 'message', seq: 2, direction: 'to-client', timestamp: 2.5, length: 9, data: [104, 105] },
    { kind: 'message', seq: 3, direction: 'sent', timestamp: 3, length: 0, data: [], channel: 'd' },
    { kind: 'event', seq: 4, timestamp: 4, event: 'peer-gone', detail: 'bye', channel: 'e' },
    { kind: 'event', seq: 5, timestamp: 5, event: 'note', detail: '' },
  ]);
  assert.deepEqual(reader.channels, ['c', 'd', 'e']);
  assert.deepEqual(reader.end(), { channel: 'c', mode: '', exported: NaN, channels: ['c'] });
  const longer = core.parseJsonl(`${HEADER}\n{"type":"message","seq":0,"timestampMs":0,"direction":"to-server","length":1,"data":"aGk="}`).entries[0];
  assert.equal(longer.length, 2, 'a length shorter than the data is the data\'s');
});

test('jsonl reader: sent/received of a file naming a server or client role come back in the channel\'s direction', () => {
  const rows = ['sent', 'received', 'to-server'].map((d, i) => `{"type":"message","seq":${i},"timestampMs":0,"direction":"${d}","length":0,"data":""}`);
  // The role is the header's channel's: a row of another channel keeps its direction (as the encoder wrote it).
  rows.push('{"type":"message","channel":"d","seq":3,"timestampMs":0,"direction":"sent","length":0,"data":""}');
  const read = (role) => core.parseJsonl([`{"type":"header","format":"sipc-capture","version":1,"channel":"c"${role ? `,"role":"${role}"` : ''}}`, ...rows].join('\n'))
    .entries.map((e) => e.direction);
  assert.deepEqual(read('server'), ['to-client', 'to-server', 'to-server', 'sent']);
  assert.deepEqual(read('client'), ['to-server', 'to-client', 'to-server', 'sent']);
  assert.deepEqual(read('observer'), ['sent', 'received', 'to-server', 'sent']);
  assert.deepEqual(read(undefined), ['sent', 'received', 'to-server', 'sent']);
});

test('jsonl reader: every malformed line is an error naming its line', () => {
  const message = (fields) => JSON.stringify({ type: 'message', seq: 0, timestampMs: 0, direction: 'to-server', length: 0, data: '', ...fields });
  const event = (fields) => JSON.stringify({ type: 'event', seq: 0, timestampMs: 0, event: 'e', ...fields });
  const cases = [
    ['{"type":', 'not JSON'], ['[1]', 'not an object'], ['null', 'not an object'], ['7', 'not an object'], ['"text"', 'not an object'],
    [HEADER, 'a second header line'],
    [message({ channel: 5 }), 'the channel is not a string'],
    [message({ direction: 'up' }), 'malformed message'], [message({ data: 5 }), 'malformed message'],
    [message({ seq: 'x' }), 'malformed message'], [message({ seq: null }), 'malformed message'],
    [message({ timestampMs: undefined }), 'malformed message'], [message({ timestampMs: 'x' }), 'malformed message'],
    [message({ length: '3' }), 'malformed message'], [message({ timestampMs: undefined, timestampNs: '5000000' }), 'malformed message'],
    [event({ seq: 'x' }), 'malformed event'], [event({ event: 5 }), 'malformed event'], [event({ timestampMs: undefined }), 'malformed event'],
    ['{"type":"other","seq":0}', 'unknown line type "other"'], ['{"seq":0}', 'unknown line type undefined'],
  ];
  for (const [line, reason] of cases) {
    assert.deepEqual(failure(`${HEADER}\n\n${line}\n`), { line: 3, message: `line 3: ${reason}` }, line);
  }
  assert.match(failure(`${HEADER}\n${message({ data: '@@@' })}`).message, /^line 2: malformed message data: ./);
  for (const header of ['{"type":"header","format":"other","version":1,"channel":"c"}', '{"type":"header","format":"sipc-capture","version":2,"channel":"c"}']) {
    assert.deepEqual(failure(header), { line: 1, message: 'line 1: unknown format or version' });
  }
  assert.deepEqual(failure('{"type":"header","format":"sipc-capture","version":1,"channel":3}'), { line: 1, message: 'line 1: the header names no channel' });
  assert.deepEqual(failure(`\n${message({})}`), { line: 2, message: 'line 2: missing header line' });
  assert.deepEqual(failure(''), { line: 1, message: 'line 1: missing header line (is this a sipc capture?)' });
  assert.throws(() => new core.JsonlReader().end(), /missing header line \(is this a sipc capture\?\)/);
});

test('capture decoder (JSON Lines): a byte-order mark, lines cut across chunks, a last line without a newline', () => {
  const text = `\ufeff${HEADER}\n{"type":"event","seq":0,"timestampMs":1,"event":"a"}\r\n{"type":"event","seq":1,"timestampMs":2,"event":"b","detail":"é"}`;
  const file = bytes(text);
  for (const size of [1, 2, 5, file.length]) {
    const decoder = new core.CaptureDecoder();
    const entries = [];
    for (let at = 0; at < file.length; at += size) entries.push(...decoder.push(file.subarray(at, at + size)));
    entries.push(...decoder.end());
    assert.deepEqual(entries.map((e) => [e.event, e.detail]), [['a', ''], ['b', 'é']], `chunks of ${size}`);
    assert.equal(decoder.detectedFormat, 'jsonl');
    assert.equal(decoder.channel, 'c');
  }
});

test('capture decoder (JSON Lines): the lines before a bad one are handed out, then the error', () => {
  const good = `${HEADER}\n{"type":"event","seq":0,"timestampMs":1,"event":"a"}\n`;
  const decoder = new core.CaptureDecoder();
  assert.deepEqual(decoder.push(bytes(`${good}{"type":"event"}\n{"type":"event","seq":2,"timestampMs":1,"event":"c"}\n`)).map((e) => e.event), ['a']);
  assert.throws(() => decoder.end(), { message: 'line 3: malformed event' });
  assert.throws(() => decoder.push(bytes('\n')), { message: 'line 3: malformed event' });
  const first = new core.CaptureDecoder();
  assert.throws(() => first.push(bytes(`${HEADER}\n{"type":1}\n`)), { message: 'line 2: unknown line type 1' }, 'a bad line with nothing before it');
});
