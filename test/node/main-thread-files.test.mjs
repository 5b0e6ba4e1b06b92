// The event loop's thread never touches the file system (issue #10, "the extension host never blocks"), shown at run
// time: a Node program uses a channel's every main-thread call (open, connect with and without timeoutMs 0, send, a
// send with timeoutMs 0 on a full queue, receive, info(), the peer getter, a second pair whose first send races the
// native connect wait, close) and an observer's info() under strace, and no system call that names a path (strace's %file class: open, stat,
// access, readlink, ...) may come from its main thread between two markers. The static scan
// (test/unit/extension-host-blocking.test.mjs) says which libsipc functions the sources call there; this says what
// those calls do. Before the fix, info() (of a channel or an observer) and the peer getter read
// /proc/<pid>/task/<pid>/stat and /proc/<pid>/stat of each holder here, and a send or connect({ timeoutMs: 0 }) that adopted the peer did too.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { API_PATH, cleanup, derivedNames, scaled, uniqueName, within } from './helpers.mjs';
import { testTempDir } from '../debris.mjs';

afterEach(cleanup);

const strace = process.platform === 'linux' && spawnSync('strace', ['-V']).status === 0;

/** The traced program: `marker(x)` is an access() of a path that names x, the window's bounds in the trace. */
function program(markerPath, names) {
  return `
const api = require(${JSON.stringify(API_PATH)});
const { accessSync } = require('node:fs');
const marker = (what) => { try { accessSync(${JSON.stringify(markerPath)} + what); } catch {} };
const [name, second] = ${JSON.stringify(names)};
(async () => {
  const server = await api.open(name, { queueDepth: 2, receiveSpinUs: 0 });
  const client = await api.open(name, { queueDepth: 2 });
  await Promise.all([server.connect(), client.connect()]);
  const observer = await api.observe(name);
  await client.send('warm-up'); await server.receive(); server.info(); observer.info(); // lazy paths, once
  marker('begin');
  const seen = observer.info();
  if (!seen.serverAlive || !seen.clientAlive) throw new Error('observer info: ' + JSON.stringify(seen));
  const info = server.info();
  if (!info.serverAlive || !info.clientAlive || info.state !== 'connected') throw new Error('info: ' + JSON.stringify(info));
  if (!server.peer || server.peer.pid !== process.pid || !server.peer.alive) throw new Error('peer: ' + JSON.stringify(server.peer));
  await client.connect({ timeoutMs: 0 });
  for (let i = 0; i < 50; i++) { await client.send('m' + i); await server.receive(); }
  await server.send('1'); await server.send('2');
  const full = await server.send('3', { timeoutMs: 0 }).then(() => 'sent', (e) => e.code);
  if (full !== 'TIMEOUT') throw new Error('a send on a full queue with timeoutMs 0: ' + full);
  await client.receive(); await client.receive();
  // A second pair: the client's first send and connect({ timeoutMs: 0 }) come before (or as) its native connect wait
  // adopts the server; the main thread leaves the adoption (which looks the server's process up) to that thread.
  const s2 = await api.open(second, { receiveSpinUs: 0 });
  const c2 = await api.open(second);
  await c2.send('first');
  await c2.connect({ timeoutMs: 0 });
  c2.info(); s2.info();
  if ((await s2.receive()).toString() !== 'first') throw new Error('second pair');
  await Promise.all([s2.close(), c2.close(), client.close()]);
  if (server.info().state !== 'waiting' && server.info().state !== 'peer-gone') throw new Error('after close: ' + server.info().state);
  observer.info();
  marker('end');
  await Promise.all([server.close(), observer.close()]);
  console.log('done');
})().catch((e) => { console.error('traced program failed:', e && e.stack || e); process.exit(99); });
`;
}

test('no system call naming a path comes from the main thread while a program uses channels (strace)', {
  skip: !strace && 'needs Linux and strace (.ci/run installs it)', timeout: scaled(60000),
}, async () => {
  const name = uniqueName('files');
  const [second] = derivedNames(name, ['second']);
  const dir = testTempDir('main-thread');
  try {
    const trace = join(dir, 'trace');
    const markerPath = join(dir, 'marker-');
    const child = spawn('strace', ['-f', '-qq', '-e', 'trace=%file', '-e', 'signal=none', '-o', trace,
      process.execPath, '-e', program(markerPath, [name, second])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await within(scaled(50000), new Promise((resolve) => child.on('close', resolve)), 'the traced program');
    assert.equal(code, 0, `${out}\n${err}`);
    assert.match(out, /done/);
    const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
    const main = Number(/^(\d+)\s/.exec(lines[0])?.[1]); // strace -f names the first process by its pid: the main thread
    assert.ok(main > 0, lines[0]);
    const ofMain = lines.filter((line) => Number(/^(\d+)\s/.exec(line)?.[1]) === main);
    const begin = ofMain.findIndex((line) => line.includes(`${markerPath}begin`));
    const end = ofMain.findIndex((line) => line.includes(`${markerPath}end`));
    assert.ok(begin >= 0 && end > begin, `both markers in the main thread's trace:\n${ofMain.slice(-20).join('\n')}`);
    // fstat of a channel's own descriptor (info() reports the segment's mode and owner) names no path: glibc makes it
    // newfstatat(fd, "", ..., AT_EMPTY_PATH) (or statx), which strace files under %file all the same. A call that
    // another thread's interrupts is split in two lines ("<unfinished ...>", then "<... name resumed>"): its first
    // line, which names the path, is judged.
    const ownDescriptor = /^\d+\s+(?:newfstatat|statx|fstatat64)\(\d+, "",/;
    const resumed = /^\d+\s+<\.\.\. \w+ resumed>/;
    const inWindow = ofMain.slice(begin + 1, end).filter((line) => !ownDescriptor.test(line) && !resumed.test(line));
    assert.deepEqual(inWindow, [], 'system calls naming a path on the main thread');
    const ofOthers = lines.filter((line) => line.includes('/proc/') && !line.startsWith(`${main} `));
    assert.ok(ofOthers.length > 0, 'the native threads look the holders up (the trace sees their /proc reads)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
