// The inspector's observer source (extension/src/inspector/host/sources.ts) against real sipc processes, outside
// VS Code ('vscode' is a stub with EventEmitter): its timeline shows peers attaching, closing and dying with their
// pid, and it observes a channel again as soon as the name reappears (the channel watch, not its retry timer),
// saying how many messages went by meanwhile.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDebrisAtExit, dieWithParent, runPrefix } from '../debris.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const target = `${process.platform}-${process.arch}`;
const cli = join(root, 'helper/build', target, 'sipc');
process.env.SIPC_LIBRARY ??= join(root, 'helper/build', target, process.platform === 'win32' ? 'sipc.dll' : 'libsipc.so');

async function load(entry) {
  const outfile = join(root, 'test/out/unit', `observer-source-${entry.replace(/\W+/g, '-')}-${process.pid}.cjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, entry)], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent',
    alias: { vscode: join(root, 'test/unit/vscode-stub.cjs') }, external: ['koffi'],
  });
  process.on('exit', () => rmSync(outfile, { force: true }));
  return createRequire(import.meta.url)(outfile);
}

const { HeldAttachRow, ObserverSource } = await load('extension/src/inspector/host/sources.ts');
const { Capture } = await load('extension/src/inspector/shared/capture.ts');
const log = { info() {}, warn() {}, error() {} };
// The run's own prefix: the exit check fails the file on a leftover, and the next run removes what a killed one left.
const prefix = runPrefix('t-obsrc');
checkDebrisAtExit(cli, prefix, 'test/unit inspector-observer-source');
const name = `${prefix}ch`;
const children = new Set();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  spawnSync(cli, ['rm', '--force', '--', name], { stdio: 'ignore' });
});

function startCli(args) {
  const child = spawn(...dieWithParent([cli, args]), { stdio: ['pipe', 'ignore', 'ignore'] });
  children.add(child);
  const done = new Promise((resolve) => child.on('close', (code) => { children.delete(child); resolve(code); }));
  return { child, done };
}

/** The capture's rows in order. */
function rows(capture) {
  const out = [];
  for (let seq = capture.firstSeq; seq < capture.firstSeq + capture.length; seq++) out.push(capture.get(seq));
  return out;
}

/** The capture's events as "event detail" strings. */
function events(capture) {
  const out = [];
  for (let seq = capture.firstSeq; seq < capture.firstSeq + capture.length; seq++) {
    const entry = capture.get(seq);
    if (entry?.kind === 'event') out.push(`${entry.event} ${entry.detail}`);
  }
  return out;
}

async function until(predicate, what, ms = 15000) {
  const stop = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > stop) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('the observer timeline: attached, closed, died with pids; re-attached at once when the name comes back', { timeout: 60000 }, async () => {
  const capture = new Capture();
  // The retry timer is a minute: only the channel watch can bring the observer back within the test's waits.
  const source = new ObserverSource(name, capture, log, 60000);
  try {
    await until(() => events(capture).some((e) => e.startsWith('not-found ')), 'the first attempt to fail');
    const echo = startCli(['echo', name]);
    await until(() => events(capture).some((e) => e.startsWith('observing ')), 'the observer to attach when the channel appears');
    await until(() => events(capture).some((e) => e === `peer-attached server pid ${echo.child.pid} attached`), 'the server attached');
    // The server held its role before the observer attached: its row (stamped with that attach) comes before the
    // 'observing' row, so the timeline is in order and no Δ is negative.
    const stamps = rows(capture).map((entry) => entry.timestamp);
    const observing = rows(capture).findIndex((entry) => entry.event === 'observing');
    const server = rows(capture).findIndex((entry) => entry.event === 'peer-attached' && entry.detail.startsWith('server '));
    assert.ok(stamps.slice(0, Math.max(observing, server) + 1).every((t, i) => i === 0 || t >= stamps[i - 1]),
      rows(capture).map((entry) => `${entry.timestamp} ${entry.event} ${entry.detail}`).join('\n'));
    // A client that stays until told (a one-shot `sipc send` can come and go before the observer looks: then the
    // row says the pid is unknown).
    const client = startCli(['connect', name]);
    await until(() => events(capture).some((e) => e === `peer-attached client pid ${client.child.pid} attached`), 'the client attached');
    client.child.stdin.end('hello\n');
    assert.equal(await client.done, 0);
    await until(() => events(capture).some((e) => e === `peer-closed client pid ${client.child.pid} closed the channel`), 'the client closed');
    echo.child.kill('SIGKILL');
    await echo.done;
    await until(() => events(capture).some((e) => e === `peer-died server pid ${echo.child.pid} died without closing (killed or crashed)`), 'the server died');
    spawnSync(cli, ['rm', '--force', '--', name], { stdio: 'ignore' });
    await until(() => events(capture).some((e) => e.startsWith('gone ')), 'the channel gone');
    const again = startCli(['echo', name]);
    await until(() => events(capture).some((e) => e.startsWith('reattached observer re-attached; ')), 'the re-attach');
    // Two messages sent after the re-attach: the first one's sequence says none went by unseen.
    const second = startCli(['send', name, 'after']);
    assert.equal(await second.done, 0);
    await until(() => capture.totalsFor('to-server').messages >= 2, 'the message after the re-attach');
    assert.ok(events(capture).includes('reattached 0 client→server message(s) were sent before the observer re-attached'), events(capture).join('\n'));
    again.child.kill('SIGTERM');
    await again.done;
  } finally {
    source.dispose();
  }
});

test('the lossless toggle: switched on, the observer copies every message of a channel far busier than its queue', { timeout: 60000 }, async () => {
  const lossless = `${name}-ll`;
  const capture = new Capture({ maxMessages: 100000, maxBytes: 64 << 20 });
  const echo = startCli(['echo', lossless, '--depth', '2', '--timeout', '30000']);
  let source;
  try {
    await until(() => spawnSync(cli, ['stat', lossless]).status === 0, 'the channel');
    source = new ObserverSource(lossless, capture, log, 60000);
    await until(() => events(capture).some((e) => e.startsWith('observing ')), 'the observer to attach');
    assert.equal(source.lossless, false);
    await source.setLossless(true);
    assert.equal(source.lossless, true);
    assert.ok(events(capture).some((e) => e.startsWith('lossless lossless observation on')), events(capture).join('\n'));
    // 400 small messages, then one larger than what the capture copies into its blocks (kept as the source hands it
    // over: that must be memory of its own, not a view of the observer's batch).
    const count = 401;
    const large = 'L'.repeat(3000);
    const lines = [...Array.from({ length: count - 1 }, (_, i) => `m${i}`), large];
    const client = startCli(['connect', lossless]);
    client.child.stdin.end(lines.map((line) => `${line}\n`).join(''));
    assert.equal(await client.done, 0);
    await until(() => capture.totalsFor('to-server').messages === count && capture.totalsFor('to-client').messages === count, `all ${count} each way`);
    assert.deepEqual(events(capture).filter((e) => /^(missed|lossless-dropped) /.test(e)), [], 'nothing missed, never dropped');
    const sent = [];
    for (const entry of capture.entries()) if (entry.kind === 'message' && entry.direction === 'to-server') sent.push(entry);
    assert.deepEqual(sent.map((entry) => Buffer.from(entry.data).toString()), lines);
    const kept = sent.at(-1).data;
    assert.equal(sent.at(-1).length, large.length);
    assert.ok(kept.byteOffset === 0 && kept.buffer.byteLength === large.length, 'the large message is in memory of its own');
    await source.setLossless(false);
    assert.equal(source.lossless, false);
    assert.ok(events(capture).some((e) => e.startsWith('lossless lossless observation off')));
  } finally {
    source?.dispose();
    echo.child.kill('SIGTERM');
    await echo.done;
    spawnSync(cli, ['rm', '--force', '--', lossless], { stdio: 'ignore' });
  }
});

test('the row an observer adds at attach waits for the holders present then (their attach is earlier): no negative Δ', () => {
  const capture = new Capture();
  const attachedAt = 1764000005000;
  const row = new HeldAttachRow(() => capture.addEvent('observing', 'server pid 1, client pid 2', attachedAt), attachedAt, 2, 60_000);
  for (const [pid, t] of [[1, 1764000000000], [2, 1764000003000]]) {
    assert.equal(row.isEarlierAttach('attached', t), true);
    capture.addEvent('peer-attached', `holder pid ${pid} attached`, t);
    row.holderReported();
  }
  capture.addMessage('to-server', new Uint8Array([1]), attachedAt + 10);
  assert.deepEqual(rows(capture).map((e) => e.event ?? e.direction), ['peer-attached', 'peer-attached', 'observing', 'to-server']);
  assert.deepEqual(rows(capture).map((e) => capture.summarize(e).delta), [undefined, 3000, 2000, 10]);

  // A holder that left unreported: the next entry that is not an earlier attach brings the row first.
  const other = new Capture();
  const held = new HeldAttachRow(() => other.addEvent('observing', '', attachedAt), attachedAt, 1, 60_000);
  assert.equal(held.isEarlierAttach('attached', attachedAt + 1), false, 'an attach after the observer\'s is not held back');
  held.flush();
  other.addEvent('peer-attached', 'client pid 3 attached', attachedAt + 1);
  assert.deepEqual(rows(other).map((e) => e.event), ['observing', 'peer-attached']);
  held.flush();
  assert.equal(other.length, 2, 'the row is added once');
  new HeldAttachRow(() => other.addEvent('observing', 'nobody there', attachedAt), attachedAt, 0, 60_000);
  assert.equal(rows(other).at(-1).detail, 'nobody there', 'with no holders the row is added at once');

  // A row stamped before the row above it (any source) shows no Δ rather than a negative one.
  const late = new Capture();
  late.addEvent('observing', '', 2000);
  late.addEvent('peer-attached', 'server pid 1 attached', 1000);
  assert.deepEqual(rows(late).map((e) => late.summarize(e).delta), [undefined, undefined]);
});
