// The one webview page shell (extension/src/webviewPage.ts) both pages render through: a strict Content Security
// Policy whose script nonce is at least 128 bits of CSPRNG output, new on every render, and the same in the policy
// and on the one script tag; extra sources only for the directives a page may widen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWebviewPage } from './inspector-core.mjs';

const shellModule = await loadWebviewPage();
const shell = { title: 'a page', cspSource: 'https://webview.test', styleSheets: ['https://webview.test/a.css', 'https://webview.test/b.css'],
  script: 'https://webview.test/page.js' };

function parse(html) {
  const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(policy, 'the page has a CSP meta tag');
  const directives = policy.split(';').map((d) => d.trim());
  const inPolicy = /^script-src 'nonce-([^']+)'$/.exec(directives.at(-1))?.[1];
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1, 'exactly one script tag');
  const onScript = /nonce="([^"]+)"/.exec(scripts[0])?.[1];
  return { directives, inPolicy, onScript };
}

test('shell CSP: nothing by default, styles and fonts only from the webview, scripts only by nonce', () => {
  const { directives, inPolicy } = parse(shellModule.webviewPage(shell));
  assert.deepEqual(directives.slice(0, -1),
    ["default-src 'none'", 'style-src https://webview.test', 'font-src https://webview.test']);
  assert.ok(inPolicy, 'script-src is last and names only the nonce (no host source, no unsafe-inline)');
});

test('shell CSP: a page widens only its own directives, before script-src', () => {
  const { directives } = parse(shellModule.webviewPage({ ...shell, extraSources: { 'img-src': ['https://webview.test', 'data:'] } }));
  assert.deepEqual(directives.slice(0, -1), ["default-src 'none'", 'style-src https://webview.test',
    'font-src https://webview.test', 'img-src https://webview.test data:']);
  assert.match(directives.at(-1), /^script-src 'nonce-[A-Za-z0-9_-]+'$/);
});

test('shell nonce: the same on the policy and the script, at least 128 bits, different on every render', () => {
  const seen = new Set();
  for (let i = 0; i < 50; i++) {
    const { inPolicy, onScript } = parse(shellModule.webviewPage(shell));
    assert.equal(inPolicy, onScript);
    assert.match(inPolicy, /^[A-Za-z0-9_-]+$/, 'base64url');
    assert.ok(Buffer.from(inPolicy, 'base64url').length * 8 >= 128, `${inPolicy} carries fewer than 128 bits`);
    seen.add(inPolicy);
  }
  assert.equal(seen.size, 50, 'a nonce was repeated');
  assert.ok(shellModule.NONCE_BYTES >= 16);
  assert.notEqual(shellModule.cspNonce(), shellModule.cspNonce());
});

test('shell: the title, the style sheets in order and the script, each escaped for HTML', () => {
  const html = shellModule.webviewPage({ ...shell, title: 'a <b> & "c"' }, 'fixed');
  assert.match(html, /<title>a &lt;b&gt; &amp; &quot;c&quot;<\/title>/);
  assert.deepEqual([...html.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1]), shell.styleSheets);
  assert.match(html, /<script nonce="fixed" src="https:\/\/webview\.test\/page\.js"><\/script>/);
  assert.match(html, /<div id="app"><\/div>/);
  assert.match(shellModule.webviewPage({ ...shell, styleSheets: ['https://x.test/a?b=1&c="2"'] }, 'n'),
    /href="https:\/\/x\.test\/a\?b=1&amp;c=&quot;2&quot;"/);
});
