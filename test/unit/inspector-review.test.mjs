// Regression tests for bugs found in review of the inspector's pure modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCore } from './inspector-core.mjs';

const core = await loadCore();
const enc = (s) => new TextEncoder().encode(s);
const message = (text) => ({ kind: 'message', seq: 0, direction: 'received', timestamp: 1, length: enc(text).length, data: enc(text) });

test('text filter: a non-ASCII query finds the very same text (only ASCII letters fold case)', () => {
  for (const text of ['Über', 'ÉCOLE', 'Ω', 'İstanbul']) {
    assert.equal(core.compileFilter({ text }).matches(message(`x ${text} y`)), true, text);
  }
  // ASCII letters still match either case.
  assert.equal(core.compileFilter({ text: 'HELLO' }).matches(message('well, hello there')), true);
});

test('parseJsonl: a message line with bad base64 is reported as INVALID_CAPTURE naming that line', () => {
  const header = core.jsonlHeaderLine({ channel: 'demo', mode: 'peer', exported: 0 });
  const bad = JSON.stringify({ type: 'message', seq: 0, timestampMs: 1, direction: 'sent', length: 3, data: 'ab$d' });
  assert.throws(() => core.parseJsonl(`${header}\n${bad}\n`), (e) => e instanceof core.JsonlParseError && e.code === 'INVALID_CAPTURE' && e.line === 2);
});

test('previewOf: bytes that are not UTF-8 at the end of a short message are shown as hex, not as text with U+FFFD', () => {
  for (const bytes of [[0x61, 0x62, 0x63, 0xff], [0x61, 0x62, 0xc3, 0x41], [0x61, 0x62, 0x63, 0xe2, 0x82]]) {
    const preview = core.previewOf(Uint8Array.from(bytes));
    assert.ok(!preview.includes('\uFFFD'), `${JSON.stringify(bytes)} -> ${preview}`);
  }
  // A sequence cut off only by the preview's own prefix is still text.
  const long = enc(`a${'é'.repeat(200)}`);
  assert.match(core.previewOf(long), /^aé+…$/);
});
