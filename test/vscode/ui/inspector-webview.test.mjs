// The inspector webview on its own, in headless Chromium, against an in-page fake of the extension host built
// from the same pure modules (Capture, ViewFeed, encodeSendInput). Fast (no VS Code), so it can check the
// details: virtualised rows, hex/ASCII selection sync, keyboard navigation, filters, the send box, the theme.
// The real workbench end-to-end test is inspector-workbench.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPage, rowCount, screenshots, themes } from '../harness/inspector-page.mjs';

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
    // What the screenshot shows: the page in this theme's colours, and the selection just made.
    const colours = await page.evaluate(() => {
      const style = getComputedStyle(document.body);
      return { background: style.backgroundColor, foreground: style.color };
    });
    assert.deepEqual(colours, { background: rgb(themes[theme]['editor-background']), foreground: rgb(themes[theme].foreground) },
      `${theme}: the page takes its colours from the theme`);
    assert.match(await page.locator('#selectionInfo').textContent(), /^Selected 0x2–0x5 \(4 bytes, offsets 2–5\) of \d+$/);
    assert.equal(await page.locator('#listViewport .row.selected').getAttribute('data-seq'), '10');
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, `inspector-webview-${theme}.png`) });
    assert.deepEqual(errors, []);
  }
});

/** '#rrggbb' as the browser's computed 'rgb(r, g, b)'. */
function rgb(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}
