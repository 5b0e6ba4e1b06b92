// sipc as a Wireshark extcap: the protocol answers, a capture into a FIFO-like file, and (as root, with tshark) the
// real client: the launcher in the folder `tshark -G folders` names, `tshark -D` lists it, and a live capture of
// two CLI peers is checked byte for byte. The launcher is removed afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn as spawnAsync, spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SIPC, assertBinary, cleanup, converse, run, start, uniqueName, waitFor, waitForChannel } from './helpers.mjs';
import { packetDirection, parsePcapng } from './pcapng.mjs';
import { testTempDir } from '../debris.mjs';

const T = { timeout: 60000 };

function tsharkExtcapFolder() {
  const result = spawnSync('tshark', ['-G', 'folders'], { encoding: 'utf8' });
  if (result.status !== 0) return null;
  const line = result.stdout.split('\n').find((l) => l.startsWith('Extcap path:'));
  return line ? line.slice('Extcap path:'.length).trim() : null;
}

const extcapFolder = tsharkExtcapFolder();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const liveSkip = !extcapFolder ? 'tshark is not installed (.ci/run installs it)'
  : !isRoot ? 'placing the launcher in tshark\'s global extcap folder needs root'
    : false;

describe('sipc extcap', () => {
  let scratch;
  before(() => {
    assertBinary();
    scratch = testTempDir('extcap');
  });
  after(async () => {
    await cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('answers the extcap questions: interfaces, DLT, a channel selector listing the live channels', T, async () => {
    const interfaces = await run(['extcap', '--extcap-interfaces', '--extcap-version=4.0.17']);
    assert.equal(interfaces.code, 0, interfaces.stderr);
    assert.match(interfaces.stdout.toString(), /^extcap \{version=[\d.]+\}\{display=[^}]+\}\ninterface \{value=sipc\}\{display=[^}]+\}\n$/);
    // Run directly with Wireshark's arguments (no "extcap" word) it answers the same.
    assert.deepEqual((await run(['--extcap-interfaces'])).stdout, interfaces.stdout);
    const dlts = await run(['extcap', '--extcap-interface', 'sipc', '--extcap-dlts']);
    assert.match(dlts.stdout.toString(), /^dlt \{number=147\}\{name=USER0\}\{display=[^}]+\}\n$/);

    const name = uniqueName('cfg');
    start(['echo', name, '--timeout', '20000']);
    await waitForChannel(name, undefined, 20000);
    const config = await run(['extcap', '--extcap-interface', 'sipc', '--extcap-config']);
    assert.equal(config.code, 0, config.stderr);
    const lines = config.stdout.toString().split('\n');
    assert.match(lines[0], /^arg \{number=0\}\{call=--channel\}\{display=Channel\}\{type=selector\}\{required=true\}\{reload=true\}/);
    assert.ok(lines.some((l) => l.startsWith(`value {arg=0}{value=${name}}{display=${name}}`)), config.stdout.toString());
    const reload = await run(['extcap', '--extcap-interface', 'sipc', '--extcap-config', '--extcap-reload-option', 'channel']);
    assert.ok(reload.stdout.toString().split('\n').every((l) => l === '' || l.startsWith('value {arg=0}')));

    const unknown = await run(['extcap', '--extcap-interface', 'other', '--extcap-dlts']);
    assert.equal(unknown.code, 1);
    const noChannel = await run(['extcap', '--extcap-interface', 'sipc', '--capture', '--fifo', join(scratch, 'x')]);
    assert.equal(noChannel.code, 1);
    assert.match(noChannel.stderr, /choose a channel/);
  });

  it('captures into the FIFO it is given, flushing every packet, and stops on SIGTERM with a valid file', T, async () => {
    const name = uniqueName('fifo');
    start(['echo', name, '--timeout', '20000', '--depth', '256']);
    await waitForChannel(name, undefined, 20000);
    const fifo = join(scratch, 'capture.pcapng'); // a regular file stands in for Wireshark's FIFO
    const capture = start(['extcap', '--capture', '--extcap-interface', 'sipc', '--fifo', fifo, '--channel', name]);
    // The header is written once the observer is attached: from then on every message is seen.
    await waitFor(() => existsSync(fifo) && readFileSync(fifo).length > 0, { what: 'the pcapng header' });
    await converse(name, 'alpha\nbeta\n');
    // Four messages, and the client's attach and close as events (written as `sipc record` writes them).
    const closed = (packets) => packets.some((p) => packetDirection(p) === null && /^sipc event closed: client /.test(p.comment));
    await waitFor(() => {
      const packets = parsePcapng(readFileSync(fifo)).packets;
      return packets.filter((p) => packetDirection(p) !== null).length === 4 && closed(packets);
    }, { what: 'four messages and the client\'s close flushed' });
    capture.child.kill('SIGTERM');
    const ended = await capture.done;
    assert.equal(ended.code, 0, ended.stderr);
    const packets = parsePcapng(readFileSync(fifo)).packets;
    // Each direction in order (how the two interleave depends on when the echo answered).
    for (const direction of ['to-server', 'to-client']) {
      assert.deepEqual(packets.filter((p) => packetDirection(p) === direction).map((p) => p.data.toString()), ['alpha', 'beta']);
    }
    // The echo server held its role when the capture began (reported first), then the client came and went.
    const events = packets.filter((p) => packetDirection(p) === null);
    assert.deepEqual(events.map(eventOf), ['attached server', 'attached client', 'closed client'], events.map((p) => p.comment).join('; '));
    for (const event of events) assert.equal(event.data.length, 0);
    // The client's attach comes before its first message, its close after its last.
    const firstMessage = packets.findIndex((p) => packetDirection(p) !== null);
    assert.ok(packets.indexOf(events[1]) < firstMessage && packets.indexOf(events[2]) > firstMessage);
  });

  it('leaves the peer events out with --no-events (the option "Messages only")', T, async () => {
    const name = uniqueName('noev');
    start(['echo', name, '--timeout', '20000', '--depth', '256']);
    await waitForChannel(name, undefined, 20000);
    const config = await run(['extcap', '--extcap-interface', 'sipc', '--extcap-config']);
    assert.match(config.stdout.toString(), /^arg \{number=2\}\{call=--no-events\}\{display=Messages only\}\{type=boolflag\}/m);
    const fifo = join(scratch, 'no-events.pcapng');
    const capture = start(['extcap', '--capture', '--extcap-interface', 'sipc', '--fifo', fifo, '--channel', name, '--no-events']);
    await waitFor(() => existsSync(fifo) && readFileSync(fifo).length > 0, { what: 'the pcapng header' });
    // Two clients one after the other: the first one's close came before the second one's messages, so with
    // events the file would hold them between the messages.
    await converse(name, 'alpha\n');
    await converse(name, 'beta\n');
    await waitFor(() => parsePcapng(readFileSync(fifo)).packets.length >= 4, { what: 'four packets flushed' });
    capture.child.kill('SIGTERM');
    assert.equal((await capture.done).code, 0);
    const packets = parsePcapng(readFileSync(fifo)).packets;
    assert.deepEqual(packets.map((p) => `${packetDirection(p)} ${p.data}`), ['to-server alpha', 'to-client alpha', 'to-server beta', 'to-client beta']);
  });

  it('ends with exit 0 and nothing on stderr when Wireshark closes the FIFO (how a capture is stopped)', T, async () => {
    const name = uniqueName('gone');
    start(['echo', name, '--timeout', '20000', '--depth', '256']);
    await waitForChannel(name, undefined, 20000);
    const fifo = join(scratch, 'reader-gone.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // The reader opens first (non-blocking, as nothing is written yet); the capture's open then succeeds.
    const reader = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const capture = start(['extcap', '--capture', '--extcap-interface', 'sipc', '--fifo', fifo, '--channel', name]);
    const received = [];
    const chunk = Buffer.alloc(65536);
    await waitFor(() => {
      try {
        const got = readSync(reader, chunk, 0, chunk.length, null);
        if (got > 0) received.push(Buffer.from(chunk.subarray(0, got)));
      } catch (error) {
        if (error.code !== 'EAGAIN') throw error;
      }
      try {
        return parsePcapng(Buffer.concat(received)).packets.length >= 1; // the server's role, held at attach
      } catch {
        return false; // a block only partly read yet
      }
    }, { what: 'the header and the first event through the FIFO', timeoutMs: 20000 });
    closeSync(reader);
    // The next packets (a client and its messages) find the pipe without a reader: the capture is over.
    await converse(name, 'after\n');
    const ended = await capture.done;
    assert.deepEqual({ code: ended.code, stderr: ended.stderr }, { code: 0, stderr: '' });
    rmSync(fifo);
  });

  it('ends by itself when Wireshark goes away while the channel is idle (nothing left to write)', T, async () => {
    const name = uniqueName('idle');
    start(['echo', name, '--timeout', '30000']);
    await waitForChannel(name, undefined, 20000);
    const fifo = join(scratch, 'idle.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const reader = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const capture = start(['extcap', '--capture', '--extcap-interface', 'sipc', '--fifo', fifo, '--channel', name]);
    const chunk = Buffer.alloc(65536);
    await waitFor(() => {
      try {
        return readSync(reader, chunk, 0, chunk.length, null) > 0; // the header: the capture is running
      } catch (error) {
        if (error.code !== 'EAGAIN') throw error;
        return false;
      }
    }, { what: 'the pcapng header through the FIFO', timeoutMs: 20000 });
    // Wireshark crashed or was killed: no SIGTERM comes, and no message will. The capture must not wait forever.
    closeSync(reader);
    let timer;
    const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('the capture still ran 20 s after its reader left')), 20000); });
    const ended = await Promise.race([capture.done, late]).finally(() => clearTimeout(timer));
    assert.deepEqual({ code: ended.code, stderr: ended.stderr }, { code: 0, stderr: '' });
    rmSync(fifo);
  });

  it('does not wait forever for the FIFO\'s reader once the process that started it is gone', T, async () => {
    const name = uniqueName('orphan');
    start(['echo', name, '--timeout', '30000']);
    await waitForChannel(name, undefined, 20000);
    const fifo = join(scratch, 'orphan.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // A Wireshark that dies between starting the extcap and opening the FIFO: a shell starts the capture and exits
    // at once, so nobody will ever open the reading end. The capture's open of a FIFO would wait for a reader forever.
    const errors = join(scratch, 'orphan.err');
    const shell = spawnSync('sh', ['-c', `"$0" extcap --capture --extcap-interface sipc --fifo "$1" --channel "$2" >/dev/null 2>"$3" & echo $!`,
      SIPC, fifo, name, errors], { encoding: 'utf8' });
    assert.equal(shell.status, 0, shell.stderr);
    const pid = Number(shell.stdout.trim());
    const gone = () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z'); // ended, not yet reaped
      } catch {
        return true;
      }
    };
    try {
      await waitFor(gone, { what: 'the orphaned capture to end', timeoutMs: 20000 });
    } finally {
      if (!gone()) process.kill(pid, 'SIGKILL');
    }
    assert.match(readFileSync(errors, 'utf8'), /cannot open .*orphan\.fifo: No such device or address/);
    rmSync(fifo);
  });

  it('still fails with exit 2 on a real write error (a full device)', T, async () => {
    if (!existsSync('/dev/full')) return;
    const name = uniqueName('full');
    start(['echo', name, '--timeout', '20000']);
    await waitForChannel(name, undefined, 20000);
    const ended = await run(['extcap', '--capture', '--extcap-interface', 'sipc', '--fifo', '/dev/full', '--channel', name]);
    assert.equal(ended.code, 2, ended.stderr);
    assert.match(ended.stderr, /cannot write to \/dev\/full: No space left on device/);
  });

  it('installs and removes its launcher (personal folder by default, --folder)', T, async () => {
    const home = join(scratch, 'home');
    const installed = await run(['extcap', 'install', '--folder', join(home, 'extcap')]);
    assert.equal(installed.code, 0, installed.stderr);
    const launcher = join(home, 'extcap', 'sipc-extcap');
    assert.match(readFileSync(launcher, 'utf8'), /^#!\/bin\/sh\n#.*\nexec '.*sipc' extcap "\$@"\n$/);
    const viaLauncher = spawnSync(launcher, ['--extcap-interfaces'], { encoding: 'utf8' });
    assert.equal(viaLauncher.status, 0, viaLauncher.stderr);
    assert.match(viaLauncher.stdout, /interface \{value=sipc\}/);
    assert.equal((await run(['extcap', 'uninstall', '--folder', join(home, 'extcap')])).code, 0);
    assert.equal(existsSync(launcher), false);

    const personal = spawnSync(SIPC, ['extcap', 'install'], { encoding: 'utf8', env: { ...process.env, HOME: home } });
    assert.equal(personal.status, 0, personal.stderr);
    assert.ok(existsSync(join(home, '.local', 'lib', 'wireshark', 'extcap', 'sipc-extcap')));
    assert.match(personal.stdout, /Wireshark 4\.2 and later read this folder/);
  });

  it('tshark captures live traffic of two CLI peers through the installed launcher, byte for byte', { ...T, skip: liveSkip }, async () => {
    const launcher = join(extcapFolder, 'sipc-extcap');
    assert.equal(existsSync(launcher), false, `${launcher} exists already: another run is using it`);
    let capture = null;
    try {
      const installed = await run(['extcap', 'install', '--folder', extcapFolder]);
      assert.equal(installed.code, 0, installed.stderr);
      const list = spawnSync('tshark', ['-D'], { encoding: 'utf8' });
      assert.match(list.stdout, /\d+\. sipc \(sipc channels \(shared memory\)\)/, list.stdout + list.stderr);

      const name = uniqueName('live');
      start(['echo', name, '--timeout', '30000', '--depth', '256']);
      await waitForChannel(name, undefined, 20000);
      const out = join(scratch, 'live.pcapng');
      const messages = ['first message', 'zweite Nachricht ü', '3'];
      // Each message twice (both directions), and three events: the echo server's role, the client's attach and close.
      capture = startTshark(['-i', 'sipc', '-o', `extcap.sipc.channel:${name}`, '-a', `packets:${2 * messages.length + 3}`, '-w', out]);
      // tshark says "Capture started" once it read the extcap's header: the observer is attached by then.
      await waitFor(() => capture.stderr().includes('Capture started'), { timeoutMs: 30000, what: 'tshark capture started' });
      await converse(name, messages.map((m) => `${m}\n`).join(''));
      const ended = await capture.done;
      capture = null;
      assert.equal(ended.code, 0, ended.stderr);
      const packets = parsePcapng(readFileSync(out)).packets;
      const bytes = (direction) => packets.filter((p) => packetDirection(p) === direction).map((p) => p.data);
      assert.deepEqual(bytes('to-server'), messages.map((m) => Buffer.from(m)));
      assert.deepEqual(bytes('to-client'), messages.map((m) => Buffer.from(m)));
      assert.deepEqual(packets.filter((p) => packetDirection(p) === null).map(eventOf), ['attached server', 'attached client', 'closed client']);
      // No extcap process is left behind once tshark stopped.
      await waitFor(() => spawnSync('pgrep', ['-f', `extcap.*--channel ${name}`]).status === 1, { timeoutMs: 20000, what: 'the extcap process to end' });
    } finally {
      if (capture) {
        capture.child.kill('SIGTERM');
        await capture.done;
      }
      await run(['extcap', 'uninstall', '--folder', extcapFolder]);
    }
    assert.equal(existsSync(launcher), false);
  });
});

/** 'attached client' for the comment of an event packet ("sipc event attached: client pid 42 (session 1)"). */
function eventOf(packet) {
  const match = /^sipc event (\w+): (server|client) pid \d+ \(session \d+\)$/.exec(packet.comment ?? '');
  return match ? `${match[1]} ${match[2]}` : packet.comment;
}

/** Runs tshark in the background, collecting stderr; `done` resolves with { code, stderr }. */
function startTshark(args) {
  const child = spawnAsync('tshark', args);
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk.toString('utf8'); });
  child.stdout.resume();
  // SIGTERM, not SIGKILL: tshark then stops its dumpcap and the extcap too, so nothing is left running.
  const timer = setTimeout(() => child.kill('SIGTERM'), 45000);
  const done = new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); }));
  return { child, done, stderr: () => stderr };
}
