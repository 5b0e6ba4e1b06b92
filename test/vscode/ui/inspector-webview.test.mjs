// The inspector webview on its own, in headless Chromium, against an in-page fake of the extension host built
// from the same pure modules (Capture, ViewFeed, encodeSendInput). Fast (no VS Code), so it can check the
// details: virtualised rows, hex/ASCII selection sync, keyboard navigation, filters, the send box, the theme.
// The real workbench end-to-end test is inspector-workbench.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser } from '../harness/browser.mjs';
import { outDir, repoRoot } from '../harness/cache.mjs';

const dir = join(outDir, 'inspector-webview');
const screenshots = join(outDir, 'screenshots');

/** A small subset of VS Code's theme variables, enough to see that the page only uses theme colours. */
const themes = {
  dark: {
    'foreground': '#cccccc', 'editor-background': '#1f1f1f', 'panel-border': '#2b2b2b', 'focusBorder': '#0078d4',
    'input-background': '#313131', 'input-foreground': '#cccccc', 'input-border': '#3c3c3c', 'button-background': '#0078d4',
    'button-foreground': '#ffffff', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc',
    'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
    'list-inactiveSelectionBackground': '#37373d', 'descriptionForeground': '#9d9d9d', 'badge-background': '#616161',
    'badge-foreground': '#f8f8f8', 'charts-blue': '#3794ff', 'charts-green': '#89d185', 'editorWarning-foreground': '#cca700',
    'errorForeground': '#f85149', 'editor-selectionBackground': '#264f78', 'editorLineNumber-foreground': '#6e7681',
    'font-family': 'sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace', 'editor-font-size': '13px',
    'dropdown-background': '#313131', 'dropdown-foreground': '#cccccc', 'icon-foreground': '#cccccc', 'toolbar-hoverBackground': '#5a5d5e50',
    'inputOption-activeBackground': '#2489db82', 'testing-iconPassed': '#73c991', 'statusBar-background': '#181818',
  },
  light: {
    'foreground': '#3b3b3b', 'editor-background': '#ffffff', 'panel-border': '#e5e5e5', 'focusBorder': '#005fb8',
    'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece', 'button-background': '#005fb8',
    'button-foreground': '#ffffff', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b',
    'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'list-activeSelectionForeground': '#000000',
    'list-inactiveSelectionBackground': '#e4e6f1', 'descriptionForeground': '#717171', 'badge-background': '#cccccc',
    'badge-foreground': '#3b3b3b', 'charts-blue': '#1a85ff', 'charts-green': '#388a34', 'editorWarning-foreground': '#bf8803',
    'errorForeground': '#f85149', 'editor-selectionBackground': '#add6ff', 'editorLineNumber-foreground': '#6e7681',
    'font-family': 'sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace', 'editor-font-size': '13px',
    'dropdown-background': '#ffffff', 'dropdown-foreground': '#3b3b3b', 'icon-foreground': '#3b3b3b', 'toolbar-hoverBackground': '#b8b8b850',
    'inputOption-activeBackground': '#bed6ed', 'testing-iconPassed': '#388a34', 'statusBar-background': '#f8f8f8',
  },
};

/** The fake host: what extension/src/inspector/host/panel.ts does, minus VS Code. Runs in the page. */
const fakeHost = `
const core = InspectorCore;
const capture = new core.Capture({ maxMessages: 100000, maxBytes: 512 * 1024 * 1024 });
const responder = new core.Responder((envelope) => window.postMessage(envelope, '*'));
const feed = new core.ViewFeed(capture, (m) => responder.push(m));
window.__host = { capture, feed, sent: [], posts: [], copies: [] };
const rates = new core.RateMeter();
function stats() {
  const directions = ['sent', 'received'].map((d) => ({ direction: d, ...capture.totalsFor(d), ...rates.sample(d, capture.totalsFor(d), Date.now()), queued: 0, capacity: 16 }));
  return { state: 'connected', directions, serverPid: 4242, clientPid: 4343, serverAlive: true, clientAlive: true,
    retained: capture.length, retainedBytes: capture.retainedBytes, dropped: capture.dropped, maxMessages: capture.limits.maxMessages };
}
const requests = {
  ready: () => { responder.push({ type: 'target', name: 'demo.channel', mode: 'peer', canSend: true, captureId: 'c1' }); feed.attach(); responder.push({ type: 'stats', stats: stats() }); return { paused: feed.isPaused }; },
  select: (m) => { const e = capture.get(m.seq); return e ? { found: true, data: e.kind === 'message' ? e.data : new Uint8Array(0), length: e.length ?? 0, row: capture.summarize(e) } : { found: false }; },
  filter: (m) => { try { feed.setFilter(m.spec); return {}; } catch (e) { return { error: e.message }; } },
  pause: (m) => { feed.setPaused(m.paused); return { paused: feed.isPaused }; },
  send: (m) => { try { const data = core.encodeSendInput(m.format, m.input, m.lineEnding); window.__host.sent.push([...data]); capture.addMessage('sent', data, Date.now()); return { ok: true }; } catch (e) { return { ok: false, message: e.message }; } },
};
window.acquireVsCodeApi = () => ({
  getState: () => JSON.parse(sessionStorage.getItem('state') || 'null'),
  setState: (s) => sessionStorage.setItem('state', JSON.stringify(s)),
  postMessage: (raw) => {
    const envelope = core.parseWebviewEnvelope(raw);
    const m = envelope.body;
    window.__host.posts.push(m);
    if (core.isRequest(m)) { void core.answerRequest(requests, envelope.messageId, m, responder); return; }
    switch (m.type) {
      case 'clear': capture.clear(); break;
      case 'copy': window.__host.copies.push(m); break;
    }
  },
});
`;

async function preparePage(theme) {
  mkdirSync(dir, { recursive: true });
  await build({ entryPoints: [join(repoRoot, 'extension/src/inspector/shared/core.ts')], outfile: join(dir, 'core.js'), bundle: true,
    platform: 'browser', format: 'iife', globalName: 'InspectorCore', logLevel: 'silent' });
  await build({ entryPoints: [join(repoRoot, 'extension/src/inspector/webview/main.ts')], outfile: join(dir, 'inspector.js'), bundle: true,
    platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'silent' });
  writeFileSync(join(dir, 'host.js'), fakeHost);
  const vars = Object.entries(themes[theme]).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ');
  const url = (path) => pathToFileURL(path).href;
  const html = `<!DOCTYPE html><html><head><meta charset="UTF-8">
<link rel="stylesheet" href="${url(join(repoRoot, 'node_modules/@vscode/codicons/dist/codicon.css'))}">
<link rel="stylesheet" href="${url(join(repoRoot, 'extension/media/inspector/inspector.css'))}">
<style>:root { ${vars} }</style></head>
<body class="vscode-${theme}"><div id="app"></div>
<script src="core.js"></script><script src="host.js"></script><script src="inspector.js"></script></body></html>`;
  const file = join(dir, `page-${theme}.html`);
  writeFileSync(file, html);
  return url(file);
}

async function openPage(t, theme = 'dark') {
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(await preparePage(theme));
  await page.locator('#title').filter({ hasText: 'demo.channel' }).waitFor();
  return { page, errors };
}

const rowCount = (page) => page.locator('#listViewport .row:not([hidden])').count();

test('webview: 100,000 rows are virtualised, follow the tail, and keyboard navigation selects', async (t) => {
  const { page, errors } = await openPage(t);
  await page.evaluate(() => {
    const { capture } = window.__host;
    const enc = new TextEncoder();
    for (let i = 0; i < 100000; i++) capture.addMessage(i % 2 ? 'received' : 'sent', enc.encode(`message ${i}`), Date.now() + i);
  });
  await page.waitForFunction(() => document.querySelector('#listViewport').scrollHeight === 100000 * 22);
  const rendered = await rowCount(page);
  assert.ok(rendered > 10 && rendered < 100, `only the visible rows are in the DOM (got ${rendered})`);
  // Following: the last row is on screen.
  await page.locator('#listViewport .row', { hasText: 'message 99999' }).waitFor();
  await page.locator('#listViewport').focus();
  await page.keyboard.press('Home');
  await page.locator('#listViewport .row.selected', { hasText: 'message 0' }).waitFor();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.locator('#listViewport .row.selected', { hasText: 'message 2' }).waitFor();
  await page.locator('#detailTitle', { hasText: '#2 ' }).waitFor();
  await page.keyboard.press('PageDown');
  const selected = Number(await page.locator('#listViewport .row.selected').getAttribute('data-seq'));
  assert.ok(selected > 10, `PageDown moved a page (now at ${selected})`);
  await page.keyboard.press('End');
  await page.locator('#listViewport .row.selected', { hasText: 'message 99999' }).waitFor();
  await page.keyboard.press('Control+c');
  await page.waitForFunction(() => window.__host.copies.length === 1);
  assert.deepEqual(await page.evaluate(() => window.__host.copies[0]), { type: 'copy', seq: 99999, format: 'text', start: undefined, end: undefined });
  assert.deepEqual(errors, []);
});

test('webview: hex and ASCII selections are one selection; text view shows invalid bytes and line endings', async (t) => {
  const { page, errors } = await openPage(t);
  await page.evaluate(() => {
    const data = new Uint8Array([0x48, 0x69, 0x0d, 0x0a, 0xff, 0x00, ...new TextEncoder().encode('0123456789abcdefXYZ')]);
    window.__host.capture.addMessage('received', data, Date.now());
  });
  await page.locator('#listViewport .row').first().click();
  await page.locator('#hexView .hex-line').first().waitFor();
  assert.equal(await page.locator('#hexView .hex-line').count(), 2);
  const firstLine = page.locator('#hexView .hex-line').first();
  assert.equal((await firstLine.locator('.hex .b').allTextContents()).join(' '), '48 69 0d 0a ff 00 30 31 32 33 34 35 36 37 38 39');
  assert.equal((await firstLine.locator('.ascii .b').allTextContents()).join(''), 'Hi....0123456789');
  // Drag over hex bytes 1..4: the same bytes are selected in the ASCII column.
  await firstLine.locator('.hex .b').nth(1).hover();
  await page.mouse.down();
  await firstLine.locator('.hex .b').nth(4).hover();
  await page.mouse.up();
  const selectedAscii = await page.locator('#hexView .ascii .b.sel').evaluateAll((els) => els.map((e) => e.dataset.i));
  assert.deepEqual(selectedAscii, ['1', '2', '3', '4']);
  await page.locator('#selectionInfo', { hasText: '4 bytes' }).waitFor();
  // Shift+arrow extends from the ASCII side too; Ctrl+C copies the selection as hex.
  await firstLine.locator('.ascii .b').nth(6).click();
  await page.keyboard.press('Shift+ArrowRight');
  await page.keyboard.press('Shift+ArrowRight');
  assert.deepEqual(await page.locator('#hexView .hex .b.sel').evaluateAll((els) => els.map((e) => e.textContent)), ['30', '31', '32']);
  await page.keyboard.press('Control+c');
  await page.waitForFunction(() => window.__host.copies.length === 1);
  assert.deepEqual(await page.evaluate(() => window.__host.copies[0]), { type: 'copy', seq: 0, format: 'hex', start: 6, end: 9 });
  await page.locator('#tab-text').click();
  await page.locator('#textView .invalid', { hasText: '\\xff' }).waitFor();
  await page.locator('#textView .control', { hasText: '␀' }).waitFor();
  await page.locator('#showEol').check();
  await page.locator('#textView .eol-mark', { hasText: '␍␊' }).waitFor();
  assert.deepEqual(errors, []);
});

test('webview: JSON is pretty-printed; filters by text, hex and direction narrow the list', async (t) => {
  const { page, errors } = await openPage(t);
  await page.evaluate(() => {
    const enc = new TextEncoder();
    const { capture } = window.__host;
    capture.addMessage('sent', enc.encode('{"op":"ping","id":7}'), Date.now());
    capture.addMessage('received', enc.encode('PONG 7\r\n'), Date.now());
    capture.addMessage('received', new Uint8Array([1, 2, 3, 0xfe]), Date.now());
    capture.addEvent('peer-gone', 'the peer closed the channel or died', Date.now());
  });
  await page.locator('#listViewport .row.event', { hasText: 'peer-gone' }).waitFor();
  await page.locator('#listViewport .row').first().click();
  await page.locator('#tab-json').click();
  await page.locator('#jsonView', { hasText: '"op": "ping"' }).waitFor();
  await page.locator('#filterText').fill('pong');
  await page.waitForFunction(() => [...document.querySelectorAll('#listViewport .row:not([hidden])')].map((r) => r.dataset.seq).join() === '1,3');
  await page.locator('#filterEvents').uncheck();
  await page.waitForFunction(() => [...document.querySelectorAll('#listViewport .row:not([hidden])')].map((r) => r.dataset.seq).join() === '1');
  await page.locator('#filterText').fill('');
  await page.locator('#filterHex').fill('03 fe');
  await page.waitForFunction(() => [...document.querySelectorAll('#listViewport .row:not([hidden])')].map((r) => r.dataset.seq).join() === '2');
  await page.locator('#filterHex').fill('zz');
  await page.locator('#filterError', { hasText: 'not a hex digit' }).waitFor();
  await page.locator('#filterHex').fill('');
  await page.locator('#directionFilters input[value="received"]').uncheck();
  await page.waitForFunction(() => [...document.querySelectorAll('#listViewport .row:not([hidden])')].map((r) => r.dataset.seq).join() === '0');
  assert.deepEqual(errors, []);
});

test('webview: the send box encodes text/hex/base64 with line endings and keeps a history', async (t) => {
  const { page, errors } = await openPage(t);
  const input = page.locator('#sendInput');
  await page.locator('#lineEnding').selectOption('crlf');
  await input.fill('hello');
  await input.press('Enter');
  await page.waitForFunction(() => window.__host.sent.length === 1);
  assert.equal(await input.inputValue(), '', 'the box empties after a send');
  await page.locator('#sendFormat').selectOption('hex');
  assert.equal(await page.locator('#lineEnding').isDisabled(), true, 'line endings apply to text only');
  await input.fill('00 ff 7f');
  await page.locator('#send').click();
  await page.waitForFunction(() => window.__host.sent.length === 2);
  await input.fill('0g');
  await input.press('Enter');
  await page.locator('#sendError', { hasText: 'not a hex digit' }).waitFor();
  assert.equal(await input.inputValue(), '0g', 'a refused input stays for fixing');
  await page.locator('#sendFormat').selectOption('base64');
  await input.fill('AAEC');
  await input.press('Enter');
  await page.waitForFunction(() => window.__host.sent.length === 3);
  assert.deepEqual(await page.evaluate(() => window.__host.sent), [[104, 101, 108, 108, 111, 13, 10], [0, 255, 127], [0, 1, 2]]);
  await input.press('ArrowUp');
  assert.equal(await input.inputValue(), 'AAEC');
  await input.press('ArrowUp');
  assert.equal(await input.inputValue(), '00 ff 7f');
  await input.press('ArrowDown');
  await input.press('ArrowDown');
  assert.equal(await input.inputValue(), '');
  await page.locator('#listViewport .row.out', { hasText: '00 01 02' }).waitFor();
  assert.deepEqual(errors, []);
});

test('webview: retention drops the oldest rows first and the panel says so; pause and clear', async (t) => {
  const { page, errors } = await openPage(t);
  await page.evaluate(() => {
    const { capture } = window.__host;
    capture.setLimits({ maxMessages: 100, maxBytes: 1e9 });
    const enc = new TextEncoder();
    for (let i = 0; i < 150; i++) capture.addMessage('received', enc.encode(`m${i}`), Date.now());
  });
  await page.locator('#dropped', { hasText: '50 oldest messages dropped' }).waitFor();
  await page.locator('#listViewport').focus();
  await page.keyboard.press('Home');
  await page.locator('#listViewport .row.selected', { hasText: 'm50' }).waitFor();
  await page.keyboard.press(' ');
  await page.locator('#pause[aria-pressed="true"]').waitFor();
  await page.locator('#pausedNotice', { hasText: 'paused' }).waitFor();
  await page.evaluate(() => window.__host.capture.addMessage('sent', new TextEncoder().encode('while paused'), Date.now()));
  await page.waitForTimeout(200);
  assert.equal(await page.locator('#listViewport .row', { hasText: 'while paused' }).count(), 0, 'paused: the list does not change');
  await page.locator('#pause').click();
  await page.locator('#pausedNotice').waitFor({ state: 'hidden' });
  await page.locator('#listViewport').focus();
  await page.keyboard.press('End');
  await page.locator('#listViewport .row.selected', { hasText: 'while paused' }).waitFor();
  await page.locator('#clear').click();
  await page.locator('#empty', { hasText: 'No messages yet' }).waitFor();
  await page.locator('#dropped').waitFor({ state: 'hidden' });
  assert.deepEqual(errors, []);
});

test('webview: screenshots in dark and light themes', async (t) => {
  for (const theme of ['dark', 'light']) {
    const { page, errors } = await openPage(t, theme);
    await page.evaluate(() => {
      const enc = new TextEncoder();
      const { capture } = window.__host;
      const t0 = Date.now();
      capture.addEvent('attached', 'server, state connected, peer pid 4343', t0);
      for (let i = 0; i < 40; i++) {
        capture.addMessage('sent', enc.encode(`{"op":"read","id":${i},"path":"/sensor/${i % 4}"}`), t0 + i * 3.2);
        capture.addMessage('received', i % 5 === 4 ? new Uint8Array([0x02, i, 0xff, 0x10, 0x00, 0x7f, 0x03]) : enc.encode(`OK ${i} value=${(i * 1.7).toFixed(2)}\r\n`), t0 + i * 3.2 + 0.4);
      }
      capture.addEvent('peer-gone', 'the peer closed the channel or died', t0 + 200);
    });
    await page.locator('#listViewport .row', { hasText: 'peer-gone' }).waitFor();
    await page.locator('#listViewport').focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowDown');
    await page.locator('#listViewport .row.selected[data-seq="10"]').waitFor();
    await page.locator('#hexView .hex-line').first().waitFor();
    await page.locator('#hexView .hex .b').nth(2).click();
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.locator('#sendInput').fill('{"op":"ping"}');
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, `inspector-webview-${theme}.png`) });
    assert.deepEqual(errors, []);
  }
});
