// The SIPC messages panel's pure parts: the page's Content Security Policy, the validation of what the page sends,
// and the bounded line log (text or hex, numbered in arrival order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMessagesPanel } from './inspector-core.mjs';

const panel = await loadMessagesPanel();
const resources = { cspSource: 'https://webview.test', codiconCss: 'https://webview.test/codicon.css',
  css: 'https://webview.test/messages.css', script: 'https://webview.test/messages.js' };

test('messages panel page: default-src none, styles and fonts from the webview only, one script by a fresh nonce', () => {
  const html = panel.messagesPanelPage(resources);
  const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(policy);
  const directives = policy.split(';').map((d) => d.trim());
  assert.equal(directives[0], "default-src 'none'");
  assert.deepEqual(directives.slice(1, 3), ['style-src https://webview.test', 'font-src https://webview.test']);
  const nonce = /script-src 'nonce-([A-Za-z0-9_-]+)'$/.exec(directives.at(-1))?.[1];
  assert.ok(nonce && Buffer.from(nonce, 'base64url').length >= 16, 'a nonce of at least 128 bits');
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
  assert.deepEqual(scripts, [` nonce="${nonce}" src="https://webview.test/messages.js"`]);
  assert.doesNotMatch(html, /https?:\/\/(?!webview\.test)/, 'nothing remote');
  assert.notEqual(/nonce-([^']+)/.exec(panel.messagesPanelPage(resources))[1], nonce, 'a new nonce per render');
});

test('messages panel: what the page sends is validated', () => {
  const parse = panel.parseMessagesPanelEnvelope;
  assert.deepEqual(parse({ messageId: 1, body: { type: 'send', name: 'a', format: 'hex', input: '00' } }),
    { messageId: 1, body: { type: 'send', name: 'a', format: 'hex', input: '00' } });
  assert.equal(parse({ messageId: 1, body: { type: 'send', name: 'a', format: 'base64', input: '00' } }), undefined);
  assert.equal(parse({ messageId: 1, body: { type: 'send', name: 3, format: 'text', input: '' } }), undefined);
  assert.equal(parse({ messageId: 1.5, body: { type: 'ready' } }), undefined);
  assert.equal(parse({ messageId: 2, body: { type: 'openInspector' } }), undefined);
  assert.deepEqual(parse({ messageId: 2, body: { type: 'clear', name: 'x', extra: 1 } }), { messageId: 2, body: { type: 'clear', name: 'x' } });
  assert.equal(parse({ messageId: 3, body: { type: 'eval' } }), undefined);
  assert.equal(parse(null), undefined);
});

test('messages panel: lines are text or hex, numbered, and the log keeps the last ones', () => {
  const log = new panel.LineLog(3);
  const enc = (s) => new TextEncoder().encode(s);
  log.add({ direction: 'sent', data: enc('hello\r\nworld'), timestamp: 1.5 });
  log.add({ direction: 'received', data: Uint8Array.from([0, 1, 0xff]), timestamp: 2 });
  assert.deepEqual(log.all.map((l) => [l.seq, l.dir, l.kind, l.text, l.len, l.t]),
    [[0, 'sent', 'text', 'hello↵world', 12, 1.5], [1, 'received', 'hex', '00 01 ff', 3, 2]]);
  for (let i = 0; i < 40; i++) log.add({ direction: 'received', data: enc(`m${i}`), timestamp: 3 + i });
  assert.deepEqual(log.all.map((l) => l.text), ['m37', 'm38', 'm39']);
  assert.deepEqual(log.all.map((l) => l.seq), [39, 40, 41]);
  log.add({ direction: 'received', data: new Uint8Array(5000).fill(0x61), timestamp: 50 });
  const long = log.last;
  assert.equal(long.text.length, panel.LINE_CHARS + 1, 'a long message is cut with an ellipsis');
  assert.ok(long.text.endsWith('…'));
  log.add({ direction: 'received', data: new Uint8Array(100_000).fill(0x62), timestamp: 51 });
  assert.equal(log.last.len, 100_000, 'the line gives the whole length of a message kept only in part');
  assert.ok(log.last.text.endsWith('…') && log.last.text.length === panel.LINE_CHARS + 1);
  log.add({ direction: 'received', data: new Uint8Array(100_000).fill(0x01), timestamp: 52 });
  assert.equal(log.last.kind, 'hex');
  assert.ok(log.last.text.endsWith(' …'));
  log.clear();
  assert.deepEqual(log.all, []);
});
