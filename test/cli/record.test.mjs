// sipc record / sipc replay through the real binary: pcapng and JSON Lines written, read back by an
// independent parser (./pcapng.mjs) and by tshark when it is installed, replayed against real peers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBinary, cleanup, converse, run, start, uniqueName, waitFor, waitForChannel } from './helpers.mjs';
import { packetDirection, parsePcapng } from './pcapng.mjs';
import { loadCore } from '../unit/inspector-core.mjs';
import { testTempDir } from '../debris.mjs';

const T = { timeout: 60000 };

// The random lines and flipped bits come from one seeded generator (xorshift32): the seed is printed, and
// SIPC_TEST_SEED=N replays a run of this file.
const SEED = (Number(process.env.SIPC_TEST_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0) || 1;
console.log(`record.test.mjs: seed ${SEED} (replay: SIPC_TEST_SEED=${SEED} node --test test/cli/record.test.mjs)`);
let randomState = SEED;
/** A pseudo-random integer from 0 to n - 1. */
function below(n) {
  randomState ^= randomState << 13;
  randomState >>>= 0;
  randomState ^= randomState >>> 17;
  randomState ^= randomState << 5;
  randomState >>>= 0;
  return randomState % n;
}
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

/** Waits until a background sipc printed text on stderr (e.g. record's "recording" once its observers are attached). */
async function waitForStderr(proc, text) {
  let exited = null;
  proc.done.then((result) => { exited = result; });
  await waitFor(() => {
    if (exited && !proc.stderr().includes(text)) throw new Error(`exited early with ${exited.code}: ${exited.stderr}`);
    return proc.stderr().includes(text);
  }, { timeoutMs: 15000, what: `"${text}" on stderr` });
}

/** Starts `sipc record ARGS` and waits until it says `ready` on stderr (its observers are attached). */
async function startRecorder(args, ready = 'recording') {
  const recorder = start(['record', ...args]);
  await waitForStderr(recorder, ready);
  return recorder;
}

/**
 * Waits until check() of a recording holds, taking a throw for "not yet": until the recorder's first flush the file
 * may be missing or empty, and until its next one it may end inside a block or a line.
 */
async function waitForRecording(check, what, timeoutMs = 20000) {
  await waitFor(() => {
    try {
      return check();
    } catch {
      return false;
    }
  }, { timeoutMs, what });
}

/** Stops a recorder with SIGINT and returns its result, which must be exit 0 (a complete file). */
async function stopRecorder(recorder) {
  recorder.child.kill('SIGINT');
  const recorded = await recorder.done;
  assert.equal(recorded.code, 0, recorded.stderr);
  return recorded;
}

/** Lines of random bytes a `sipc connect` sends one message each (no newline, no 0x0B: the CLI peer's separators). */
function randomLines(count, maxLength = 40) {
  return Array.from({ length: count }, () => {
    const bytes = Buffer.from(Array.from({ length: 1 + below(maxLength) }, () => below(256)));
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a || bytes[i] === 0x0b) bytes[i] = 0x41;
    return bytes;
  });
}

/** `sipc record --stats`' line for channel `name` on stderr, parsed (one JSON object, as `sipc tap --stats`). */
function recordStats(stderr, name) {
  const found = new RegExp(`^sipc: record ${name}: stats (\\{.*\\})$`, 'm').exec(stderr);
  assert.ok(found, `a stats line for ${name} in: ${stderr}`);
  return JSON.parse(found[1]);
}

const asInput = (lines) => Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));

/** tshark's view of a file: [p2p_dir, hex payload] per packet (p2p_dir 0 = sent/outbound, 1 = received/inbound). */
function tsharkFields(file) {
  const result = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.p2p_dir', '-e', 'data'], { encoding: 'utf8' });
  assert.equal(result.status, 0, `tshark -r ${file}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}

/**
 * Starts an echo server on a fresh channel and waits until it is there. Its queues are deeper than any test's
 * traffic: the default observer copies slots the peers have not reused yet, so it sees every message whatever the
 * machine's load (a busier channel gets 'missed' events instead: see the test on that).
 */
async function echoChannel(label, depth = 1024) {
  const name = uniqueName(label);
  start(['echo', name, '--timeout', '30000', '--depth', String(depth)]);
  await waitForChannel(name, undefined, 20000);
  return name;
}

function jsonl(channel, entries) {
  const header = { type: 'header', format: 'sipc-capture', version: 1, channel, channels: [channel], mode: 'observe' };
  return [header, ...entries.map(([direction, text, ms], seq) => ({ type: 'message', channel, seq, direction,
    timestampNs: String(1_700_000_000_000_000_000n + BigInt(ms) * 1_000_000n), length: Buffer.byteLength(text),
    data: Buffer.from(text).toString('base64') }))]
    .map((line) => JSON.stringify(line).replace(/"timestampNs":"(\d+)"/, '"timestampNs":$1')).join('\n') + '\n';
}

describe('sipc record', () => {
  let scratch;
  before(() => {
    assertBinary();
    scratch = testTempDir('record');
  });
  after(async () => {
    await cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('records both directions of a channel to pcapng byte for byte, with ns timestamps and direction flags', T, async () => {
    const name = await echoChannel('rec');
    const file = join(scratch, 'one.pcapng');
    const lines = randomLines(25);
    const recorder = await startRecorder([name, '-o', file, '--count', String(2 * lines.length)]);
    const before = BigInt(Date.now()) * 1_000_000n;
    await converse(name, asInput(lines));
    const recorded = await recorder.done;
    const afterNs = BigInt(Date.now() + 1) * 1_000_000n;
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.match(recorded.stderr, /50 messages recorded, 0 missed/);

    const capture = parsePcapng(readFileSync(file));
    // The interface names the side the channel was recorded from (a connection panel writes server or client).
    assert.deepEqual(capture.interfaces, [{ linkType: 147, name, tsresol: 9, comments: ['sipc role: observer'] }]);
    assert.match(capture.application, /^sipc /);
    const messages = capture.packets.filter((p) => packetDirection(p) !== null);
    const toServer = messages.filter((p) => packetDirection(p) === 'to-server');
    const toClient = messages.filter((p) => packetDirection(p) === 'to-client');
    assert.deepEqual(toServer.map((p) => p.data), lines);
    assert.deepEqual(toClient.map((p) => p.data), lines);
    // The client attaching is an event: a packet without payload, direction unknown, a comment saying what happened.
    const events = capture.packets.filter((p) => packetDirection(p) === null);
    assert.ok(events.some((p) => /^sipc event attached: client pid \d+ \(session \d+\)$/.test(p.comment)),
      events.map((p) => p.comment).join('; '));
    for (const packet of events) assert.equal(packet.data.length, 0);
    for (const packet of messages) {
      assert.equal(packet.length, packet.data.length);
      assert.ok(packet.timestampNs >= before - 1_000_000n && packet.timestampNs <= afterNs, 'a wall-clock ns timestamp');
      assert.equal(packet.comment, packetDirection(packet) === 'to-server' ? 'client→server' : 'server→client');
    }
    // Nanosecond resolution: not every timestamp is a whole microsecond.
    assert.ok(messages.some((p) => p.timestampNs % 1000n !== 0n));

    // The inspector's Open Capture… reads the recording: the same payloads, directions and events, in file order.
    const core = await loadCore();
    const decoder = new core.CaptureDecoder();
    const opened = [...decoder.push(readFileSync(file)), ...decoder.end()];
    assert.deepEqual(decoder.channels, [name]);
    assert.deepEqual(opened.map((e) => (e.kind === 'message' ? [e.direction, Buffer.from(e.data).toString('hex')] : ['event', e.event])),
      capture.packets.map((p) => (packetDirection(p) ? [packetDirection(p), p.data.toString('hex')] : ['event', /^sipc event ([^:]+):/.exec(p.comment)[1]])));
    opened.forEach((e, i) => assert.equal(Math.round(e.timestamp * 1000), Number(capture.packets[i].timestampNs / 1000n), 'microseconds of the recording'));

    if (hasTshark) {
      const fields = tsharkFields(file).filter(([dir]) => dir === '0' || dir === '1');
      assert.equal(fields.length, 50);
      assert.deepEqual(fields.filter(([dir]) => dir === '0').map(([, hex]) => hex), lines.map((l) => l.toString('hex')));
      assert.deepEqual(fields.filter(([dir]) => dir === '1').map(([, hex]) => hex), lines.map((l) => l.toString('hex')));
    }
  });

  it('records two channels at once to JSON Lines: one channel field per line, text when UTF-8', T, async () => {
    const first = await echoChannel('reca');
    const second = await echoChannel('recb');
    const file = join(scratch, 'two.jsonl');
    const recorder = await startRecorder([first, second, '-o', file, '--count', '4'], 'recording 2 channels');
    // The same two channels to pcapng at once: one interface each, for the inspector's Open Capture… below.
    const pcapngFile = join(scratch, 'two.pcapng');
    const pcapngRecorder = await startRecorder([first, second, '-o', pcapngFile, '--count', '4'], 'recording 2 channels');
    await converse(first, 'héllo\n');
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await converse(second, Buffer.concat([binary, Buffer.from('\n')]));
    const recorded = await recorder.done;
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.equal((await pcapngRecorder.done).code, 0);

    const [header, ...all] = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const lines = all.filter((line) => line.type === 'message');
    for (const line of all.filter((l) => l.type === 'event')) {
      assert.match(line.event, /^(attached|closed)$/);
      assert.match(line.detail, /^(client|server) pid \d+ \(session \d+\)$/);
    }
    assert.equal(header.type, 'header');
    assert.equal(header.format, 'sipc-capture');
    assert.deepEqual(header.channels, [first, second]);
    assert.equal(header.role, 'observer');
    assert.equal(lines.length, 4);
    // The time fields, written without printf, agree with the exact nanoseconds (read from the raw line: they
    // exceed a double's integer range): timestampMs has six decimals, time is ISO 8601 UTC with microseconds.
    for (const raw of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const ns = BigInt(/"timestampNs":(\d+)/.exec(raw)[1]);
      assert.equal(/"timestampMs":([\d.]+)/.exec(raw)[1], `${ns / 1000000n}.${String(ns % 1000000n).padStart(6, '0')}`);
      const iso = new Date(Number(ns / 1000000n)).toISOString();
      assert.equal(/"time":"([^"]+)"/.exec(raw)[1], `${iso.slice(0, -1)}${String((ns / 1000n) % 1000n).padStart(3, '0')}Z`);
    }
    for (const line of lines) {
      assert.equal(line.type, 'message');
      assert.equal(typeof line.timestampNs, 'number');
      assert.ok(['to-server', 'to-client'].includes(line.direction));
      const data = Buffer.from(line.data, 'base64');
      assert.equal(data.length, line.length);
      if (line.channel === first) {
        assert.equal(line.text, 'héllo');
        assert.deepEqual(data, Buffer.from('héllo'));
      } else {
        assert.equal(line.channel, second);
        assert.equal(line.text, undefined, 'no text field for bytes that are not UTF-8');
        assert.deepEqual(data, binary);
      }
    }
    // The inspector's own JSON Lines reader accepts the file (the format is a superset of its export).
    const core = await loadCore();
    const parsed = core.parseJsonl(readFileSync(file, 'utf8'));
    assert.equal(parsed.header.channel, first);
    const parsedMessages = parsed.entries.filter((e) => e.kind === 'message');
    assert.equal(parsedMessages.length, 4);
    assert.ok(parsedMessages.some((e) => Buffer.from(e.data).equals(binary) && e.direction === 'to-server'));
    // The first channel's entries carry no channel (the panel's own), the second's name theirs.
    assert.ok(parsedMessages.every((e) => (Buffer.from(e.data).equals(binary) ? e.channel === second : e.channel === undefined)));
    // Open Capture… of the pcapng: two interfaces, the second channel's rows named, the same bytes.
    const decoder = new core.CaptureDecoder();
    const opened = [...decoder.push(readFileSync(pcapngFile)), ...decoder.end()].filter((e) => e.kind === 'message');
    assert.deepEqual(decoder.channels, [first, second]);
    assert.deepEqual(opened.map((e) => [e.channel ?? first, e.direction, Buffer.from(e.data).toString('hex')]).sort(),
      [[first, 'to-server', Buffer.from('héllo').toString('hex')], [first, 'to-client', Buffer.from('héllo').toString('hex')],
        [second, 'to-server', binary.toString('hex')], [second, 'to-client', binary.toString('hex')]].sort());
  });

  it('ends on SIGINT with a complete file and exit 0', T, async () => {
    const name = await echoChannel('recint');
    const file = join(scratch, 'sigint.pcapng');
    const recorder = await startRecorder([name, '-o', file]);
    const lines = randomLines(3);
    await converse(name, asInput(lines));
    // The recorder flushes when the channel goes quiet: wait until all six messages are in the file.
    await waitForRecording(() => parsePcapng(readFileSync(file)).packets.filter((p) => packetDirection(p) !== null).length === 6,
      'six packets in the file');
    const recorded = await stopRecorder(recorder);
    assert.match(recorded.stderr, /6 messages recorded/);
    assert.equal(parsePcapng(readFileSync(file)).packets.filter((p) => packetDirection(p) !== null).length, 6);
    if (hasTshark) assert.equal(tsharkFields(file).filter(([dir]) => dir === '0' || dir === '1').length, 6);
  });

  it('rotates by size into numbered files, each complete by itself', T, async () => {
    const name = await echoChannel('recrot');
    const base = join(scratch, 'rot.pcapng');
    const lines = randomLines(120, 100);
    const recorder = await startRecorder([name, '-o', base, '--rotate-size', '4k', '--count', String(2 * lines.length)]);
    await converse(name, asInput(lines));
    const recorded = await recorder.done;
    assert.equal(recorded.code, 0, recorded.stderr);
    const files = readdirSync(scratch).filter((f) => /^rot-\d{5}\.pcapng$/.test(f)).sort();
    assert.ok(files.length >= 3, `several files: ${files.join(', ')}`);
    const packets = [];
    for (const f of files) {
      const content = readFileSync(join(scratch, f));
      const capture = parsePcapng(content);
      assert.equal(capture.interfaces.length, 1);
      // A file ends once it passed 4 KiB: by at most one message block.
      assert.ok(content.length < 4096 + 300, `${f} is ${content.length} bytes`);
      packets.push(...capture.packets);
    }
    assert.deepEqual(packets.filter((p) => packetDirection(p) === 'to-server').map((p) => p.data), lines);
    assert.deepEqual(packets.filter((p) => packetDirection(p) === 'to-client').map((p) => p.data), lines);
  });

  it('counts what the observer could not keep up with: recorded + missed = sent, as events in the file', T, async () => {
    const name = await echoChannel('recmiss', 2);
    const file = join(scratch, 'missed.pcapng');
    const lines = randomLines(300, 8);
    const recorder = await startRecorder([name, '-o', file, '--stats']);
    await converse(name, asInput(lines));
    const tally = () => {
      const count = { 'to-server': 0, 'to-client': 0 };
      for (const packet of parsePcapng(readFileSync(file)).packets) {
        const direction = packetDirection(packet);
        if (direction) {
          count[direction]++;
          continue;
        }
        const event = /^sipc event missed: (\d+) (client→server|server→client) /.exec(packet.comment);
        assert.ok(event || /^sipc event (discarded|attached|closed): /.test(packet.comment), `an event comment: ${packet.comment}`);
        if (event) count[event[2] === 'client→server' ? 'to-server' : 'to-client'] += Number(event[1]);
      }
      return count;
    };
    // Every message is either in the file or counted by a 'missed' event before the next one.
    await waitForRecording(() => {
      const count = tally();
      return count['to-server'] === lines.length && count['to-client'] === lines.length;
    }, 'every message recorded or counted as missed');
    const recorded = await stopRecorder(recorder);
    // --stats agrees with the totals line and the file: what was recorded plus the missed counted under a cause.
    const totals = /(\d+) messages? recorded, (\d+) missed/.exec(recorded.stderr);
    assert.ok(totals, recorded.stderr);
    const stats = recordStats(recorded.stderr, name);
    assert.equal(stats.messages, Number(totals[1]));
    assert.equal(stats.missed, Number(totals[2]));
    assert.equal(stats.messages + stats.missed, 2 * lines.length);
    assert.equal(stats.missedAsleep + stats.missedAway + stats.missedRunning, stats.missed);
    const packets = parsePcapng(readFileSync(file)).packets;
    const sent = new Set(lines.map((l) => l.toString('hex')));
    for (const p of packets) if (packetDirection(p)) assert.ok(sent.has(p.data.toString('hex')), 'recorded bytes are sent bytes');
  });

  it('keeps recording a channel that is removed and comes back, with removed/attached events and --stats of both observers', T, async () => {
    const name = uniqueName('recback');
    const firstEcho = start(['echo', name, '--timeout', '30000', '--depth', '64']);
    await waitForChannel(name, undefined, 20000);
    const file = join(scratch, 'back.jsonl');
    const recorder = await startRecorder([name, '-o', file, '--stats']);
    await converse(name, 'before\n');
    firstEcho.child.kill('SIGKILL');
    await firstEcho.done;
    assert.equal((await run(['rm', '--force', name])).code, 0);
    const lines = () => readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    await waitForRecording(() => lines().some((l) => l.type === 'event' && l.event === 'removed'), 'the removed event');
    start(['echo', name, '--timeout', '30000', '--depth', '64']);
    await waitForRecording(() => lines().some((l) => l.type === 'event' && l.event === 'attached' && /exists again/.test(l.detail)),
      'the recorder observing the new channel');
    await converse(name, 'after\n');
    await waitForRecording(() => lines().filter((l) => l.type === 'message' && l.text === 'after').length === 2,
      'both directions of the new message');
    const recorded = await stopRecorder(recorder);
    const texts = lines().filter((l) => l.type === 'message').map((l) => `${l.direction} ${l.text}`);
    assert.deepEqual(texts.filter((t) => t.startsWith('to-server')), ['to-server before', 'to-server after']);
    // --stats: one line for the channel, the sum of its two observers (the one closed when the channel was removed
    // copied 'before' both ways, the one that observed the new channel 'after'), as the file and the totals line say.
    assert.equal(recorded.stderr.split('\n').filter((l) => l.startsWith(`sipc: record ${name}: stats `)).length, 1, recorded.stderr);
    const stats = recordStats(recorded.stderr, name);
    assert.equal(stats.messages, 4, JSON.stringify(stats));
    assert.equal(stats.messages, texts.length);
    assert.equal(stats.missed, 0);
    assert.match(recorded.stderr, /: 4 messages recorded, 0 missed/);
  });

  it('--stats reports the observer of a channel that was removed and did not come back', T, async () => {
    const name = uniqueName('recgone');
    const echo = start(['echo', name, '--timeout', '30000', '--depth', '64']);
    await waitForChannel(name, undefined, 20000);
    const file = join(scratch, 'gone.jsonl');
    const recorder = await startRecorder([name, '-o', file, '--stats']);
    await converse(name, 'once\n');
    echo.child.kill('SIGKILL');
    await echo.done;
    assert.equal((await run(['rm', '--force', name])).code, 0);
    const lines = () => readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    await waitForRecording(() => lines().some((l) => l.type === 'event' && l.event === 'removed'), 'the removed event');
    const recorded = await stopRecorder(recorder);
    const stats = recordStats(recorded.stderr, name);
    assert.equal(stats.messages, 2);
    assert.equal(stats.missed, 0);
  });

  it('stops after --duration with a valid (here empty) recording', T, async () => {
    const name = await echoChannel('recdur');
    const file = join(scratch, 'duration.pcapng');
    const recorded = await run(['record', name, '-o', file, '--duration', '300ms']);
    assert.equal(recorded.code, 0, recorded.stderr);
    const capture = parsePcapng(readFileSync(file));
    assert.equal(capture.interfaces.length, 1);
    assert.equal(capture.packets.filter((p) => packetDirection(p) !== null).length, 0);
  });

  it('--lossless records every message of a channel far busier than the observer (queue depth 2)', T, async () => {
    const name = await echoChannel('reclossless', 2);
    const file = join(scratch, 'lossless.pcapng');
    const lines = randomLines(300, 8);
    const recorder = await startRecorder([name, '-o', file, '--lossless', '--stats', '--count', String(2 * lines.length)],
      'recording 1 channel losslessly');
    await converse(name, asInput(lines));
    const recorded = await recorder.done;
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.match(recorded.stderr, /600 messages recorded, 0 missed/);
    // --stats: the channel's observer counters, one JSON object (as tap --stats), agreeing with the file.
    const stats = recordStats(recorded.stderr, name);
    assert.equal(stats.messages, 600);
    assert.equal(stats.missed, 0);
    assert.equal(stats.missedAsleep + stats.missedAway + stats.missedRunning, 0);
    assert.ok(stats.woken <= stats.sleeps, JSON.stringify(stats));
    const packets = parsePcapng(readFileSync(file)).packets;
    assert.deepEqual(packets.filter((p) => packetDirection(p) === 'to-server').map((p) => p.data), lines);
    assert.deepEqual(packets.filter((p) => packetDirection(p) === 'to-client').map((p) => p.data), lines);
    assert.ok(!packets.some((p) => /^sipc event missed/.test(p.comment ?? '')));
  });

  it('--lossless to an output nobody reads for a while keeps copying: the peers go on and nothing is missed', T, async () => {
    const name = uniqueName('recunread');
    const echo = start(['echo', name, '--depth', '4', '--count', '3000', '--timeout', '15000']);
    await waitForChannel(name);
    const recorder = await startRecorder([name, '-o', '-', '--format', 'jsonl', '--lossless', '--stall-timeout', '10000'],
      'recording 1 channel losslessly');
    // Its stdout is not read until the peers are done: 6,000 lines (over 1 MB) fill the pipe and block the
    // recorder's writes early on. A recorder that copied and wrote on one thread held the peers up for its stall
    // timeout and was then dropped (a 'lossless-dropped' event, messages missed); copying apart from writing, it
    // copies every message as it comes.
    recorder.child.stdout.pause();
    const lines = Array.from({ length: 3000 }, (_, i) => `m${i}`);
    const client = await run(['connect', name, '--timeout', '15000'], { input: lines.join('\n') + '\n' });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.toString(), lines.join('\n') + '\n');
    assert.equal((await echo.done).code, 0);
    recorder.child.stdout.resume();
    const occurrences = (text) => recorder.stdout().toString().split(text).length - 1;
    await waitFor(() => occurrences('"type":"message"') === 6000 || occurrences('"event":"lossless-dropped"') > 0,
      { timeoutMs: 20000, what: 'every message written (or the observer dropped)' });
    const recorded = await stopRecorder(recorder);
    const records = recorded.stdout.toString().trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(records.filter((r) => r.type === 'event' && ['lossless-dropped', 'missed'].includes(r.event)), []);
    for (const direction of ['to-server', 'to-client']) {
      assert.deepEqual(records.filter((r) => r.type === 'message' && r.direction === direction).map((r) => r.text), lines,
        direction);
    }
    assert.match(recorded.stderr, /6000 messages recorded, 0 missed/);
  });

  it('--lossless stopped by SIGINT while the peers still send: a complete file with every message it counted, in order', T, async () => {
    // The copier hands blocks of messages to the writer; a stop signal cancels the copier mid-flow, and what it had
    // copied (blocks queued, the block the writer is reading) still goes into the file before the totals.
    const name = uniqueName('recintflow');
    const echo = start(['echo', name, '--depth', '64', '--timeout', '20000']);
    await waitForChannel(name);
    const file = join(scratch, 'sigint-flow.pcapng');
    const recorder = await startRecorder([name, '-o', file, '--lossless', '--stall-timeout', '10000'], 'recording 1 channel losslessly');
    const lines = Array.from({ length: 20000 }, (_, i) => Buffer.from(`m${i}`));
    const client = start(['connect', name, '--linger', '100'], { keepStdinOpen: true });
    client.child.stdin.write(asInput(lines));
    client.child.stdin.end();
    // Stopped once some messages are in the file (the recorder flushes at least every 50 ms while busy), whether or
    // not the client is done by then: the file must be whole either way.
    await waitForRecording(() => parsePcapng(readFileSync(file)).packets.length >= 100, 'a hundred packets in the file');
    const recorded = await stopRecorder(recorder);
    const totals = /(\d+) messages? recorded, (\d+) missed/.exec(recorded.stderr);
    assert.ok(totals, recorded.stderr);
    assert.equal(Number(totals[2]), 0);
    const packets = parsePcapng(readFileSync(file)).packets;
    const messages = packets.filter((p) => packetDirection(p) !== null);
    assert.equal(messages.length, Number(totals[1]));
    assert.ok(messages.length >= 100);
    // Lossless: each direction is the start of what was sent, in order, with nothing missed in between.
    for (const direction of ['to-server', 'to-client']) {
      const data = messages.filter((p) => packetDirection(p) === direction).map((p) => p.data);
      assert.deepEqual(data, lines.slice(0, data.length), direction);
    }
    assert.ok(!packets.some((p) => /^sipc event (missed|lossless-dropped)/.test(p.comment ?? '')));
    await client.done;
    echo.child.kill('SIGKILL');
  });

  it('refuses bad command lines and missing channels clearly', T, async () => {
    const missing = await run(['record', uniqueName('nochan'), '-o', join(scratch, 'x.pcapng')]);
    assert.equal(missing.code, 12, missing.stderr);
    assert.match(missing.stderr, /NOT_FOUND/);
    const noOutput = await run(['record', 'abc']);
    assert.equal(noOutput.code, 1);
    assert.match(noOutput.stderr, /missing -o FILE/);
    const rotateStdout = await run(['record', 'abc', '-o', '-', '--rotate-size', '1m']);
    assert.equal(rotateStdout.code, 1);
    assert.match(rotateStdout.stderr, /need a file/);
  });
});

describe('sipc replay', () => {
  let scratch;
  before(() => {
    assertBinary();
    scratch = testTempDir('replay');
  });
  after(async () => {
    await cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function recordSession(lines, file) {
    const name = await echoChannel('src');
    const recorder = await startRecorder([name, '-o', file, '--count', String(2 * lines.length)]);
    await converse(name, asInput(lines));
    assert.equal((await recorder.done).code, 0);
  }

  it('a recorded session replays as a passing regression test (pcapng and JSON Lines, JUnit report)', T, async () => {
    for (const extension of ['pcapng', 'jsonl']) {
      const file = join(scratch, `session.${extension}`);
      const lines = randomLines(10);
      await recordSession(lines, file);
      const target = await echoChannel('target');
      const junit = join(scratch, `ok-${extension}.xml`);
      const replayed = await run(['replay', file, '--to', target, '--expect', '--junit', junit]);
      assert.equal(replayed.code, 0, replayed.stdout.toString() + replayed.stderr);
      assert.match(replayed.stdout.toString(), /played 10 of 10 client→server messages .* all 10 answers match the recording/);
      const xml = readFileSync(junit, 'utf8');
      assert.match(xml, /<testsuites tests="11" failures="0"/);
      assert.equal((xml.match(/<testcase /g) ?? []).length, 11);
    }
  });

  it('a different answer fails with exit 30, a readable diff and a JUnit failure', T, async () => {
    const file = join(scratch, 'pingpong.jsonl');
    writeFileSync(file, jsonl('pp', [['to-server', 'ping', 0], ['to-client', 'pong', 1], ['to-server', 'same', 2], ['to-client', 'same', 3]]));
    const target = await echoChannel('diff');
    const junit = join(scratch, 'diff.xml');
    const replayed = await run(['replay', file, '--to', target, '--expect', '--junit', junit, '--timeout', '3000']);
    assert.equal(replayed.code, 30, replayed.stderr);
    const out = replayed.stdout.toString();
    assert.match(out, /1 of 2 answers differ from the recording/);
    assert.match(out, /answer #0 \(server→client, recorded at \+0\.001000 s\):/);
    assert.match(out, /expected 4 B "pong"/);
    assert.match(out, /got {6}4 B "ping"/);
    assert.match(out, /first difference at byte 1: expected 0x6f, got 0x69/);
    assert.doesNotMatch(out, /answer #1/);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuites tests="3" failures="1"/);
    assert.match(xml, /<failure message="the answer differs from the recording">/);
    assert.match(xml, /expected 4 B &quot;pong&quot;/);
  });

  it('a missing answer is reported after --timeout', T, async () => {
    const file = join(scratch, 'silent.jsonl');
    writeFileSync(file, jsonl('s', [['to-server', 'hello', 0], ['to-client', 'welcome', 5]]));
    const name = uniqueName('silent');
    start(['recv', name, '--timeout', '20000']);
    await waitForChannel(name, undefined, 20000);
    const replayed = await run(['replay', file, '--to', name, '--expect', '--timeout', '300']);
    assert.equal(replayed.code, 30);
    assert.match(replayed.stdout.toString(), /got {6}nothing within 300 ms/);
  });

  it('plays the server side to a client (--direction to-client)', T, async () => {
    const file = join(scratch, 'server.jsonl');
    writeFileSync(file, jsonl('srv', [['to-server', 'hi', 0], ['to-client', 'hello back', 2], ['to-server', 'bye', 4], ['to-client', 'see you', 6]]));
    const name = uniqueName('asserver');
    const replay = start(['replay', file, '--to', name, '--direction', 'to-client', '--expect', '--timeout', '10000']);
    await waitForChannel(name, undefined, 20000);
    await converse(name, 'hi\nbye\n', 'hello back\nsee you\n');
    const replayed = await replay.done;
    assert.equal(replayed.code, 0, replayed.stdout.toString() + replayed.stderr);
    assert.match(replayed.stdout.toString(), /all 2 answers match/);
  });

  /**
   * A VS Code connection panel's recording (Record to File…, an export), written by the extension's own encoder: the
   * panel's rows are its window's view (sent/received); `role` is the window's side, as the panel passes it (absent:
   * what earlier versions wrote, which named no side).
   */
  async function panelRecording(file, role, rows) {
    const core = await loadCore();
    const encoder = new core.CaptureEncoder(core.formatOfFileName(file), { channel: 'panel', mode: 'peer', ...(role ? { role: () => role } : {}) });
    const entries = rows.map(([direction, text], seq) => ({ kind: 'message', seq, direction, timestamp: 1_764_000_000_000 + 2 * seq,
      length: Buffer.byteLength(text), data: Buffer.from(text) }));
    writeFileSync(file, Buffer.concat([...encoder.start(), ...entries.flatMap((e) => encoder.entry(e))]));
  }

  it("replays a connection panel's recording made from the server's side in the channel's directions", T, async () => {
    for (const extension of ['pcapng', 'jsonl']) {
      // The window was the server: it received the client's "hi" and "bye" and sent the answers.
      const file = join(scratch, `panel-server.${extension}`);
      await panelRecording(file, 'server', [['received', 'hi'], ['sent', 'hello back'], ['received', 'bye'], ['sent', 'see you']]);
      const listed = await run(['replay', file, '--list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(listed.stdout.toString().trim().split('\n').map((line) => line.split(' ').slice(1, 3).join(' ')),
        ['panel client→server', 'panel server→client', 'panel client→server', 'panel server→client'], extension);
      assert.doesNotMatch(listed.stderr, /note/);
      if (hasTshark && extension === 'pcapng') {
        // Wireshark's view: the client's messages outbound (p2p_dir 0), the server's answers inbound (1).
        assert.deepEqual(tsharkFields(file).map(([dir, hex]) => [dir, Buffer.from(hex, 'hex').toString()]),
          [['0', 'hi'], ['1', 'hello back'], ['0', 'bye'], ['1', 'see you']]);
      }
      // Its server side plays to a client, which must send what the recorded client sent.
      const name = uniqueName(`panelsrv${extension}`);
      const replay = start(['replay', file, '--to', name, '--direction', 'to-client', '--expect', '--timeout', '10000']);
      await waitForChannel(name, undefined, 20000);
      await converse(name, 'hi\nbye\n', 'hello back\nsee you\n');
      const replayed = await replay.done;
      assert.equal(replayed.code, 0, replayed.stdout.toString() + replayed.stderr);
      assert.match(replayed.stdout.toString(), /played 2 of 2 server→client messages .* all 2 answers match/);

      // The window was the client: its sent messages went client→server, and replay against an echo server passes.
      const clientFile = join(scratch, `panel-client.${extension}`);
      await panelRecording(clientFile, 'client', [['sent', 'ping'], ['received', 'ping'], ['sent', 'again'], ['received', 'again']]);
      const target = await echoChannel(`panelcli${extension}`);
      const asClient = await run(['replay', clientFile, '--to', target, '--expect']);
      assert.equal(asClient.code, 0, asClient.stdout.toString() + asClient.stderr);
      assert.match(asClient.stdout.toString(), /played 2 of 2 client→server messages .* all 2 answers match/);
    }
  });

  it('reads an older connection panel recording (no role) as before, and says that this is an assumption', T, async () => {
    for (const extension of ['pcapng', 'jsonl']) {
      const file = join(scratch, `panel-old.${extension}`);
      await panelRecording(file, undefined, [['sent', 'hi'], ['received', 'hello back']]);
      const listed = await run(['replay', file, '--list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout.toString(), /^\S+ panel client→server 2 B "hi".*\n\S+ panel server→client 10 B "hello back".*\n$/);
      assert.match(listed.stderr, /^sipc: replay: note: .*: 2 messages were recorded by a VS Code connection panel that did not write its side .*"sent" is read as client→server, which is right only if that window was the client\n$/);
    }
    // A file that names the role but still holds the window's view (another writer): read by the role.
    const file = join(scratch, 'panel-role-view.jsonl');
    writeFileSync(file, jsonl('pv', [['sent', 'from server', 0], ['received', 'from client', 1]]).replace('"mode":"observe"', '"mode":"peer","role":"server"'));
    const listed = await run(['replay', file, '--list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout.toString(), /^\S+ pv server→client 11 B "from server"\n\S+ pv client→server 11 B "from client"\n$/);
    assert.equal(listed.stderr, '');
  });

  it('keeps the recorded pauses between messages (scaled by --speed; none with --as-fast-as-possible)', T, async () => {
    const file = join(scratch, 'paced.jsonl');
    writeFileSync(file, jsonl('paced', [['to-server', 'a', 0], ['to-server', 'b', 400], ['to-server', 'c', 800]]));
    const name = uniqueName('paced');
    start(['recv', name, '--timeout', '30000']);
    await waitForChannel(name, undefined, 20000);
    // The pauses are read from a recording of the replay: each message's send time, which the sender stamps in its
    // slot (not when anything saw it), so a late observer or a loaded machine cannot shorten them. Lower bounds
    // only: a pause never ends early, however loaded the machine is; how long a run takes is not checked.
    for (const [args, pauseMs] of [[[], 400], [['--speed', '4'], 100], [['--as-fast-as-possible'], 0]]) {
      const replayRecording = join(scratch, `paced-${args.join('') || 'speed1'}.jsonl`);
      const recorder = await startRecorder([name, '-o', replayRecording, '--count', '3']);
      const replayed = await run(['replay', file, '--to', name, '--linger', '0', ...args]);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.match(replayed.stdout.toString(), /played 3 of 3/);
      const recorded = await recorder.done;
      assert.equal(recorded.code, 0, recorded.stderr);
      const lines = readFileSync(replayRecording, 'utf8').split('\n').filter((line) => line.includes('"type":"message"'));
      assert.deepEqual(lines.map((line) => Buffer.from(JSON.parse(line).data, 'base64').toString()), ['a', 'b', 'c']);
      // Nanosecond send times, read as text (JSON numbers this large lose digits).
      const sentNs = lines.map((line) => BigInt(/"timestampNs":(\d+)/.exec(line)[1]));
      // The send times are wall clock, the replay's pauses monotonic: 1 ms of slack for the clocks' difference.
      const atLeastNs = BigInt(pauseMs) * 1_000_000n - 1_000_000n;
      for (let i = 1; i < sentNs.length; i++) {
        const pauseNs = sentNs[i] - sentNs[i - 1];
        assert.ok(pauseNs >= atLeastNs, `${args.join(' ') || 'speed 1'}: message ${i} came ${pauseNs} ns after the one before (recorded 400 ms apart: at least ${pauseMs} ms)`);
      }
    }
  });

  it('lists a recording, and explains files it cannot use', T, async () => {
    const file = join(scratch, 'list.jsonl');
    writeFileSync(file, jsonl('lst', [['to-server', 'ping', 0], ['to-client', 'pong', 1]]));
    const listed = await run(['replay', file, '--list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout.toString(), /^2023-11-14T22:13:20\.000000Z lst client→server 4 B "ping"\n.*server→client 4 B "pong"\n$/);
    // \u escapes in either case decode (a channel name written by another JSON encoder); a bad hex digit is refused.
    const escaped = join(scratch, 'escaped.jsonl');
    writeFileSync(escaped, jsonl('lst', [['to-server', 'ping', 0]]).replaceAll('"lst"', '"l\\u0073\\u004A"').replace('"l\\u0073\\u004A"', '"l\\u0073\\u004a"'));
    const decoded = await run(['replay', escaped, '--list']);
    assert.equal(decoded.code, 0, decoded.stderr);
    assert.match(decoded.stdout.toString(), / lsJ client→server 4 B "ping"\n$/);

    const cases = [
      [join(scratch, 'absent.pcapng'), /cannot open/],
      [join(scratch, 'empty.pcapng'), /neither pcapng nor JSON Lines \(it is empty\)/],
      [join(scratch, 'badline.jsonl'), /line 2 is not a JSON object/],
      [join(scratch, 'baddata.jsonl'), /line 2: the message's length or base64 data is malformed/],
      [join(scratch, 'badescape.jsonl'), /line 1 is not a JSON object/],
    ];
    writeFileSync(cases[1][0], '');
    writeFileSync(cases[2][0], '{"type":"header","format":"sipc-capture","version":1}\n{"type":\n');
    writeFileSync(cases[3][0], '{"type":"header","format":"sipc-capture","version":1}\n{"type":"message","direction":"to-server","timestampNs":1,"length":2,"data":"!!"}\n');
    writeFileSync(cases[4][0], '{"type":"header","format":"sipc-capture","version":1,"channel":"\\u00g1"}\n');
    for (const [path, message] of cases) {
      const result = await run(['replay', path, '--list']);
      assert.equal(result.code, 2, `${path}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const needsTarget = await run(['replay', file]);
    assert.equal(needsTarget.code, 1);
    assert.match(needsTarget.stderr, /missing --to NAME/);
  });

  it('survives damaged pcapng files: truncated blocks, huge lengths, flipped bytes (a clear error, never a crash)', T, async () => {
    const file = join(scratch, 'good.pcapng');
    await recordSession(randomLines(4), file);
    const good = readFileSync(file);
    const variants = [];
    for (let length = 0; length < good.length; length += length < 64 ? 1 : 13) variants.push(['truncated', good.subarray(0, length)]);
    const huge = Buffer.from(good);
    const secondBlock = huge.readUInt32LE(4);
    huge.writeUInt32LE(0xfffffff0, secondBlock + 4);
    variants.push(['huge block length', huge]);
    const capturedTooLong = Buffer.from(good);
    const idbLength = good.readUInt32LE(secondBlock + 4);
    const epb = secondBlock + idbLength;
    capturedTooLong.writeUInt32LE(0x7fffffff, epb + 8 + 12);
    variants.push(['captured length past the block', capturedTooLong]);
    const badInterface = Buffer.from(good);
    badInterface.writeUInt32LE(7, epb + 8);
    variants.push(['unknown interface', badInterface]);
    const badOption = Buffer.from(good);
    const captured = good.readUInt32LE(epb + 8 + 12);
    badOption.writeUInt16LE(0xfff0, epb + 8 + 20 + ((captured + 3) & ~3) + 2);
    variants.push(['option length past the block', badOption]);
    for (let seed = 0; seed < 40; seed++) {
      const flipped = Buffer.from(good);
      for (let k = 0; k < 3; k++) flipped[below(flipped.length)] ^= 1 << below(8);
      variants.push([`flipped #${seed}`, flipped]);
    }
    const path = join(scratch, 'damaged.pcapng');
    for (const [what, content] of variants) {
      writeFileSync(path, content);
      const result = await run(['replay', path, '--list']);
      assert.equal(result.signal, null, `${what}: killed by ${result.signal}`);
      assert.ok(result.code === 0 || result.code === 2, `${what}: exit ${result.code} ${result.stderr}`);
      if (result.code === 2) assert.match(result.stderr, /^sipc: replay: /, what);
      if (what !== 'truncated' && !what.startsWith('flipped')) {
        assert.equal(result.code, 2, what);
        assert.match(result.stderr, what === 'huge block length' ? /claims 4294967280 bytes/ : /offset \d+/, what);
      }
    }
  });
});
