// Byte parsing and formatting at their edges: every hex separator and prefix, error positions, base64 padding and
// whitespace, the UTF-8 ranges at their first and last valid values, control pictures, dumps and previews.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const bytes = (...values) => Uint8Array.from(values);
const fails = (fn, code, position, message) => assert.throws(fn, (error) => {
  assert.equal(error.name, 'InspectorInputError');
  assert.equal(error.code, code);
  assert.equal(error.position, position);
  if (message) assert.match(error.message, message);
  return true;
});

test('hex: digits of both cases, every separator, a 0x/0X prefix per byte', () => {
  assert.deepEqual(core.parseHex('09 af AF'), bytes(0x09, 0xaf, 0xaf));
  assert.deepEqual(core.parseHex('0x41,0X42'), bytes(0x41, 0x42));
  assert.deepEqual(core.parseHex('41 42\t43\n44\r45,46:47-48'), bytes(0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48));
  assert.deepEqual(core.parseHex('0x'), bytes(), 'a lone prefix is no byte');
  assert.deepEqual(core.parseHex('00'), bytes(0x00));
  assert.equal(core.toHex(bytes(0, 0x0f, 0xf0, 0xff)), '00 0f f0 ff');
  assert.equal(core.toHex(bytes(1, 2), ''), '0102');
  assert.equal(core.byteHex(0x1ab), 'ab', 'only the low byte');
});

test('hex: odd digit counts and foreign characters name their position', () => {
  fails(() => core.parseHex('0 1'), 'INVALID_HEX', 0, /odd hex digit at position 1/);
  fails(() => core.parseHex('41 0'), 'INVALID_HEX', 3, /odd hex digit at position 4/);
  fails(() => core.parseHex('4'), 'INVALID_HEX', 0, /odd hex digit at position 1/);
  fails(() => core.parseHex('41 zz'), 'INVALID_HEX', 3, /'z' at position 4 is not a hex digit/);
  fails(() => core.parseHex('00x1'), 'INVALID_HEX', 2, /'x' at position 3/);
  // Only a 0 starts the prefix: an x after another digit or a separator is foreign.
  fails(() => core.parseHex('1x41'), 'INVALID_HEX', 1, /'x' at position 2 is not a hex digit/);
  fails(() => core.parseHex('41 x42'), 'INVALID_HEX', 3, /'x' at position 4 is not a hex digit/);
  fails(() => core.parseHex('g0'), 'INVALID_HEX', 0);
  fails(() => core.parseHex('G0'), 'INVALID_HEX', 0);
  fails(() => core.parseHex('/0'), 'INVALID_HEX', 0);
  fails(() => core.parseHex(':0'), 'INVALID_HEX', 1, /odd hex digit/);
});

test('base64: round trips at every length, url alphabet, whitespace, optional padding', () => {
  for (let n = 0; n <= 7; n++) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 200) & 255);
    const text = core.toBase64(data);
    assert.equal(text, Buffer.from(data).toString('base64'));
    assert.deepEqual(core.fromBase64(text), data);
    assert.deepEqual(core.fromBase64(text.replace(/=+$/, '')), data, 'padding is optional');
  }
  assert.deepEqual(core.fromBase64(' QU\tJD\r\nRA== '), bytes(0x41, 0x42, 0x43, 0x44));
  assert.deepEqual(core.fromBase64('-_8'), bytes(0xfb, 0xff));
  assert.deepEqual(core.fromBase64('+/8='), bytes(0xfb, 0xff));
  assert.deepEqual(core.fromBase64('QUI'), bytes(0x41, 0x42));
  assert.deepEqual(core.fromBase64('QUJD'), bytes(0x41, 0x42, 0x43));
});

test('base64: misplaced padding, wrong lengths and foreign characters are refused', () => {
  fails(() => core.fromBase64('AAA\u0080'), 'INVALID_BASE64', 3, /'\u0080' at position 4 is not valid base64 here/);
  fails(() => core.fromBase64('Q'), 'INVALID_BASE64', undefined, /wrong length or padding/);
  fails(() => core.fromBase64('QQ==='), 'INVALID_BASE64', undefined, /wrong length or padding/);
  fails(() => core.fromBase64('QUI=='), 'INVALID_BASE64', undefined, /wrong length or padding/);
  fails(() => core.fromBase64('QQ=A'), 'INVALID_BASE64', 3, /'A' at position 4 is not valid base64 here/);
  fails(() => core.fromBase64('QQ*A'), 'INVALID_BASE64', 2, /'\*' at position 3/);
  fails(() => core.fromBase64('QQé='), 'INVALID_BASE64', 2);
  fails(() => core.fromBase64('QQ\u0100='), 'INVALID_BASE64', 2);
});

test('UTF-8: each range valid from its first to its last value, overlongs, surrogates and > U+10FFFF refused', () => {
  const valid = [
    [0x00], [0x7f], [0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80],
    [0xef, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf],
  ];
  const invalid = [
    [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
    [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xc2], [0xe2, 0x82],
    [0xf0, 0x9f, 0x98], [0xc2, 0x41], [0xe2, 0x82, 0x41],
  ];
  for (const seq of valid) {
    assert.equal(core.isValidUtf8(Uint8Array.from(seq)), true, `valid: ${seq.map((b) => b.toString(16))}`);
    assert.equal(core.isValidUtf8(Uint8Array.from([0x61, ...seq, 0x62])), true, `valid inside text: ${seq}`);
  }
  for (const seq of invalid) {
    assert.equal(core.isValidUtf8(Uint8Array.from(seq)), false, `invalid: ${seq.map((b) => b.toString(16))}`);
  }
  assert.equal(core.isValidUtf8(new Uint8Array(0)), true);
});

test('visible text: invalid bytes as \\xNN, controls as pictures, tab kept, line endings with and without marks', () => {
  const segments = core.decodeUtf8Visible(bytes(0x61, 0xff, 0x62, 0x00, 0x1f, 0x7f, 0x09, 0x63, 0x0d, 0x0a, 0x0d, 0x0a, 0x64), true);
  assert.deepEqual(segments, [
    { kind: 'text', text: 'a', offset: 0 },
    { kind: 'invalid', text: '\\xff', offset: 1 },
    { kind: 'text', text: 'b', offset: 2 },
    { kind: 'control', text: '␀', offset: 3 },
    { kind: 'control', text: '␟', offset: 4 },
    { kind: 'control', text: '␡', offset: 5 },
    { kind: 'text', text: '\tc', offset: 6 },
    { kind: 'eol', text: '␍␊\n', offset: 8 },
    { kind: 'eol', text: '␍␊\n', offset: 10 },
    { kind: 'text', text: 'd', offset: 12 },
  ]);
  assert.deepEqual(core.decodeUtf8Visible(bytes(0x0d, 0x0a, 0x0a, 0x0d, 0x20), false), [
    { kind: 'eol', text: '\n', offset: 0 },
    { kind: 'eol', text: '\n', offset: 2 },
    { kind: 'eol', text: '\n', offset: 3 },
    { kind: 'text', text: ' ', offset: 4 },
  ]);
  assert.deepEqual(core.decodeUtf8Visible(bytes(0x0a, 0x0d), true), [
    { kind: 'eol', text: '␊\n', offset: 0 },
    { kind: 'eol', text: '␍\n', offset: 1 },
  ]);
  assert.deepEqual(core.decodeUtf8Visible(bytes(0xe2, 0x82, 0xac, 0xe2, 0x82), false), [
    { kind: 'text', text: '€', offset: 0 },
    { kind: 'invalid', text: '\\xe2', offset: 3 },
    { kind: 'invalid', text: '\\x82', offset: 4 },
  ]);
  assert.deepEqual(core.decodeUtf8Visible(new Uint8Array(0), true), []);
});

test('pretty JSON only for valid UTF-8 objects and arrays', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  assert.equal(core.prettyJson(utf8(' {"a":[1,2]} ')), '{\n  "a": [\n    1,\n    2\n  ]\n}');
  assert.equal(core.prettyJson(utf8('[]')), '[]');
  assert.equal(core.prettyJson(utf8('"text"')), undefined);
  assert.equal(core.prettyJson(utf8('42')), undefined);
  assert.equal(core.prettyJson(utf8('{broken')), undefined);
  assert.equal(core.prettyJson(new Uint8Array(0)), undefined);
  assert.equal(core.prettyJson(bytes(0x7b, 0xff, 0x7d)), undefined, 'not UTF-8');
  const big = new Uint8Array(8 * 1024 * 1024 + 1).fill(0x20);
  big[0] = 0x5b; big[big.length - 1] = 0x5d;
  assert.equal(core.prettyJson(big), undefined, 'larger than 8 MiB');
  const limit = new Uint8Array(8 * 1024 * 1024).fill(0x20);
  limit[0] = 0x5b; limit[limit.length - 1] = 0x5d;
  assert.equal(core.prettyJson(limit), '[]', 'exactly 8 MiB still shown');
});

test('hex dump: full and partial rows, the gap after 8 bytes, only printable ASCII in the text column', () => {
  const data = Uint8Array.from({ length: 18 }, (_, i) => [0x1f, 0x20, 0x7e, 0x7f][i % 4]);
  assert.equal(core.hexDumpText(data),
    '00000000  1f 20 7e 7f 1f 20 7e 7f  1f 20 7e 7f 1f 20 7e 7f  |. ~.. ~.. ~.. ~.|\n' +
    '00000010  1f 20                                             |. |');
  assert.equal(core.hexDumpText(bytes(0x41, 0x42, 0x43), 4), '00000000  41 42  43     |ABC|');
  assert.equal(core.hexDumpText(new Uint8Array(0)), '');
  assert.equal(core.asciiChar(0x20), ' ');
  assert.equal(core.asciiChar(0x7e), '~');
  assert.equal(core.asciiChar(0x7f), '.');
  assert.equal(core.asciiChar(0x1f), '.');
});

test('preview: text with line breaks and tabs drawn, cut at maxChars with an ellipsis; hex for binary', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  assert.equal(core.previewOf(new Uint8Array(0)), '');
  assert.equal(core.previewOf(utf8('a\r\nb\nc\rd\te')), 'a↵b↵c↵d→e');
  assert.equal(core.previewOf(utf8('abcdef'), 6), 'abcdef', 'exactly maxChars: no ellipsis');
  assert.equal(core.previewOf(utf8('abcdefg'), 6), 'abcdef…');
  assert.equal(core.previewOf(utf8('€€€'), 2), '€€…', 'counted in characters, not bytes');
  assert.equal(core.previewOf(utf8(' ~é')), ' ~é');
  assert.equal(core.previewOf(bytes(0x41, 0x00, 0x42)), '41 00 42');
  assert.equal(core.previewOf(bytes(0x41, 0x7f)), '41 7f');
  assert.equal(core.previewOf(bytes(0x41, 0x1f)), '41 1f');
  assert.equal(core.previewOf(Uint8Array.from({ length: 10 }, () => 0), 9), '00 00 00 …');
  assert.equal(core.previewOf(Uint8Array.from({ length: 3 }, () => 0), 9), '00 00 00', 'everything shown: no ellipsis');
  // A long text whose prefix ends inside a character still previews as text.
  const long = utf8('é'.repeat(40));
  assert.equal(core.previewOf(long, 3), 'ééé…');
  assert.equal(core.previewOf(utf8(`a${'é'.repeat(20)}`), 3), 'aéé…', 'the 12-byte prefix cuts an é in two');
  assert.equal(core.previewOf(utf8(`a${'€'.repeat(20)}`), 3), 'a€€…', 'the prefix cuts a € after one byte');
  assert.equal(core.previewOf(utf8(`ab${'€'.repeat(20)}`), 3), 'ab€…', 'the prefix cuts a € after two bytes');
  // Four-byte sequences (lead bytes f0 to f4) cut by the end of the prefix, and lead bytes that start none.
  const head = utf8('éabcdefghijklm'); // 15 bytes: the 16-byte prefix of maxChars 4 ends with the next byte
  const after = (...rest) => Uint8Array.from([...head, ...rest, ...utf8('tail')]);
  assert.equal(core.previewOf(after(0xf0, 0x9f, 0x98, 0x80), 4), 'éabc…', 'U+1F600 cut after its first byte');
  assert.equal(core.previewOf(after(0xf4, 0x80, 0x80, 0x80), 4), 'éabc…', 'U+100000 cut after its first byte');
  assert.equal(core.previewOf(after(0x80, 0x80, 0x80, 0x80), 4), `${core.toHex(after().subarray(0, 1))} …`, 'a lone continuation byte');
  assert.equal(core.previewOf(after(0xf8, 0x80, 0x80, 0x80), 4), `${core.toHex(after().subarray(0, 1))} …`, 'f8 leads no sequence');
  const shortHead = head.subarray(0, 14);
  const broken = Uint8Array.from([...shortHead, 0xf0, 0x41, ...utf8('tail')]);
  assert.equal(core.previewOf(broken, 4), `${core.toHex(broken.subarray(0, 1))} …`, 'f0 followed by no continuation byte');
  assert.equal(core.previewOf(bytes(0x61, 0xc3)), '61 c3', 'a sequence cut by the end of the message itself is binary');
  assert.equal(core.previewOf(Uint8Array.from([0x61, 0xc3, ...Array(14).fill(0x41)]), 3), '61 …', 'a broken sequence before the end of the prefix is binary');
  assert.equal(core.previewOf(bytes(0x41, 0xff, 0x42)), '41 ff 42', 'invalid UTF-8 is binary');
  // Plain printable ASCII (a shortcut): cut at maxChars, yet a byte further on within the looked-at prefix
  // (4 × maxChars) still makes it binary, and one beyond it does not.
  const ascii = (length) => Uint8Array.from({ length }, (_, i) => 0x20 + (i % 95));
  assert.equal(core.previewOf(ascii(64)), new TextDecoder().decode(ascii(64)), 'exactly maxChars');
  assert.equal(core.previewOf(ascii(65)), `${new TextDecoder().decode(ascii(64))}…`);
  assert.equal(core.previewOf(Uint8Array.from([...ascii(200), 0x01])), `${core.toHex(ascii(21))} …`);
  assert.equal(core.previewOf(Uint8Array.from([...ascii(256), 0x01])), `${new TextDecoder().decode(ascii(64))}…`);
});

test('UTF-8: a byte that leads no sequence (a continuation byte, c0/c1, f5 to ff) is invalid even where the bytes after it would complete one', () => {
  // Each is followed by continuation bytes whose value, taken with the lead's low bits as a 2-, 3- or 4-byte sequence,
  // would be a valid code point (0x80, 0x1000 or 0x10000 and up): only the lead's own range tells them apart.
  const leadsNone = [
    [0xa2, 0x80], [0xbf, 0xbf], [0x8f, 0x80, 0x80], [0xc1, 0x80, 0x80], [0x88, 0x90, 0x80, 0x80], [0x84, 0x80, 0x80, 0x80],
    [0xf8, 0x90, 0x80, 0x80], [0xfc, 0x90, 0x80, 0x80], [0xff, 0x90, 0x80, 0x80],
  ];
  for (const seq of leadsNone) {
    const hex = seq.map((b) => b.toString(16)).join(' ');
    assert.equal(core.isValidUtf8(Uint8Array.from(seq)), false, `invalid: ${hex}`);
    assert.deepEqual(core.decodeUtf8Visible(Uint8Array.from(seq), false).map((s) => s.kind), seq.map(() => 'invalid'), `every byte shown as \\xNN: ${hex}`);
  }
});

test('visible text: two line feeds in a row are two line endings (only CR before LF makes one)', () => {
  assert.deepEqual(core.decodeUtf8Visible(bytes(0x61, 0x0a, 0x0a, 0x62), true), [
    { kind: 'text', text: 'a', offset: 0 },
    { kind: 'eol', text: '␊\n', offset: 1 },
    { kind: 'eol', text: '␊\n', offset: 2 },
    { kind: 'text', text: 'b', offset: 3 },
  ]);
  assert.deepEqual(core.decodeUtf8Visible(bytes(0x0a, 0x0a), false).map((s) => [s.text, s.offset]), [['\n', 0], ['\n', 1]], 'a blank line stays');
});

test('visible text: a run of several characters from the first byte is one segment from offset 0', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  assert.deepEqual(core.decodeUtf8Visible(utf8('héllo'), false), [{ kind: 'text', text: 'héllo', offset: 0 }]);
  assert.deepEqual(core.decodeUtf8Visible(utf8('ab\ncd'), false), [
    { kind: 'text', text: 'ab', offset: 0 }, { kind: 'eol', text: '\n', offset: 2 }, { kind: 'text', text: 'cd', offset: 3 },
  ]);
});

test('preview: says text for an empty message and for plain ASCII; only the prefix decides between text and hex', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  assert.deepEqual(core.preview(new Uint8Array(0)), { kind: 'text', text: '' });
  assert.deepEqual(core.preview(utf8('plain')), { kind: 'text', text: 'plain' });
  assert.deepEqual(core.preview(utf8('é')), { kind: 'text', text: 'é' });
  assert.deepEqual(core.preview(bytes(0x00)), { kind: 'hex', text: '00' });
  // Not plain ASCII, so the general path: a control byte past the 4 × maxChars bytes looked at leaves it text.
  assert.equal(core.previewOf(Uint8Array.from([...utf8('é'.repeat(40)), 0x01]), 3), 'ééé…');
  assert.equal(core.previewOf(Uint8Array.from([...utf8('é'.repeat(5)), 0x01]), 3), 'c3 …', 'within the prefix (12 bytes): hex');
});

test('preview: non-ASCII text is cut at maxChars characters with an ellipsis only when there is more, and 0x80 is a text byte', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  assert.equal(core.previewOf(utf8('Ā€'), 4), 'Ā€', 'c4 80 and e2 82 ac: bytes of 0x80 and up in text');
  assert.equal(core.previewOf(utf8('ééé'), 2), 'éé…', 'more characters than maxChars, all within the prefix');
  assert.equal(core.previewOf(utf8('éé'), 2), 'éé', 'exactly maxChars: no ellipsis');
  // Four-byte characters: the 4 × maxChars prefix holds exactly maxChars of them, and the message goes on.
  assert.equal(core.previewOf(utf8('😀'.repeat(5)), 2), '😀😀…', 'cut by the prefix, not by the character count');
  assert.equal(core.previewOf(utf8('😀😀'), 2), '😀😀');
});

test('search ignoring case folds only A to Z; previews keep text whose prefix cuts a sequence led by c2, df, e0 or ef', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  assert.equal(core.indexOfBytesIgnoreCase(utf8('a b@'), utf8('@')), 3, 'a space is no @ (32 + 32)');
  assert.equal(core.indexOfBytesIgnoreCase(utf8('x0P'), utf8('p')), 2, 'a digit is no letter');
  // 'a' then 2- or 3-byte characters: the 12-byte prefix of maxChars 3 ends inside one, right after its lead byte.
  assert.equal(core.previewOf(utf8(`a${'\u00a3'.repeat(20)}`), 3), 'a££…', 'c2 a3');
  assert.equal(core.previewOf(utf8(`a${'\u07d0'.repeat(20)}`), 3), 'a\u07d0\u07d0…', 'df 90');
  assert.equal(core.previewOf(utf8(`ab${'\u0800'.repeat(20)}`), 3), 'ab\u0800…', 'e0 a0 80, cut after its lead byte');
  assert.equal(core.previewOf(utf8(`ab${'\uff00'.repeat(20)}`), 3), 'ab\uff00…', 'ef bc 80, cut after its lead byte');
});

test('preview: a prefix ending in a sequence that no later byte can make valid is hex, as such a sequence is anywhere else', () => {
  const utf8 = (text) => new TextEncoder().encode(text);
  // maxChars 4 looks at 16 bytes. `message(sequence, inPrefix)` puts the sequence's first `inPrefix` bytes at the end
  // of those 16 (after `é` and ASCII letters), its other bytes and more text after them.
  const message = (sequence, inPrefix) =>
    Uint8Array.from([...utf8('é'), ...utf8('abcdefghijklmn').subarray(0, 14 - inPrefix), ...sequence, ...utf8('tail')]);
  const hex = `${core.toHex(utf8('é').subarray(0, 1))} …`;
  const cases = [
    // Valid characters, cut after their lead byte or further: text. The second bytes at the edges of their ranges.
    [[0xe0, 0xa0, 0x80], 1, 'U+0800 after e0'], [[0xe0, 0xa0, 0x80], 2, 'U+0800 after e0 a0'],
    [[0xed, 0x9f, 0xbf], 1, 'U+D7FF after ed'], [[0xed, 0x9f, 0xbf], 2, 'U+D7FF after ed 9f'],
    [[0xe1, 0x80, 0x80], 2, 'U+1000 after e1 80'], [[0xef, 0xbc, 0x80], 2, 'U+FF00 after ef bc'],
    [[0xf0, 0x90, 0x80, 0x80], 2, 'U+10000 after f0 90'], [[0xf0, 0x90, 0x80, 0x80], 3, 'U+10000 after f0 90 80'],
    [[0xf4, 0x8f, 0xbf, 0xbf], 2, 'U+10FFFF after f4 8f'], [[0xf4, 0x8f, 0xbf, 0xbf], 3, 'U+10FFFF after f4 8f bf'],
    [[0xf1, 0x90, 0x80, 0x80], 3, 'U+50000 after f1 90 80'],
    // Whole but invalid sequences ending the prefix, and cut ones whose second byte rules out every valid end: hex.
    [[0xed, 0xa0, 0x80], 3, 'the surrogate U+D800, whole'], [[0xed, 0xa0, 0x80], 2, 'a surrogate\'s ed a0'],
    [[0xe0, 0x80, 0x80], 3, 'an overlong e0 80 80, whole'], [[0xe0, 0x9f, 0xbf], 2, 'an overlong e0 9f'],
    [[0xf0, 0x8f, 0xbf, 0xbf], 2, 'an overlong f0 8f'], [[0xf0, 0x8f, 0xbf, 0xbf], 3, 'an overlong f0 8f bf'],
    [[0xf4, 0x90, 0x80, 0x80], 4, 'U+110000, whole'], [[0xf4, 0x90, 0x80, 0x80], 2, 'f4 90, beyond U+10FFFF'],
    [[0xf4, 0x90, 0x80, 0x80], 3, 'f4 90 80, beyond U+10FFFF'],
    // A cut sequence whose second or third byte is no continuation byte.
    [[0xe2, 0x41], 2, 'e2 then A'], [[0xf1, 0x80, 0x41], 3, 'f1 80 then A'],
  ];
  for (const [sequence, inPrefix, what] of cases) {
    const bytes = message(sequence, inPrefix);
    // The detail view's verdict on the whole message, whose other bytes are all valid text.
    const invalid = core.decodeUtf8Visible(bytes, false).some((segment) => segment.kind === 'invalid');
    assert.deepEqual(core.preview(bytes, 4), invalid ? { kind: 'hex', text: hex } : { kind: 'text', text: 'éabc…' }, what);
  }
  // Both verdicts occur: the valid ones are the first eleven cases.
  assert.deepEqual(cases.map(([sequence, inPrefix]) => core.preview(message(sequence, inPrefix), 4).kind),
    [...Array(11).fill('text'), ...Array(11).fill('hex')]);
});
