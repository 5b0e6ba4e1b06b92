// The inspector's list filter, exactly: matches at the very start and end of a message, near misses that must
// not match, and the size and direction bounds on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const utf8 = (text) => new TextEncoder().encode(text);
const message = (data, direction = 'received', length = data.length) =>
  ({ kind: 'message', seq: 0, direction, timestamp: 0, length, data });
const event = { kind: 'event', seq: 1, timestamp: 0, event: 'peer-gone', detail: 'the peer closed the channel' };
const textMatches = (query, text) => core.compileFilter({ text: query }).matches(message(utf8(text)));

test('text filter: a message equal to the query, and the query at the very end or start, match', () => {
  assert.equal(textMatches('ping', 'ping'), true);
  assert.equal(textMatches('ping', 'a ping'), true);
  assert.equal(textMatches('ping', 'ping!'), true);
  assert.equal(textMatches('g', 'ping'), true);
  assert.equal(textMatches('PiNg', 'xxPING'), true, 'ASCII letters fold both ways');
});

test('text filter: near misses do not match', () => {
  assert.equal(textMatches('ping', 'pin'), false, 'a message shorter than the query');
  assert.equal(textMatches('ping', 'pinx'), false, 'last byte differs');
  assert.equal(textMatches('ping', 'xing'), false, 'first byte differs');
  assert.equal(textMatches('ping', 'p i n g'), false);
  assert.equal(textMatches('ping', ''), false);
  assert.equal(textMatches('über', 'ÜBER'), false, 'only ASCII folds');
});

test('byte search: exact indices at the start, the middle and the end; -1 otherwise', () => {
  const hay = utf8('abcabcd');
  assert.equal(core.indexOfBytes(hay, utf8('abc')), 0);
  assert.equal(core.indexOfBytes(hay, utf8('abc'), 1), 3, 'from skips the first match');
  assert.equal(core.indexOfBytes(hay, utf8('cd')), 5, 'a match that ends on the last byte');
  assert.equal(core.indexOfBytes(hay, utf8('d')), 6);
  assert.equal(core.indexOfBytes(hay, utf8('abcd')), 3);
  assert.equal(core.indexOfBytes(hay, utf8('abce')), -1);
  assert.equal(core.indexOfBytes(hay, utf8('dx')), -1, 'a match would run past the end');
  assert.equal(core.indexOfBytes(hay, utf8('abcabcdx')), -1, 'needle longer than the haystack');
  assert.equal(core.indexOfBytes(hay, new Uint8Array(0)), 0);
  assert.equal(core.indexOfBytesIgnoreCase(utf8('xxABC'), utf8('abc')), 2);
  assert.equal(core.indexOfBytesIgnoreCase(utf8('ABC'), utf8('abc')), 0);
  assert.equal(core.indexOfBytesIgnoreCase(utf8('xxAB'), utf8('abc')), -1);
  assert.equal(core.indexOfBytesIgnoreCase(utf8('[\\]^_@'), utf8('{|}~\x7f`')), -1, 'only A-Z fold, not the bytes around');
  assert.equal(core.indexOfBytesIgnoreCase(utf8('xAZ'), utf8('az')), 1, 'A and Z, the ends of the range, fold');
  assert.equal(core.indexOfBytesIgnoreCase(utf8('abc'), new Uint8Array(0)), 0);
});

test('hex filter: a sequence at the end matches; a partial or reversed one does not', () => {
  const crlf = core.compileFilter({ hex: '0d 0a' });
  assert.equal(crlf.matches(message(Uint8Array.from([0x41, 0x0d, 0x0a]))), true);
  assert.equal(crlf.matches(message(Uint8Array.from([0x0d, 0x0a]))), true);
  assert.equal(crlf.matches(message(Uint8Array.from([0x41, 0x0d]))), false);
  assert.equal(crlf.matches(message(Uint8Array.from([0x0a, 0x0d]))), false);
  assert.equal(core.compileFilter({ hex: '  ' }).isEmpty, true, 'blank hex is no filter');
  assert.throws(() => core.compileFilter({ hex: 'zz' }), { code: 'INVALID_HEX' });
});

test('size bounds are inclusive, by the length as sent (not the copied prefix)', () => {
  const sized = core.compileFilter({ minSize: 3, maxSize: 5 });
  const ofLength = (n) => message(new Uint8Array(Math.min(n, 2)), 'received', n);
  assert.deepEqual([2, 3, 4, 5, 6].map((n) => sized.matches(ofLength(n))), [false, true, true, true, false]);
  assert.equal(core.compileFilter({ minSize: 0 }).matches(message(new Uint8Array(0))), true);
  assert.equal(core.compileFilter({ maxSize: 0 }).matches(message(new Uint8Array(1))), false);
  assert.equal(core.compileFilter({ minSize: 2.9 }).matches(message(new Uint8Array(2))), true, 'sizes round down');
  assert.throws(() => core.compileFilter({ minSize: -1 }), { code: 'INVALID_FORMAT' });
  assert.throws(() => core.compileFilter({ maxSize: Number.NaN }), { code: 'INVALID_FORMAT' });
});

test('directions and events: only the chosen directions; events unless turned off', () => {
  const toServer = core.compileFilter({ directions: ['to-server'] });
  assert.equal(toServer.isEmpty, false);
  assert.equal(toServer.matches(message(utf8('x'), 'to-server')), true);
  assert.equal(toServer.matches(message(utf8('x'), 'to-client')), false);
  assert.equal(toServer.matches(event), true, 'events stay visible under a message filter');
  const all = core.compileFilter({ directions: [] });
  assert.equal(all.isEmpty, true);
  assert.equal(all.matches(message(utf8('x'), 'sent')), true);
  const noEvents = core.compileFilter({ events: false });
  assert.equal(noEvents.isEmpty, false);
  assert.equal(noEvents.matches(event), false);
  assert.equal(noEvents.matches(message(utf8('x'))), true);
  assert.equal(core.compileFilter({ text: '' }).isEmpty, true);
});
