// sipc send / recv / connect / echo, driven through the real binary.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBinary, cleanup, run, start, uniqueName, waitForChannel } from './helpers.mjs';
import { testTempDir } from '../debris.mjs';

const T = { timeout: 30000 };

describe('sipc send/recv', () => {
  let scratch;
  before(() => {
    assertBinary();
    scratch = testTempDir('cli');
  });
  after(async () => {
    await cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('delivers a text message byte-exact, text format adds one newline', T, async () => {
    const name = uniqueName('text');
    const receiver = start(['recv', name, '--count', '1', '--timeout', '10000']);
    await waitForChannel(name);
    const sent = await run(['send', name, 'hello, wörld', '--timeout', '10000']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stderr, '');
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    assert.deepEqual(received.stdout, Buffer.from('hello, wörld\n'));
  });

  it('send may run before recv: it waits for the peer', T, async () => {
    const name = uniqueName('sendfirst');
    const sender = start(['send', name, 'early bird', '--timeout', '10000']);
    await waitForChannel(name);
    const received = await run(['recv', name, '--count', '1', '--timeout', '10000']);
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.toString(), 'early bird\n');
    assert.equal((await sender.done).code, 0);
  });

  it('sends --hex and receives raw and hex byte-exact', T, async () => {
    const name = uniqueName('hex');
    const receiver = start(['recv', name, '--count', '2', '--format', 'hex', '--timeout', '10000']);
    await waitForChannel(name);
    assert.equal((await run(['send', name, '--hex', '00 ff 10 0a', '--timeout', '10000'])).code, 0);
    assert.equal((await run(['send', name, '--hex', '0xDEADBEEF', '--timeout', '10000'])).code, 0);
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.toString(), '00ff100a\ndeadbeef\n');

    const rawName = uniqueName('raw');
    const rawReceiver = start(['recv', rawName, '--count', '1', '--format', 'raw', '--timeout', '10000']);
    await waitForChannel(rawName);
    assert.equal((await run(['send', rawName, '--hex', '000102fffe0a', '--timeout', '10000'])).code, 0);
    const raw = await rawReceiver.done;
    assert.equal(raw.code, 0, raw.stderr);
    assert.deepEqual(raw.stdout, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a]));
  });

  it('sends a binary file as one message, received byte-exact', T, async () => {
    const name = uniqueName('file');
    const content = randomBytes(40000);
    const path = join(scratch, 'payload.bin');
    writeFileSync(path, content);
    const receiver = start(['recv', name, '--count', '1', '--format', 'raw', '--timeout', '10000']);
    await waitForChannel(name);
    const sent = await run(['send', name, '--file', path, '--timeout', '10000']);
    assert.equal(sent.code, 0, sent.stderr);
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    assert.ok(received.stdout.equals(content), 'file content differs');
  });

  it('json format: one object per message, text when UTF-8 else hex', T, async () => {
    const name = uniqueName('json');
    const receiver = start(['recv', name, '--count', '2', '--format', 'json', '--timeout', '10000']);
    await waitForChannel(name);
    const text = 'tab\there "quoted" \\ é ✓\nnext';
    assert.equal((await run(['send', name, text, '--timeout', '10000'])).code, 0);
    assert.equal((await run(['send', name, '--hex', 'c328ff00', '--timeout', '10000'])).code, 0);
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    const lines = received.stdout.toString().trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(lines[0]), { index: 0, length: Buffer.byteLength(text), text });
    assert.deepEqual(JSON.parse(lines[1]), { index: 1, length: 4, hex: 'c328ff00' });
  });

  it('recv serves one sender process after another like nc -lk', T, async () => {
    const name = uniqueName('serve');
    const receiver = start(['recv', name, '--count', '3', '--timeout', '10000']);
    await waitForChannel(name);
    for (const word of ['one', 'two', 'three']) {
      const sent = await run(['send', name, word, '--timeout', '10000']);
      assert.equal(sent.code, 0, sent.stderr);
    }
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.toString(), 'one\ntwo\nthree\n');
  });

  it('recv without --count ends at the idle timeout with success after messages', T, async () => {
    const name = uniqueName('idle');
    const receiver = start(['recv', name, '--timeout', '700']);
    await waitForChannel(name);
    assert.equal((await run(['send', name, 'only', '--timeout', '5000'])).code, 0);
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.toString(), 'only\n');
  });
});

describe('sipc connect / echo', () => {
  before(assertBinary);
  after(cleanup);

  it('connect sends stdin lines and prints the echoed replies', T, async () => {
    const name = uniqueName('echo1');
    const echo = start(['echo', name, '--count', '4', '--timeout', '10000']);
    await waitForChannel(name);
    // Four messages: an empty line is an empty message, a last line without newline counts.
    const client = await run(['connect', name, '--timeout', '10000'], { input: 'alpha\nbeta\n\ngamma' });
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.toString(), 'alpha\nbeta\n\ngamma\n');
    const echoed = await echo.done;
    assert.equal(echoed.code, 0, echoed.stderr);
  });

  it('echo serves two successive clients', T, async () => {
    const name = uniqueName('echo2');
    const echo = start(['echo', name, '--count', '2', '--timeout', '10000']);
    await waitForChannel(name);
    const first = await run(['connect', name, '--timeout', '10000'], { input: 'first client\n' });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.toString(), 'first client\n');
    const second = await run(['connect', name, '--timeout', '10000'], { input: 'second client\n' });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.toString(), 'second client\n');
    const echoed = await echo.done;
    assert.equal(echoed.code, 0, echoed.stderr);
  });

  it('two connect peers pipe lines both ways', T, async () => {
    const name = uniqueName('both');
    const a = start(['connect', name, '--timeout', '10000', '--linger', '1500'], { input: 'from a 1\nfrom a 2\n' });
    await waitForChannel(name);
    const b = start(['connect', name, '--timeout', '10000', '--linger', '1500'], { input: 'from b\n' });
    const [resultA, resultB] = await Promise.all([a.done, b.done]);
    assert.equal(resultA.code, 0, resultA.stderr);
    assert.equal(resultB.code, 0, resultB.stderr);
    assert.equal(resultA.stdout.toString(), 'from b\n');
    assert.equal(resultB.stdout.toString(), 'from a 1\nfrom a 2\n');
  });

  it('connect --raw passes bytes through unchanged', T, async () => {
    const name = uniqueName('raw');
    const echo = start(['echo', name, '--timeout', '3000']);
    await waitForChannel(name);
    const bytes = randomBytes(3000);
    const client = await run(['connect', name, '--raw', '--timeout', '10000'], { input: bytes });
    assert.equal(client.code, 0, client.stderr);
    assert.ok(client.stdout.equals(bytes), 'raw bytes differ');
    echo.child.kill('SIGTERM');
    const echoed = await echo.done;
    assert.equal(echoed.code, 143, echoed.stderr);
  });

  it('connect --file sends a file as one message', T, async () => {
    const name = uniqueName('cfile');
    const receiver = start(['recv', name, '--count', '1', '--format', 'hex', '--timeout', '10000']);
    await waitForChannel(name);
    const dir = testTempDir('cli');
    try {
      const path = join(dir, 'one.bin');
      writeFileSync(path, Buffer.from('line 1\nline 2\n\x00end'));
      const client = await run(['connect', name, '--file', path, '--timeout', '10000', '--linger', '0']);
      assert.equal(client.code, 0, client.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const received = await receiver.done;
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.toString(), Buffer.from('line 1\nline 2\n\x00end').toString('hex') + '\n');
  });

  it('connect prints what a departed peer sent, then exits 0', T, async () => {
    const name = uniqueName('gone');
    const listener = start(['connect', name], { keepStdinOpen: true });
    await waitForChannel(name);
    assert.equal((await run(['send', name, 'last words', '--timeout', '5000'])).code, 0);
    const result = await listener.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'last words\n');
  });

  it('connect\'s wake-up pipes are non-blocking and close-on-exec (Linux: /proc)', T, async (t) => {
    if (!existsSync('/proc/self/fdinfo')) {
      t.skip('no /proc/<pid>/fdinfo');
      return;
    }
    const name = uniqueName('cloexec');
    const echo = start(['echo', name, '--timeout', '10000']);
    await waitForChannel(name);
    const client = start(['connect', name, '--timeout', '10000'], { keepStdinOpen: true });
    // Connected: its pipes are made (the sender's wake-up before the channel is opened).
    await waitForChannel(name, (info) => info.state === 'connected');
    const pid = client.child.pid;
    const pipesOf = (who) => readdirSync(`/proc/${who}/fd`).map((fd) => {
      try {
        return { fd, target: readlinkSync(`/proc/${who}/fd/${fd}`) };
      } catch {
        return { fd, target: '' }; /* the directory's own descriptor, gone once listed */
      }
    }).filter(({ target }) => target.startsWith('pipe:'));
    // Node gives a child's stdio socket pairs, not pipes, so the pipes connect has that this process has not (what
    // both have was inherited) are the ones connect made: the stop signal's wake-up, and the receiver's wake-up of the
    // sender (it used to be a plain pipe(): blocking, and inherited by whatever connect would run).
    const inherited = new Set(pipesOf('self').map(({ target }) => target));
    const pipes = pipesOf(pid)
      .filter(({ fd, target }) => Number(fd) > 2 && !inherited.has(target))
      .map(({ fd }) => ({ fd, flags: Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))[1], 8) }));
    client.child.stdin.end();
    const ended = await client.done;
    echo.child.kill('SIGTERM');
    await echo.done;
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(pipes.length, 4, JSON.stringify(pipes)); /* two ends each */
    const O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000;
    for (const { fd, flags } of pipes) {
      assert.ok(flags & O_CLOEXEC, `fd ${fd} is close-on-exec (flags ${flags.toString(8)})`);
      assert.ok(flags & O_NONBLOCK, `fd ${fd} is non-blocking (flags ${flags.toString(8)})`);
    }
  });

  it('SIGINT stops a waiting connect cleanly with 130', T, async () => {
    const name = uniqueName('sig');
    const waiting = start(['connect', name], { keepStdinOpen: true });
    await waitForChannel(name);
    waiting.child.kill('SIGINT');
    const stopped = await waiting.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.equal(stopped.stderr, '');
  });
});
