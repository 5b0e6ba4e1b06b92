import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const bytes = (...b) => Uint8Array.from(b);

test('hex: formats and parses every byte value', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = core.toHex(all);
  assert.equal(hex.slice(0, 11), '00 01 02 03');
  assert.deepEqual(core.parseHex(hex), all);
  assert.deepEqual(core.parseHex('48656C6c6f'), bytes(0x48, 0x65, 0x6c, 0x6c, 0x6f));
  assert.deepEqual(core.parseHex('0x0d, 0x0A:ff-00'), bytes(0x0d, 0x0a, 0xff, 0x00));
  assert.deepEqual(core.parseHex('  '), bytes());
});

test('hex: refuses odd digits and non-hex characters with a position', () => {
  assert.throws(() => core.parseHex('48 6'), (e) => e.code === 'INVALID_HEX' && e.position === 3);
  assert.throws(() => core.parseHex('4 86'), (e) => e.code === 'INVALID_HEX' && e.position === 0);
  assert.throws(() => core.parseHex('48 zz'), (e) => e.code === 'INVALID_HEX' && e.position === 3 && /'z'/.test(e.message));
});

test('base64: round-trips every length against Node Buffer', () => {
  for (let n = 0; n < 40; n++) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n) & 255);
    const encoded = core.toBase64(data);
    assert.equal(encoded, Buffer.from(data).toString('base64'));
    assert.deepEqual(core.fromBase64(encoded), data);
    assert.deepEqual(core.fromBase64(encoded.replace(/=+$/, '')), data, 'padding is optional');
  }
  assert.deepEqual(core.fromBase64('-_8'), bytes(0xfb, 0xff), 'url alphabet');
  assert.deepEqual(core.fromBase64('aGVs\nbG8='), new TextEncoder().encode('hello'));
});

test('base64: refuses bad characters, misplaced padding and impossible lengths', () => {
  for (const bad of ['a', 'ab!c', 'ab=c', 'abc==', 'ab===', 'é']) {
    assert.throws(() => core.fromBase64(bad), (e) => e.code === 'INVALID_BASE64', bad);
  }
});

test('utf8: invalid bytes, controls and line endings stay visible and accounted for', () => {
  const data = bytes(0x61, 0xff, 0x62, 0x0d, 0x0a, 0x00, 0xc3, 0xa9, 0x0a, 0xe2, 0x82);
  const plain = core.decodeUtf8Visible(data, false);
  assert.deepEqual(plain.map((s) => [s.kind, s.text, s.offset]), [
    ['text', 'a', 0], ['invalid', '\\xff', 1], ['text', 'b', 2], ['eol', '\n', 3], ['control', '␀', 5],
    ['text', 'é', 6], ['eol', '\n', 8], ['invalid', '\\xe2', 9], ['invalid', '\\x82', 10],
  ]);
  const shown = core.decodeUtf8Visible(data, true);
  assert.equal(shown.filter((s) => s.kind === 'eol').map((s) => s.text).join('|'), '␍␊\n|␊\n');
  // Overlong encodings and surrogates are not valid UTF-8.
  assert.equal(core.isValidUtf8(bytes(0xc0, 0x80)), false);
  assert.equal(core.isValidUtf8(bytes(0xed, 0xa0, 0x80)), false);
  assert.equal(core.isValidUtf8(new TextEncoder().encode('grüße 🎉')), true);
});

test('json: pretty-prints objects and arrays, leaves everything else alone', () => {
  const enc = (s) => new TextEncoder().encode(s);
  assert.equal(core.prettyJson(enc('{"a":[1,2],"b":"x"}')), '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "x"\n}');
  assert.equal(core.prettyJson(enc(' [true] ')), '[\n  true\n]');
  assert.equal(core.prettyJson(enc('{"a":')), undefined);
  assert.equal(core.prettyJson(enc('42')), undefined);
  assert.equal(core.prettyJson(bytes(0x7b, 0xff, 0x7d)), undefined);
});

test('hex dump text: offset, two groups of eight, ASCII column', () => {
  const dump = core.hexDumpText(new TextEncoder().encode('Hello, world!\n\x00\x01ABC'));
  assert.equal(dump, [
    '00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 01  |Hello, world!...|',
    '00000010  41 42 43                                          |ABC|',
  ].join('\n'));
  assert.equal(core.hexDumpText(bytes()), '');
});

test('preview: text when printable, hex otherwise, bounded length', () => {
  const enc = (s) => new TextEncoder().encode(s);
  assert.equal(core.previewOf(enc('hello\r\nworld')), 'hello↵world');
  assert.equal(core.previewOf(bytes(0, 1, 2, 0xff)), '00 01 02 ff');
  assert.equal(core.previewOf(enc('x'.repeat(100)), 10), 'xxxxxxxxxx…');
  assert.match(core.previewOf(new Uint8Array(100), 30), /^00( 00){9} …$/);
  assert.equal(core.previewOf(bytes()), '');
});

test('byte search: exact and ASCII case-insensitive', () => {
  const hay = new TextEncoder().encode('abcABCabd');
  assert.equal(core.indexOfBytes(hay, new TextEncoder().encode('abd')), 6);
  assert.equal(core.indexOfBytes(hay, new TextEncoder().encode('abe')), -1);
  assert.equal(core.indexOfBytes(hay, bytes()), 0);
  assert.equal(core.indexOfBytesIgnoreCase(hay, new TextEncoder().encode('cab')), 2);
  assert.equal(core.indexOfBytesIgnoreCase(bytes(1, 2), new TextEncoder().encode('abc')), -1);
});

test('send box: text gets the line ending, hex and base64 are exact', () => {
  assert.deepEqual(core.encodeSendInput('text', 'hi', 'crlf'), bytes(0x68, 0x69, 0x0d, 0x0a));
  assert.deepEqual(core.encodeSendInput('text', 'hi', 'lf'), bytes(0x68, 0x69, 0x0a));
  assert.deepEqual(core.encodeSendInput('text', 'é', 'none'), bytes(0xc3, 0xa9));
  assert.deepEqual(core.encodeSendInput('hex', '00 ff', 'crlf'), bytes(0x00, 0xff));
  assert.deepEqual(core.encodeSendInput('base64', 'AP8=', 'lf'), bytes(0x00, 0xff));
  assert.throws(() => core.encodeSendInput('hex', '0g', 'none'), (e) => e.code === 'INVALID_HEX');
});
