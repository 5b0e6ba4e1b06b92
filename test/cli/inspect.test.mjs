// sipc ls / stat / tap / rm, driven through the real binary.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { assertBinary, cleanup, run, start, uniqueName, waitFor, waitForChannel, waitForTap } from './helpers.mjs';

const T = { timeout: 30000 };

/** The `sipc: tap NAME: stats {...}` line of a tap's stderr, parsed (null if there is none). */
function tapStats(stderr, name) {
  return JSON.parse(new RegExp(`sipc: tap ${name}: stats (\\{.*\\})\n`).exec(stderr)?.[1] ?? 'null');
}

/**
 * A `tap --json --follow --stats` of an echo's channel that saw `text` go both ways, then the channel removed (the echo
 * stopped): returns once the tap said so.
 */
async function followedTapAfterRemoval(label, text) {
  const name = uniqueName(label);
  const echo = start(['echo', name, '--timeout', '15000']);
  await waitForChannel(name);
  const tap = start(['tap', name, '--json', '--follow', '--timeout', '15000', '--stats']);
  await waitForTap(tap);
  // connect waits for the echo's answer: both directions are on the channel before it goes.
  assert.equal((await run(['connect', name, '--timeout', '5000'], { input: `${text}\n` })).stdout.toString(), `${text}\n`);
  echo.child.kill('SIGTERM'); // its exit removes the channel
  await echo.done;
  await waitFor(() => tap.stdout().toString().includes('"event":"removed"'), { timeoutMs: 10000, what: 'the tap to see the removal' });
  return { name, tap };
}

describe('sipc ls / stat / tap / rm', () => {
  before(assertBinary);
  after(cleanup);

  it('stat and ls show a waiting channel with its server pid, text and --json', T, async () => {
    const name = uniqueName('stat');
    const receiver = start(['recv', name, '--max-size', '4k', '--depth', '4', '--timeout', '15000']);
    const info = await waitForChannel(name);
    assert.equal(info.name, name);
    assert.equal(info.state, 'waiting');
    assert.equal(info.serverPid, receiver.child.pid);
    assert.equal(info.serverAlive, true);
    assert.equal(info.clientPid, 0);
    assert.equal(info.maxMessageSize, 4096);
    assert.equal(info.queueDepth, 4);
    // Records of up to 4,160 bytes: 32 queues of 4 fit in 1 MiB, 64 would not; the index holds 4,096 positions, the most
    // (helper/PROTOCOL.md section 2, "Records, index and history").
    assert.equal(info.historyBytes, 532480);
    assert.equal(info.historyMessages, 4096);
    assert.equal(info.stale, false);
    assert.equal(info.mode, '0600');
    assert.deepEqual(Object.keys(info.toServer).sort(), ['bytes', 'capacity', 'lastActivityNs', 'messages', 'queued']);

    const text = await run(['stat', name]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout.toString(), new RegExp(`^name\\s+${name}$`, 'm'));
    assert.match(text.stdout.toString(), /^history\s+532480 bytes, up to 4096 messages per direction \(how far an observer may fall behind\)$/m);
    // The holder's name comes from the library (sipc_process_describe): the CLI itself here.
    assert.match(text.stdout.toString(), new RegExp(`^server pid\\s+${receiver.child.pid} sipc$`, 'm'));
    assert.deepEqual(info.serverProcess, { name: 'sipc', state: 'running', traced: false });
    assert.equal(info.clientProcess, null);

    const listed = await run(['ls', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = listed.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line));
    const entry = entries.find((e) => e.name === name);
    assert.ok(entry, 'channel missing from ls --json');
    assert.equal(entry.serverPid, receiver.child.pid);

    const table = await run(['ls']);
    assert.equal(table.code, 0, table.stderr);
    const row = table.stdout.toString().split('\n').find((line) => line.startsWith(name + ' '));
    assert.ok(row, 'channel missing from ls');
    assert.match(row, new RegExp(`\\bwaiting\\s+${receiver.child.pid} sipc\\s+-\\s+0/4\\s+0/4\\b`));
  });

  it('ls and stat say when a holder is alive but stopped (SIGSTOP), and running again after SIGCONT', T, async () => {
    const name = uniqueName('stopped');
    const receiver = start(['recv', name, '--timeout', '15000']);
    await waitForChannel(name);
    const pid = receiver.child.pid;
    receiver.child.kill('SIGSTOP');
    try {
      const info = await waitForChannel(name, (i) => i.serverProcess?.state === 'stopped');
      assert.equal(info.serverAlive, true, 'a stopped holder is alive, not gone');
      assert.equal(info.stale, false);
      assert.deepEqual(info.serverProcess, { name: 'sipc', state: 'stopped', traced: false });
      const text = await run(['stat', name]);
      assert.match(text.stdout.toString(), new RegExp(`^server pid\\s+${pid} sipc \\(stopped\\)$`, 'm'));
      const table = await run(['ls']);
      const row = table.stdout.toString().split('\n').find((line) => line.startsWith(name + ' '));
      assert.match(row, new RegExp(`\\bwaiting\\s+${pid} sipc \\(stopped\\)\\s+-`));
    } finally {
      receiver.child.kill('SIGCONT');
    }
    await waitForChannel(name, (i) => i.serverProcess?.state === 'running');
    receiver.child.kill('SIGTERM');
    await receiver.done;
  });

  it('stat counts messages per direction after traffic', T, async () => {
    const name = uniqueName('count');
    const receiver = start(['recv', name, '--timeout', '15000']);
    await waitForChannel(name);
    assert.equal((await run(['send', name, '12345', '--timeout', '5000'])).code, 0);
    assert.equal((await run(['send', name, 'abc', '--timeout', '5000'])).code, 0);
    const info = await waitForChannel(name, (i) => i.toServer.messages === 2);
    assert.equal(info.toServer.bytes, 8);
    assert.equal(info.toClient.messages, 0);
    receiver.child.kill('SIGTERM');
    assert.equal((await receiver.done).code, 143);
  });

  it('tap sees both directions between two other sipc processes', T, async () => {
    const name = uniqueName('tap');
    const echo = start(['echo', name, '--count', '2', '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--json', '--count', '4', '--timeout', '15000', '--stats']);
    await waitForTap(tap);
    const client = await run(['connect', name, '--timeout', '5000'], { input: 'ping\nsecond\n' });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.toString(), 'ping\nsecond\n');
    const tapped = await tap.done;
    assert.equal(tapped.code, 0, tapped.stderr);
    const events = tapped.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.equal(events.length, 4);
    const toServer = events.filter((e) => e.dir === 'client->server').map((e) => e.text);
    const toClient = events.filter((e) => e.dir === 'server->client').map((e) => e.text);
    assert.deepEqual(toServer, ['ping', 'second']);
    assert.deepEqual(toClient, ['ping', 'second']);
    for (const e of events) {
      assert.equal(e.length, e.text.length);
      assert.equal(e.missed, 0);
      assert.ok(e.timeNs > 0);
    }
    // --stats: the observer's counters on stderr, one JSON object, in agreement with what was printed.
    const stats = tapStats(tapped.stderr.toString(), name);
    assert.ok(stats !== null, tapped.stderr.toString());
    assert.equal(stats.messages, 4);
    assert.equal(stats.missed, 0);
    assert.equal(stats.missedAsleep + stats.missedAway + stats.missedRunning, 0);
    assert.ok(stats.woken <= stats.sleeps, JSON.stringify(stats));
    assert.equal((await echo.done).code, 0);
  });

  it('tap --json writes each message byte for byte and its time from timeNs (the formatting without printf)', T, async () => {
    const name = uniqueName('tapjson');
    const receiver = start(['recv', name, '--count', '3', '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--json', '--count', '3', '--timeout', '15000']);
    await waitForTap(tap);
    // Every escape a JSON string needs (quote, backslash, the named and the \u00XX control characters, DEL) and
    // UTF-8 of every length; then all 256 byte values (not UTF-8: hex); then an empty message.
    const text = 'a"b\\c\n\r\t\u0000\u0001\u001f\u007f é € 😀 end';
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const hex of [Buffer.from(text, 'utf8').toString('hex'), allBytes.toString('hex')]) {
      const sent = await run(['send', name, '--hex', hex, '--timeout', '5000']);
      assert.equal(sent.code, 0, sent.stderr);
    }
    assert.equal((await run(['send', name, '', '--timeout', '5000'])).code, 0);
    const tapped = await tap.done;
    assert.equal(tapped.code, 0, tapped.stderr);
    const lines = tapped.stdout.toString().trimEnd().split('\n');
    const messages = lines.map((line) => JSON.parse(line));
    assert.deepEqual(messages.map((m) => m.seq), [0, 1, 2]);
    assert.equal(messages[0].text, text);
    assert.equal(messages[0].length, Buffer.byteLength(text));
    assert.equal(messages[1].hex, allBytes.toString('hex'));
    assert.equal(messages[1].text, undefined);
    assert.equal(messages[2].text, '');
    for (const [i, m] of messages.entries()) {
      assert.equal(m.copied, m.length);
      assert.equal(m.missed, 0);
      assert.equal(m.discarded, 0);
      assert.equal(m.undeliverable, false);
      // timeNs exceeds a double's integer range: read it from the line itself.
      const timeNs = BigInt(/"timeNs":(\d+)/.exec(lines[i])[1]);
      const iso = new Date(Number(timeNs / 1000000n)).toISOString();
      assert.equal(m.time, `${iso.slice(0, -1)}${String((timeNs / 1000n) % 1000n).padStart(3, '0')}Z`);
    }
    assert.equal((await receiver.done).code, 0);
  });

  it('tap --json --lossless writes a burst of messages exactly as its format says, byte for byte (seeded)', T, async () => {
    const seed = Number(process.env.SIPC_TEST_SEED ?? Date.now() % 1000000);
    console.log(`tap json burst: seed ${seed} (SIPC_TEST_SEED=${seed} repeats it)`);
    let state = seed >>> 0;
    const random = (n) => { // mulberry32
      state = (state + 0x6d2b79f5) >>> 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    // Lines of pieces: escapes, UTF-8 of every length, bytes that are not UTF-8 (hex), long ASCII runs; no '\n' (one
    // message per line).
    const pieces = ['a', 'plain ascii text, longer than a word', '"', '\\', '\r', '\t', '\b', '\f', '\x7f', '\x01', '\x1f', '\0',
      'é', '€', '😀', '/', '?', "'", ' ', '~'].map((p) => Buffer.from(p, 'utf8'))
      .concat([[0xff], [0x80], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80, 0x80]].map((b) => Buffer.from(b)));
    const sent = Array.from({ length: 120 }, (_, i) => {
      if (i === 0) return Buffer.alloc(0);
      const parts = [];
      for (let n = random(12); n > 0; n--) parts.push(pieces[random(pieces.length)]);
      return Buffer.concat(parts);
    });
    const name = uniqueName('tapburst');
    const echo = start(['echo', name, '--count', String(sent.length), '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--json', '--lossless', '--count', String(2 * sent.length), '--timeout', '15000']);
    await waitForTap(tap);
    const client = await run(['connect', name, '--timeout', '5000', '--format', 'hex'],
      { input: Buffer.concat(sent.flatMap((line) => [line, Buffer.from('\n')])) });
    assert.equal(client.code, 0, client.stderr);
    const tapped = await tap.done;
    assert.equal(tapped.code, 0, tapped.stderr);
    // The reference: the format the tap documents, written out here field by field (JSON escapes as the C code
    // writes them: \" \\ \n \r \t by name, other control characters and DEL as \u00xx, UTF-8 as it is).
    const jsonString = (bytes) => {
      const out = [Buffer.from('"')];
      for (const b of bytes) {
        if (b >= 0x80) out.push(Buffer.from([b]));
        else if (b === 0x22 || b === 0x5c) out.push(Buffer.from(`\\${String.fromCharCode(b)}`));
        else if (b === 0x0a || b === 0x0d || b === 0x09) out.push(Buffer.from(b === 0x0a ? '\\n' : b === 0x0d ? '\\r' : '\\t'));
        else if (b < 0x20 || b === 0x7f) out.push(Buffer.from(`\\u00${b.toString(16).padStart(2, '0')}`));
        else out.push(Buffer.from([b]));
      }
      out.push(Buffer.from('"'));
      return Buffer.concat(out);
    };
    const lines = [];
    for (let start = 0, end; (end = tapped.stdout.indexOf(0x0a, start)) >= 0; start = end + 1) lines.push(tapped.stdout.subarray(start, end));
    assert.equal(lines.length, 2 * sent.length, tapped.stdout.toString());
    const seqs = { 'client->server': 0, 'server->client': 0 };
    for (const line of lines) {
      const dir = /^\{"dir":"(client->server|server->client)"/.exec(line.toString('latin1'))?.[1];
      assert.ok(dir, line.toString('latin1'));
      const seq = seqs[dir]++;
      const bytes = sent[seq];
      const timeNs = /"timeNs":(\d+),/.exec(line.toString('latin1'))[1];
      const ns = BigInt(timeNs);
      const time = `${new Date(Number(ns / 1000000n)).toISOString().slice(0, -1)}${String((ns / 1000n) % 1000n).padStart(3, '0')}Z`;
      const payload = isUtf8(bytes) ? Buffer.concat([Buffer.from('"text":'), jsonString(bytes)]) : Buffer.from(`"hex":"${bytes.toString('hex')}"`);
      const expected = Buffer.concat([Buffer.from(`{"dir":"${dir}","seq":${seq},"timeNs":${timeNs},"time":"${time}","length":${bytes.length},`
        + `"copied":${bytes.length},"missed":0,"discarded":0,"undeliverable":false,`), payload, Buffer.from('}')]);
      assert.equal(line.toString('latin1'), expected.toString('latin1'), `seed ${seed}, ${dir} #${seq}`);
    }
    assert.deepEqual(seqs, { 'client->server': sent.length, 'server->client': sent.length });
    assert.equal((await echo.done).code, 0);
  });

  it('tap text format shows direction, size and a preview', T, async () => {
    const name = uniqueName('taptext');
    const receiver = start(['recv', name, '--count', '1', '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--count', '1', '--timeout', '15000']);
    await waitForTap(tap);
    assert.equal((await run(['send', name, 'line one\nline two', '--timeout', '5000'])).code, 0);
    const tapped = await tap.done;
    assert.equal(tapped.code, 0, tapped.stderr);
    assert.match(tapped.stdout.toString(), /^\d\d:\d\d:\d\d\.\d{6} client->server #0 17 B "line one\\nline two"\n$/);
    assert.equal((await receiver.done).code, 0);
  });

  const MORE_THAN_HISTORY = 5000;
  it('tap reports messages it missed while it was stopped', T, async () => {
    const name = uniqueName('missed');
    // The echo stays (no --count): its exit would remove the channel, and a tap that finds its channel removed ends
    // by itself (exit 0), possibly before the SIGINT below.
    const echo = start(['echo', name, '--depth', '4', '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name]);
    await waitForTap(tap);
    tap.child.kill('SIGSTOP');
    // More messages than the ring's history keeps (4,096 of these at depth 4: helper/PROTOCOL.md section 2, "Records,
    // index and history").
    const lines = Array.from({ length: MORE_THAN_HISTORY }, (_, i) => `m${i}`);
    const client = await run(['connect', name, '--timeout', '5000'], { input: lines.join('\n') + '\n' });
    assert.equal(client.stdout.toString(), lines.join('\n') + '\n');
    tap.child.kill('SIGCONT');
    // Per direction, every message is either shown or counted as missed: wait for that state, then stop the tap.
    const accounted = (output, direction) => {
      const shown = output.split('\n').filter((l) => l.includes(` ${direction} #`)).length;
      const lost = [...output.matchAll(/ (client->server|server->client) missed (\d+) messages?\n/g)]
        .filter((m) => m[1] === direction).reduce((sum, m) => sum + Number(m[2]), 0);
      return { shown, lost };
    };
    const directions = ['client->server', 'server->client'];
    await waitFor(() => directions.every((d) => {
      const { shown, lost } = accounted(tap.stdout().toString(), d);
      return shown + lost >= MORE_THAN_HISTORY;
    }), { timeoutMs: 15000, what: `the tap to show or count all ${MORE_THAN_HISTORY} messages of each direction` });
    tap.child.kill('SIGINT');
    const tapped = await tap.done;
    assert.equal(tapped.code, 130, tapped.stderr);
    const output = tapped.stdout.toString();
    assert.ok(/ missed \d+ messages?\n/.test(output), output);
    for (const direction of directions) {
      const { shown, lost } = accounted(output, direction);
      assert.equal(shown + lost, MORE_THAN_HISTORY, `${direction}: ${shown} shown + ${lost} missed`);
    }
    assert.match(output, new RegExp(` client->server #${MORE_THAN_HISTORY - 1} \\d B "m${MORE_THAN_HISTORY - 1}"\n`));
    echo.child.kill('SIGTERM');
    assert.equal((await echo.done).code, 143);
  });

  it('tap --lossless shows every message of a flood, with the peers\' events', T, async () => {
    const name = uniqueName('lossless');
    const echo = start(['echo', name, '--depth', '4', '--count', '3000', '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--json', '--lossless', '--events', '--count', '6000', '--timeout', '15000']);
    await waitForTap(tap);
    const lines = Array.from({ length: 3000 }, (_, i) => `m${i}`);
    const client = start(['connect', name, '--timeout', '5000'], { input: lines.join('\n') + '\n' });
    const connected = await client.done;
    assert.equal(connected.code, 0, connected.stderr);
    assert.equal(connected.stdout.toString(), lines.join('\n') + '\n');
    const tapped = await tap.done;
    assert.equal(tapped.code, 0, tapped.stderr);
    const records = tapped.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line));
    for (const dir of ['client->server', 'server->client']) {
      const one = records.filter((r) => r.dir === dir);
      assert.deepEqual(one.map((r) => r.seq), lines.map((_, i) => i), dir);
      assert.deepEqual(one.map((r) => r.text), lines, dir);
      assert.ok(one.every((r) => r.missed === 0), dir);
    }
    const events = records.filter((r) => r.event).map((r) => `${r.event} ${r.role} ${r.pid}`);
    assert.deepEqual(events.slice(0, 2), [`attached server ${echo.child.pid}`, `attached client ${client.child.pid}`]);
    assert.equal((await echo.done).code, 0);
  });

  it('a lossless tap whose output nobody reads for a while keeps copying: the peers go on and nothing is missed', T, async () => {
    const name = uniqueName('unread');
    const echo = start(['echo', name, '--depth', '4', '--count', '3000', '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--json', '--lossless', '--events', '--stall-timeout', '10000', '--count', '6000', '--timeout', '15000']);
    await waitForTap(tap);
    // Its stdout is not read until the peers are done: 6,000 lines (over 1 MB) fill the pipe and block the tap's
    // writes early on. Copying apart from printing, it still copies every message as it comes.
    tap.child.stdout.pause();
    const lines = Array.from({ length: 3000 }, (_, i) => `m${i}`);
    const client = await run(['connect', name, '--timeout', '15000'], { input: lines.join('\n') + '\n' });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.toString(), lines.join('\n') + '\n');
    assert.equal((await echo.done).code, 0);
    tap.child.stdout.resume();
    const tapped = await tap.done;
    assert.equal(tapped.code, 0, tapped.stderr);
    const records = tapped.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(records.filter((r) => r.event === 'lossless-dropped'), []);
    for (const dir of ['client->server', 'server->client']) {
      const one = records.filter((r) => r.dir === dir);
      assert.deepEqual(one.map((r) => r.text), lines, dir);
      assert.ok(one.every((r) => r.missed === 0), dir);
    }
  });

  it('a stopped lossless tap holds the peers up for its stall timeout only, then is dropped', T, async () => {
    const name = uniqueName('stalled');
    const echo = start(['echo', name, '--depth', '4', '--count', String(MORE_THAN_HISTORY), '--timeout', '15000']);
    await waitForChannel(name);
    const tap = start(['tap', name, '--lossless', '--stall-timeout', '200', '--events']);
    await waitForTap(tap);
    assert.match(tap.stderr(), /watching both directions, lossless/);
    tap.child.kill('SIGSTOP');
    // More messages than the ring's history keeps (4,096 of these at depth 4: helper/PROTOCOL.md section 2, "Records,
    // index and history").
    const lines = Array.from({ length: MORE_THAN_HISTORY }, (_, i) => `m${i}`);
    const client = await run(['connect', name, '--timeout', '10000'], { input: lines.join('\n') + '\n' });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.toString(), lines.join('\n') + '\n');
    tap.child.kill('SIGCONT');
    await waitFor(() => new RegExp(` client->server #${MORE_THAN_HISTORY - 1} \\d B "m${MORE_THAN_HISTORY - 1}"\n`).test(tap.stdout().toString()), { timeoutMs: 15000, what: 'the tap to catch up' });
    tap.child.kill('SIGINT');
    const output = (await tap.done).stdout.toString();
    assert.match(output, / event lossless observation dropped by the peers \(stalled\)/);
    // Dropped, it is a plain tap again: the ring was reused under it, and it says how many it missed.
    for (const direction of ['client->server', 'server->client']) {
      const shown = output.split('\n').filter((l) => l.includes(` ${direction} #`)).length;
      const lost = [...output.matchAll(/ (client->server|server->client) missed (\d+) messages?\n/g)]
        .filter((m) => m[1] === direction).reduce((sum, m) => sum + Number(m[2]), 0);
      assert.equal(shown + lost, MORE_THAN_HISTORY, `${direction}: ${shown} shown + ${lost} missed`);
      assert.ok(lost > 0, direction);
    }
    assert.equal((await echo.done).code, 0);
  });

  it('tap --follow observes a channel again when its name comes back, and counts what went by meanwhile', T, async () => {
    const { name, tap } = await followedTapAfterRemoval('follow', 'before');
    // Stopped, the tap cannot re-attach before three messages each way have gone by on the new channel.
    tap.child.kill('SIGSTOP');
    const second = start(['echo', name, '--timeout', '15000']);
    await waitForChannel(name);
    const three = await run(['connect', name, '--timeout', '5000'], { input: 'a\nb\nc\n' });
    assert.equal(three.stdout.toString(), 'a\nb\nc\n');
    tap.child.kill('SIGCONT');
    await waitFor(() => tap.stdout().toString().includes('"event":"reattached"'), { timeoutMs: 10000, what: 'the re-attach' });
    assert.equal((await run(['connect', name, '--timeout', '5000'], { input: 'after\n' })).stdout.toString(), 'after\n');
    await waitFor(() => (tap.stdout().toString().match(/"text":"after"/g) ?? []).length === 2, { timeoutMs: 10000, what: 'the message after' });
    tap.child.kill('SIGINT');
    assert.equal((await tap.done).code, 130);
    const records = tap.stdout().toString().trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(records.map((r) => r.event ?? r.text), ['before', 'before', 'removed', 'reattached', 'after', 'after']);
    for (const r of records.filter((x) => x.text === 'after')) {
      assert.equal(r.seq, 3);
      assert.equal(r.missed, 3, 'the three messages of its direction sent before the tap re-attached');
    }
    // --stats counts both observers of the run (the first saw 'before' both ways, the second 'after' both ways);
    // what went by while none was attached is in the output's missed, not in the observers' counters.
    const stats = tapStats(tap.stderr(), name);
    assert.ok(stats !== null, tap.stderr().toString());
    assert.equal(stats.messages, 4, JSON.stringify(stats));
    assert.equal(stats.missed, 0, JSON.stringify(stats));
    second.child.kill('SIGTERM');
    await second.done;
  });

  it('tap --follow --stats stopped while waiting for the channel to come back reports the observer it had', T, async () => {
    const { name, tap } = await followedTapAfterRemoval('followstop', 'only');
    tap.child.kill('SIGINT');
    const tapped = await tap.done;
    assert.equal(tapped.code, 130, tapped.stderr);
    const stats = tapStats(tapped.stderr, name);
    assert.ok(stats !== null, `no stats line: ${tapped.stderr}`);
    assert.equal(stats.messages, 2, JSON.stringify(stats));
    assert.deepEqual(tapped.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line)).map((r) => r.event ?? r.text),
      ['only', 'only', 'removed']);
  });

  it('marks a channel whose processes died as stale; rm needs no --force for it', T, async () => {
    const name = uniqueName('stale');
    const receiver = start(['recv', name, '--timeout', '15000']);
    // Wait until its server role is recorded: a creator killed mid-initialisation leaves an 'empty' object.
    await waitForChannel(name, (i) => i.state === 'waiting' && i.serverPid === receiver.child.pid);
    receiver.child.kill('SIGKILL');
    await receiver.done;
    const info = await waitForChannel(name);
    assert.equal(info.stale, true);
    assert.equal(info.serverAlive, false);
    const table = await run(['ls']);
    const row = table.stdout.toString().split('\n').find((line) => line.startsWith(name + ' '));
    assert.ok(row, 'channel missing from ls');
    assert.match(row, new RegExp(`^${name}\\s+stale\\s+${receiver.child.pid}\\*\\s`));
    const removed = await run(['rm', name]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await run(['stat', name])).code, 12);
  });

  it('rm refuses a live channel without --force, removes it with --force', T, async () => {
    const name = uniqueName('rm');
    const receiver = start(['recv', name, '--timeout', '15000']);
    await waitForChannel(name);
    const refused = await run(['rm', name]);
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /^sipc: rm .*\(BUSY\)\n$/);
    const removed = await run(['rm', '--force', name]);
    assert.equal(removed.code, 0, removed.stderr);
    const gone = await run(['stat', name]);
    assert.equal(gone.code, 12);
    receiver.child.kill('SIGTERM');
    await receiver.done;
  });
});
