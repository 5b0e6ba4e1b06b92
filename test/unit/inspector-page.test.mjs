// The inspector webview's page: the shared shell's strict policy plus images from the webview and `data:`, and
// exactly the inspector's resources (the shell itself: webview-page.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPage } from './inspector-core.mjs';

const page = await loadPage();
const resources = { cspSource: 'https://webview.test', codiconCss: 'https://webview.test/codicon.css',
  inspectorCss: 'https://webview.test/inspector.css', script: 'https://webview.test/inspector.js' };

function nonces(html) {
  const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(policy, 'the page has a CSP meta tag');
  const inPolicy = /script-src 'nonce-([^']+)'/.exec(policy)?.[1];
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1, 'exactly one script tag');
  const onScript = /nonce="([^"]+)"/.exec(scripts[0])?.[1];
  return { policy, inPolicy, onScript };
}

test('CSP: nothing loads by default; styles, fonts and images only from the webview; scripts only by nonce', () => {
  const { policy } = nonces(page.inspectorPage(resources));
  const directives = policy.split(';').map((d) => d.trim());
  assert.equal(directives[0], "default-src 'none'");
  assert.ok(directives.includes('style-src https://webview.test'));
  assert.ok(directives.includes('font-src https://webview.test'));
  assert.ok(directives.includes('img-src https://webview.test data:'));
  const script = directives.filter((d) => d.startsWith('script-src'));
  assert.equal(script.length, 1);
  assert.match(script[0], /^script-src 'nonce-[A-Za-z0-9_-]+'$/, 'no unsafe-inline, no host source');
});

test('CSP nonce: the same on the policy and the script, fresh on every render', () => {
  const first = nonces(page.inspectorPage(resources));
  assert.equal(first.inPolicy, first.onScript);
  assert.notEqual(nonces(page.inspectorPage(resources)).inPolicy, first.inPolicy);
});

test('the page loads exactly the given resources', () => {
  const html = page.inspectorPage(resources, 'fixed');
  assert.match(html, /<link rel="stylesheet" href="https:\/\/webview\.test\/codicon\.css">/);
  assert.match(html, /<link rel="stylesheet" href="https:\/\/webview\.test\/inspector\.css">/);
  assert.match(page.inspectorPage({ ...resources, plotCss: 'https://webview.test/uPlot.css' }, 'fixed'),
    /inspector\.css">\n<link rel="stylesheet" href="https:\/\/webview\.test\/uPlot\.css">/);
  assert.equal([...html.matchAll(/<link rel="stylesheet"/g)].length, 2, 'no plot stylesheet when the page has none');
  assert.match(html, /<title>sipc inspector<\/title>/);
  assert.match(html, /<script nonce="fixed" src="https:\/\/webview\.test\/inspector\.js"><\/script>/);
  assert.match(html, /<div id="app"><\/div>/);
});
