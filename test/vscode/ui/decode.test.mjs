// Decoded views in a real VS Code: a workspace with .sipc/channels.json and a C header, an echo server and a
// client sending binary structs; the inspector (observer) shows the schema, the field tree of a message, links
// the tree and the hex view both ways, reports an unknown tag, and filters rows by field values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorkbench, runCommand, webviewFrame, screenshot, poll } from '../harness/workbench.mjs';
import { cli, namePrefix, startCliPeer, connectTo, openInspectorOn } from './helpers.mjs';
import { testTempDir } from '../../debris.mjs';


const HEADER = `#include <stdint.h>
enum msg_type { MSG_HELLO = 1, MSG_SAMPLE = 2 };
struct hello { uint16_t type; uint16_t version; char name[12]; };
struct sample { uint16_t type; uint16_t channel; uint32_t seq; double value; };
`;

/** A workspace whose .sipc/channels.json maps this run's decode-* channels to HEADER as a tagged union. */
function workspaceWithSchema(t) {
  const folder = testTempDir('decode-ws');
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  mkdirSync(join(folder, '.sipc'));
  writeFileSync(join(folder, '.sipc', 'protocol.h'), HEADER);
  writeFileSync(join(folder, '.sipc', 'channels.json'), JSON.stringify({
    channels: [{ match: `${namePrefix}decode-*`, schema: 'protocol.h', tag: { offset: 0, type: 'uint16_t' }, cases: { MSG_HELLO: 'struct hello', MSG_SAMPLE: 'struct sample' } }],
  }, null, 2));
  return folder;
}

function hello(name) {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(3, 2);
  b.write(name, 4, 'latin1');
  return b;
}
function sample(seq, value) {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16LE(7, 2);
  b.writeUInt32LE(seq, 4);
  b.writeDoubleLE(value, 8);
  return b;
}

test('decoded fields: schema from .sipc/, field tree, tree ↔ hex selection, unknown tag, field filter', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}decode-ui`;
  const folder = workspaceWithSchema(t);

  const echo = spawn(cli, ['echo', name], { stdio: 'ignore' });
  t.after(() => {
    if (echo.exitCode === null) echo.kill('SIGTERM');
    spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  await poll(() => spawnSync(cli, ['stat', name]).status === 0, { what: 'the echo server to create the channel' });
  const wb = await startWorkbench({ folder, theme: 'Default Dark Modern', viewport: { width: 1400, height: 900 } });
  t.after(() => wb.stop());
  const { page } = wb;
  // The channel picker lists the machine's channels; under load `sipc ls` and the palette can be slow: retry.
  const widget = page.locator('.quick-input-widget');
  await poll(async () => {
    await runCommand(page, 'SIPC: Inspect Channel…');
    return widget.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, async () => {
      await page.keyboard.press('Escape');
      return false;
    });
  }, { what: 'the channel picker of Inspect Channel', timeoutMs: 40_000, intervalMs: 1000 }).catch(async (error) => {
    await runCommand(page, 'Notifications: Show Notifications').catch(() => {});
    const notes = await page.locator('.notifications-center .notification-list-item-message').allTextContents().catch(() => []);
    throw new Error(`notifications: ${JSON.stringify(notes)} ${error.message} (screenshot: ${await screenshot(page, `failed-decode-picker-${process.pid}`)})`);
  });
  await widget.locator('input').first().fill(name);
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  const frame = webviewFrame(page);
  await frame.locator('#mode', { hasText: 'observer' }).waitFor({ timeout: 30_000 });
  await frame.locator('#schemaInfo', { hasText: 'tagged by uint16_t at offset 0' }).waitFor({ timeout: 15_000 });

  // Stdin lines become messages: none of these bytes is a newline.
  const messages = [hello('left'), sample(1, 21.5), sample(2, 42.25), Buffer.from([9, 0, 1, 2])];
  for (const m of messages) assert.ok(!m.includes(0x0a));
  const client = spawn(cli, ['connect', name, '--linger', '3000'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.after(() => { if (client.exitCode === null) client.kill('SIGTERM'); });
  client.stdin.end(Buffer.concat(messages.flatMap((m) => [m, Buffer.from('\n')])));
  const toServer = frame.locator('#listViewport .row.out');
  await poll(async () => (await toServer.count()) === 4, { what: 'four client→server rows', timeoutMs: 20_000 });

  // A sample: one row per field, with type, value, offset and size.
  await toServer.nth(1).click();
  await frame.locator('#fieldTree .field-row[data-path="value"]').waitFor();
  const rows = await frame.locator('#fieldTree .field-row').evaluateAll((els) => els.map((el) =>
    [...el.querySelectorAll('span.f-name, span.f-type, span.f-value, span.f-offset, span.f-size')].map((s) => s.textContent.trim())));
  assert.deepEqual(rows, [
    ['type', 'uint16_t', '2', '0', '2'],
    ['channel', 'uint16_t', '7', '2', '2'],
    ['seq', 'uint32_t', '1', '4', '4'],
    ['value', 'double', '21.5', '8', '8'],
  ]);

  // Tree → hex: choosing a field selects its bytes.
  await frame.locator('#fieldTree .field-row[data-path="value"]').click();
  await poll(async () => (await frame.locator('#hexView .hex .b.sel').count()) === 8, { what: 'the 8 bytes of value selected in the hex view' });
  assert.deepEqual(await frame.locator('#hexView .hex .b.sel').evaluateAll((els) => els.map((e) => Number(e.dataset.i))), [8, 9, 10, 11, 12, 13, 14, 15]);
  // Hex → tree: clicking a byte highlights the field that holds it.
  await frame.locator('#hexView .hex .b[data-i="5"]').click();
  await frame.locator('#fieldTree .field-row.selected[data-path="seq"]').waitFor();
  await screenshot(page, 'decode-field-tree');

  // Plot: the sample's value over time; the host sends the points of every retained message (both directions).
  await frame.locator('#fieldTree .field-row[data-path="value"] .plot-toggle').click();
  await frame.locator('#plotPane:not([hidden]) #plotChart canvas').waitFor();
  await poll(async () => (await frame.locator('#plotPane').getAttribute('data-points')) === '8', { what: 'the points of the 8 retained messages' });
  assert.equal((await frame.locator('#plotFields').textContent()).trim(), 'value');
  await screenshot(page, 'decode-plot');

  // Decoded columns: each picked field gets its own column (header: its path); a message without it shows a dash.
  await frame.locator('#fieldTree .field-row[data-path="seq"] .column-toggle').click();
  await frame.locator('#fieldTree .field-row[data-path="value"] .column-toggle').click();
  const headerPaths = () => frame.locator('#listHeader .c-field').evaluateAll((els) => els.map((e) => e.dataset.path));
  await poll(async () => JSON.stringify(await headerPaths()) === '["seq","value"]', { what: 'a header cell per picked field' });
  await frame.locator('#listViewport .row.out .c-field', { hasText: '42.25' }).waitFor();
  assert.deepEqual(await toServer.nth(0).locator('.c-field').allTextContents(), ['—', '—'], 'a hello has neither field');
  assert.deepEqual(await toServer.nth(2).locator('.c-field').allTextContents(), ['2', '42.25']);
  // Each is resizable like the fixed columns (header and rows follow), and Preview keeps its share of the row.
  const seqWidth = () => toServer.nth(2).locator('.c-field').first().evaluate((e) => e.getBoundingClientRect().width);
  const before = await seqWidth();
  const handle = frame.locator('#listHeader .c-field[data-path="seq"] .resizer');
  const h = await handle.boundingBox();
  await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
  await page.mouse.down();
  await page.mouse.move(h.x + h.width / 2 + 50, h.y + h.height / 2, { steps: 4 });
  await page.mouse.up();
  // The list beside the open detail pane is narrower than its columns' widths: like the fixed columns, every column
  // shrinks in proportion there (Preview keeps its minimum), so the dragged one widens, by less than the 50 px.
  let widened = before;
  try {
    await poll(async () => (widened = await seqWidth()) > before + 15, { what: `the seq column to widen from ${before} px` });
  } catch (error) {
    throw new Error(`${error.message}: ${widened} px (screenshot: ${await screenshot(page, `failed-decode-columns-${process.pid}`)})`);
  }
  const header = await frame.locator('#listHeader .c-field[data-path="seq"]').evaluate((e) => e.getBoundingClientRect().width);
  assert.ok(Math.abs(header - (await seqWidth())) <= 1, 'the header cell follows');
  const preview = await toServer.nth(2).locator('.c-preview').evaluate((e) => e.getBoundingClientRect().width);
  assert.ok(preview >= 150, `Preview keeps its share (${preview} px)`);
  await handle.dblclick();
  await poll(async () => Math.abs((await seqWidth()) - before) <= 1, { what: 'a double click to restore the width' });
  // Unpicking a field removes its column only.
  await frame.locator('#fieldTree .field-row[data-path="seq"] .column-toggle').click();
  await poll(async () => JSON.stringify(await headerPaths()) === '["value"]', { what: 'the seq column to go' });
  await poll(async () => JSON.stringify(await toServer.nth(2).locator('.c-field').allTextContents()) === '["42.25"]', { what: 'rows with the value column only' });
  await screenshot(page, 'decode-columns');

  // The hello's text, and a message whose tag names no type.
  await toServer.nth(0).click();
  await frame.locator('#fieldTree .field-row[data-path="name"] .f-value', { hasText: '"left"' }).waitFor();
  await toServer.nth(3).click();
  await frame.locator('#fieldProblems', { hasText: 'UNKNOWN_TAG: tag 9' }).waitFor();

  // The field filter: only the sample above 30 (both directions of it: the echo sends it back).
  await frame.locator('#filterFields').fill('type == MSG_SAMPLE && sample.value > 30');
  await poll(async () => (await frame.locator('#listViewport .row:not([hidden]):not(.event)').count()) === 2, { what: 'the rows of the one matching sample' });
  await frame.locator('#filterFields').fill('value >');
  await frame.locator('#filterError', { hasText: 'field filter' }).waitFor();
  assert.deepEqual(wb.console.filter((line) => /Content Security Policy|Refused to (load|apply|execute)/i.test(line)), []);
});

test('send from the schema: the form of a tagged union fills in the tag, encodes, and sends through the send box', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}decode-form`;
  const folder = workspaceWithSchema(t);
  // The CLI peer prints every message it receives as a hex line.
  const { received } = startCliPeer(t, name);
  await poll(() => spawnSync(cli, ['stat', name]).status === 0, { what: 'the CLI peer to create the channel' });
  const wb = await startWorkbench({ folder, theme: 'Default Dark Modern', viewport: { width: 1400, height: 900 } });
  t.after(() => wb.stop());
  const { page } = wb;
  await connectTo(page, name);
  const frame = await openInspectorOn(page, name);
  await frame.locator('#sendFormToggle:not([hidden])').waitFor({ timeout: 20_000 });
  await frame.locator('#sendFormToggle').click();
  await frame.locator('#formType').selectOption('struct sample');
  // The form is rebuilt for the chosen type when the host answers: until then the hello's fields (tag 1) are shown.
  await frame.locator('#formFields input[data-path="seq"]').waitFor();
  assert.equal(await frame.locator('#formFields input[data-path="type"]').inputValue(), '2', 'the tag of struct sample is filled in');
  await frame.locator('#formFields input[data-path="seq"]').fill('5');
  await frame.locator('#formFields input[data-path="value"]').fill('2.5');
  const expected = sample(5, 2.5);
  expected.writeUInt16LE(0, 2); // channel left empty
  await frame.locator('#formHex', { hasText: expected.toString('hex').replace(/(..)(?!$)/g, '$1 ') }).waitFor();
  await frame.locator('#formFields input[data-path="seq"]').fill('-1');
  await frame.locator('#formError', { hasText: 'seq: -1 does not fit 32 bits unsigned' }).waitFor();
  await frame.locator('#formFields input[data-path="seq"]').fill('5');
  await frame.locator('#formSend:not([disabled])').waitFor();
  await screenshot(page, 'decode-send-form');
  await frame.locator('#formSend').click();
  await poll(() => received.length >= 1, { what: 'the CLI to receive the form message', timeoutMs: 15_000 });
  assert.equal(received[0], expected.toString('hex'));
  // The same history as typed hex: ↑ in the send box recalls the form's bytes, in hex.
  await frame.locator('#sendInput').press('ArrowUp');
  assert.equal((await frame.locator('#sendInput').inputValue()).replace(/\s/g, ''), expected.toString('hex'));
  assert.equal(await frame.locator('#sendFormat').inputValue(), 'hex');
});

test('picking a schema: Set Channel Schema… through its input box and quick picks, then the field tree and highlights', { timeout: 180_000 }, async (t) => {
  assert.ok(existsSync(cli), `the sipc CLI is not built at ${cli} (make -C helper)`);
  const name = `${namePrefix}pick-ui`;
  // A workspace with two headers and no mapping yet: the user chooses.
  const folder = testTempDir('pick-ws');
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  mkdirSync(join(folder, 'include'));
  writeFileSync(join(folder, 'include', 'protocol.h'), HEADER);
  writeFileSync(join(folder, 'include', 'other.h'), '#include <stdint.h>\nstruct other { uint8_t a; };\n');

  const echo = spawn(cli, ['echo', name], { stdio: 'ignore' });
  t.after(() => {
    if (echo.exitCode === null) echo.kill('SIGTERM');
    spawnSync(cli, ['rm', name, '--force'], { stdio: 'ignore' });
  });
  await poll(() => spawnSync(cli, ['stat', name]).status === 0, { what: 'the echo server to create the channel' });
  const wb = await startWorkbench({ folder, theme: 'Default Light Modern', viewport: { width: 1400, height: 900 } });
  t.after(() => wb.stop());
  const { page } = wb;
  const widget = page.locator('.quick-input-widget');
  await poll(async () => {
    await runCommand(page, 'SIPC: Inspect Channel…');
    if (!(await widget.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, () => false))) return false;
    await widget.locator('input').first().fill(name);
    if (!(await widget.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 10_000 }).then(() => true, () => false))) {
      await page.keyboard.press('Escape');
      return false;
    }
    await page.keyboard.press('Enter');
    return true;
  }, { what: `Inspect Channel… to offer ${name}`, timeoutMs: 60_000, intervalMs: 1000 });
  const frame = webviewFrame(page);
  await frame.locator('#mode', { hasText: 'observer' }).waitFor({ timeout: 30_000 });

  // Set Channel Schema…: the channel's name, then the header (of the two), then the struct (of the header's three).
  await poll(async () => {
    await runCommand(page, 'SIPC: Set Channel Schema…');
    return widget.locator('.quick-input-title', { hasText: 'Set Channel Schema' }).waitFor({ timeout: 15_000 }).then(() => true, async () => {
      await page.keyboard.press('Escape');
      return false;
    });
  }, { what: 'the input box of Set Channel Schema…', timeoutMs: 40_000, intervalMs: 1000 });
  await widget.locator('input').first().fill(name);
  await page.keyboard.press('Enter');
  await widget.locator('.quick-input-title', { hasText: `The C header of ${name}'s messages` }).waitFor({ timeout: 15_000 });
  const headers = await widget.locator('.quick-input-list .monaco-list-row').allTextContents();
  assert.ok(headers.some((h) => h.includes('include/other.h')) && headers.some((h) => h.includes('include/protocol.h')), `both headers offered: ${headers}`);
  await widget.locator('input').first().fill('protocol');
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: 'include/protocol.h' }).first().waitFor();
  await page.keyboard.press('Enter');
  await widget.locator('.quick-input-title', { hasText: `Which type are the messages of ${name}?` }).waitFor({ timeout: 15_000 });
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: 'struct hello' }).first().waitFor();
  await widget.locator('input').first().fill('struct sample');
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: '16 bytes' }).first().waitFor();
  await page.keyboard.press('Enter');

  // The mapping is written, and the open inspector takes the schema at once.
  await poll(() => existsSync(join(folder, '.sipc', 'channels.json')), { what: '.sipc/channels.json to be written' });
  assert.deepEqual(JSON.parse(readFileSync(join(folder, '.sipc', 'channels.json'), 'utf8')).channels, [{ match: name, schema: '../include/protocol.h', type: 'struct sample' }]);
  await frame.locator('#schemaInfo', { hasText: 'struct sample' }).waitFor({ timeout: 15_000 });

  const client = spawn(cli, ['connect', name, '--linger', '3000'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.after(() => { if (client.exitCode === null) client.kill('SIGTERM'); });
  const message = sample(7, 3.75);
  assert.ok(!message.includes(0x0a));
  client.stdin.end(Buffer.concat([message, Buffer.from('\n')]));
  const row = frame.locator('#listViewport .row.out').first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  await frame.locator('#fieldTree .field-row[data-path="value"] .f-value', { hasText: '3.75' }).waitFor();
  assert.equal((await frame.locator('#fieldTree .field-row[data-path="seq"] .f-value').textContent()).trim(), '7');
  // Tree → hex and hex → tree.
  await frame.locator('#fieldTree .field-row[data-path="seq"]').click();
  await poll(async () => (await frame.locator('#hexView .hex .b.sel').count()) === 4, { what: 'the 4 bytes of seq selected in the hex view' });
  assert.deepEqual(await frame.locator('#hexView .hex .b.sel').evaluateAll((els) => els.map((e) => Number(e.dataset.i))), [4, 5, 6, 7]);
  await frame.locator('#hexView .hex .b[data-i="12"]').click();
  await frame.locator('#fieldTree .field-row.selected[data-path="value"]').waitFor();
  await screenshot(page, 'decode-picked-schema-light');
  assert.deepEqual(wb.console.filter((line) => /Content Security Policy|Refused to (load|apply|execute)/i.test(line)), []);
});
