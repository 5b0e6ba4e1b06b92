// The SIPC messages panel end to end in a real VS Code (code-server + the packaged .vsix) with the `sipc` CLI as
// peer: the panel sits in the bottom area, a tab per connection, the peer's text and binary messages appear live
// (hex for binary) with time and direction, the one-line send box reaches the peer byte-exact, autoscroll stops
// only when the user scrolls up, and the link opens the inspector. Screenshots in the dark and light themes go to
// test/out/screenshots/. Needs `npm run package` first and Debian chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startWorkbench, runCommand, webviewFrame, screenshot, poll, pickInQuickInput } from '../harness/workbench.mjs';
import { cli, namePrefix, startCliPeer, connectTo } from './helpers.mjs';

const atBottom = (frame) => frame.locator('#log').evaluate((log) => log.scrollTop + log.clientHeight >= log.scrollHeight - 4);

test('messages panel in the workbench: live lines per connection, send box, autoscroll, inspector link, themes', { timeout: 240_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}panel-ui`;
  const peer = startCliPeer(t, name);
  const wb = await startWorkbench({ theme: 'Default Dark Modern', viewport: { width: 1400, height: 860 } });
  t.after(() => wb.stop());
  const { page } = wb;

  await connectTo(page, name);
  await poll(async () => {
    await runCommand(page, 'SIPC: Show Messages Panel');
    return webviewFrame(page).locator('.tab', { hasText: name }).isVisible({ timeout: 8000 }).catch(() => false);
  }, { what: 'the messages panel to show the connection', timeoutMs: 60_000, intervalMs: 1000 });
  // It is in the bottom panel, beside Terminal and Output.
  await page.locator('.part.panel .composite-bar').getByText('SIPC', { exact: true }).first().waitFor();
  const frame = webviewFrame(page);
  await frame.locator('.tab[aria-selected="true"]', { hasText: name }).waitFor();
  await frame.locator('#info', { hasText: 'connected' }).waitFor();

  // The peer's messages appear as they arrive: text as text, binary as hex.
  peer.child.stdin.write('hello from the cli\n');
  peer.child.stdin.write(Buffer.from([0x00, 0x01, 0x7f, 0xfe, 0x0a]));
  const inbound = frame.locator('#log .line.in');
  await poll(async () => (await inbound.count()) === 2, { what: 'two received lines', timeoutMs: 15_000 });
  assert.equal(await inbound.nth(0).locator('.d').textContent(), 'hello from the cli');
  assert.equal(await inbound.nth(1).locator('.d').textContent(), '00 01 7f fe');
  assert.match(await inbound.nth(1).getAttribute('class'), /\bhex\b/);
  assert.match(await inbound.nth(0).locator('.t').textContent(), /^\d\d:\d\d:\d\d\.\d{6}$/);

  // The one-line send box: text, then hex, byte-exact at the peer; the sent lines show too.
  const input = frame.locator('#input');
  await input.fill('ping é');
  await input.press('Enter');
  await frame.locator('#format').selectOption('hex');
  await input.fill('de ad be ef');
  await input.press('Enter');
  await poll(() => peer.received.length >= 2, { what: `the CLI to print two messages (got ${JSON.stringify(peer.received)})`, timeoutMs: 15_000 });
  assert.deepEqual(peer.received.slice(0, 2), [Buffer.from('ping é').toString('hex'), 'deadbeef']);
  await poll(async () => (await frame.locator('#log .line.out').count()) === 2, { what: 'two sent lines' });
  await frame.locator('#format').selectOption('text');

  // Autoscroll: a burst keeps the newest line in view; scrolling up stops following, the bottom resumes it.
  peer.child.stdin.write(Array.from({ length: 200 }, (_, i) => `burst ${i}\n`).join(''));
  await frame.locator('#log .line', { hasText: 'burst 199' }).waitFor();
  await poll(() => atBottom(frame), { what: 'the log to follow the burst' });
  const log = frame.locator('#log');
  await log.hover();
  await page.mouse.wheel(0, -800);
  await frame.locator('#follow[aria-pressed="false"]').waitFor();
  const scrolledTo = await log.evaluate((el) => el.scrollTop);
  peer.child.stdin.write(Array.from({ length: 50 }, (_, i) => `later ${i}\n`).join(''));
  await frame.locator('#log .line', { hasText: 'later 49' }).waitFor({ state: 'attached' });
  assert.equal(await atBottom(frame), false, 'scrolled up: new lines do not pull the view down');
  assert.equal(await log.evaluate((el) => el.scrollTop), scrolledTo);
  // More lines than the page draws: the oldest leave, and the line the user reads stays where it was.
  const topLine = (el) => [...el.children].find((line) => line.offsetTop + line.offsetHeight > el.scrollTop)?.textContent;
  const readBefore = await log.evaluate(topLine);
  // In chunks the page draws whole (a post carries at most 200 lines per connection; the rest is counted).
  for (let chunk = 0; chunk < 10; chunk++) {
    peer.child.stdin.write(Array.from({ length: 180 }, (_, i) => `flood ${chunk * 180 + i}\n`).join(''));
    await frame.locator('#log .line', { hasText: `flood ${chunk * 180 + 179}` }).waitFor({ state: 'attached' });
  }
  assert.equal(await log.evaluate((el) => el.childElementCount), 2000, 'the page draws at most 2,000 lines');
  assert.equal(await log.evaluate(topLine), readBefore, 'trimming the oldest lines does not move what the user reads');
  await page.mouse.wheel(0, 100_000);
  await frame.locator('#follow[aria-pressed="true"]').waitFor();
  peer.child.stdin.write('the newest\n');
  await frame.locator('#log .line', { hasText: 'the newest' }).waitFor();
  await poll(() => atBottom(frame), { what: 'following again after scrolling to the bottom' });

  await screenshot(page, 'messages-panel-dark');
  await runCommand(page, 'Preferences: Color Theme');
  await pickInQuickInput(page, 'Light Modern');
  await poll(async () => (await page.locator('.monaco-workbench.vs').count()) > 0, { what: 'the light theme' });
  await frame.locator('#log .line').first().waitFor();
  await screenshot(page, 'messages-panel-light');

  // The link opens the inspector on this connection.
  await frame.locator('#inspectorLink').click();
  await poll(async () => webviewFrame(page).locator('#title', { hasText: name }).isVisible().catch(() => false),
    { what: 'the inspector to open on the connection', timeoutMs: 30_000, intervalMs: 500 });
  assert.deepEqual(wb.console.filter((line) => /Content Security Policy|Refused to (load|apply|execute)/i.test(line)), [],
    'no CSP violations');
});
