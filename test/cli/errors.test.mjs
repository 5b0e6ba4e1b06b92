// Exit codes and one-line error messages of the sipc CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertBinary, cleanup, run, start, uniqueName, waitForChannel, waitForTap } from './helpers.mjs';

const T = { timeout: 30000 };

/** The CLI reports an error as exactly one line on stderr. */
function assertOneLine(stderr, pattern) {
  assert.match(stderr, /^sipc: [^\n]+\n$/, `not one line: ${JSON.stringify(stderr)}`);
  assert.match(stderr, pattern);
}

describe('sipc exit codes and errors', () => {
  before(assertBinary);
  after(cleanup);

  it('unknown channel: NOT_FOUND, exit 12', T, async () => {
    const name = uniqueName('missing');
    const result = await run(['stat', name]);
    assert.equal(result.code, 12);
    assertOneLine(result.stderr, new RegExp(`^sipc: stat ${name}: .+ \\(NOT_FOUND\\)\\n$`));
    const removed = await run(['rm', name]);
    assert.equal(removed.code, 12);
    const tapped = await run(['tap', name]);
    assert.equal(tapped.code, 12);
  });

  it('invalid name: INVALID_NAME, exit 9', T, async () => {
    for (const args of [['send', 'bad/name', 'x'], ['recv', '.hidden'], ['stat', 'spaces not ok'], ['send', 'x'.repeat(201), 'x']]) {
      const result = await run(args);
      assert.equal(result.code, 9, `${args[0]} ${args[1]}: ${result.stderr}`);
      assertOneLine(result.stderr, /\(INVALID_NAME\)\n$/);
    }
  });

  it('oversized message: TOO_BIG, exit 6, nothing sent', T, async () => {
    const name = uniqueName('big');
    const receiver = start(['recv', name, '--max-size', '16', '--count', '1', '--timeout', '3000']);
    await waitForChannel(name);
    const result = await run(['send', name, 'x'.repeat(17), '--timeout', '5000']);
    assert.equal(result.code, 6);
    assertOneLine(result.stderr, new RegExp(`^sipc: send ${name}: .*17-byte.*\\(TOO_BIG\\)\\n$`));
    const exact = await run(['send', name, 'y'.repeat(16), '--timeout', '5000']);
    assert.equal(exact.code, 0, exact.stderr);
    const received = await receiver.done;
    assert.equal(received.stdout.toString(), 'y'.repeat(16) + '\n');
  });

  it('timeout: TIMEOUT, exit 3', T, async () => {
    const name = uniqueName('timeout');
    const started = Date.now();
    const received = await run(['recv', name, '--count', '1', '--timeout', '300']);
    assert.equal(received.code, 3);
    assertOneLine(received.stderr, new RegExp(`^sipc: recv ${name}: .+ \\(TIMEOUT\\)\\n$`));
    assert.ok(Date.now() - started >= 250);
    const sent = await run(['send', uniqueName('timeout'), 'nobody listens', '--timeout', '300']);
    assert.equal(sent.code, 3);
    assertOneLine(sent.stderr, /\(TIMEOUT\)\n$/);
  });

  it('third opener: BUSY, exit 5', T, async () => {
    const name = uniqueName('busy');
    const server = start(['recv', name, '--timeout', '15000']);
    await waitForChannel(name);
    const client = start(['connect', name, '--timeout', '5000'], { keepStdinOpen: true });
    await waitForChannel(name, (info) => info.state === 'connected');
    const third = await run(['send', name, 'me too', '--timeout', '1000']);
    assert.equal(third.code, 5);
    assertOneLine(third.stderr, new RegExp(`^sipc: send ${name}: .+ \\(BUSY\\)\\n$`));
    client.child.stdin.end();
    await client.done;
    server.child.kill('SIGTERM');
    await server.done;
  });

  it('SIGTERM / SIGINT stop recv and tap quietly with 128 + signal', T, async () => {
    const name = uniqueName('signal');
    const receiver = start(['recv', name]);
    await waitForChannel(name);
    const tap = start(['tap', name]);
    await waitForTap(tap);
    tap.child.kill('SIGINT');
    const tapped = await tap.done;
    assert.equal(tapped.code, 130);
    assert.doesNotMatch(tapped.stderr, /\(CANCELLED\)/);
    receiver.child.kill('SIGTERM');
    const received = await receiver.done;
    assert.equal(received.code, 143);
    assert.equal(received.stderr, '');
    assert.equal((await run(['stat', name])).code, 12, 'the last one out removes the channel');
  });

  it('bad arguments: exit 1 with a clear message', T, async () => {
    const cases = [
      [['send', 'x', '--bogus'], /unknown option '--bogus'/],
      [['recv', 'x', '--count', 'abc'], /--count needs a whole number, not 'abc'/],
      [['recv', 'x', '--count', '0'], /--count must be between 1 and/],
      [['recv', 'x', '--timeout', '5s'], /--timeout needs milliseconds/],
      [['send', 'x', '--hex', 'zz'], /--hex contains a character that is not a hex digit/],
      [['send', 'x', '--hex', 'abc'], /--hex has an odd number of hex digits/],
      [['send', 'x'], /nothing to send/],
      [['send', 'x', 'a', '--hex', '00'], /only one of/],
      [['recv'], /missing channel name/],
      [['recv', 'x', '--format', 'yaml'], /--format must be one of raw\|hex\|text\|json/],
      [['send', 'x', 'y', '--max-size', '0'], /--max-size must be between 1 and/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['stat', 'a', 'b'], /unexpected argument 'b'/],
      [['bench', '--runs', '0'], /--runs needs a number/],
    ];
    for (const [args, pattern] of cases) {
      const result = await run(args);
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assertOneLine(result.stderr, pattern);
    }
  });

  it('send --file of a missing file: exit 2', T, async () => {
    const result = await run(['send', uniqueName('nofile'), '--file', '/nonexistent/sipc-test']);
    assert.equal(result.code, 2);
    assertOneLine(result.stderr, /cannot read \/nonexistent\/sipc-test: No such file or directory/);
  });

  it('--help, help CMD and --version exit 0', T, async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['connect', 'send', 'recv', 'echo', 'ls', 'stat', 'tap', 'rm', 'bench']) {
      assert.match(help.stdout.toString(), new RegExp(`^  ${command} `, 'm'));
      const one = await run(['help', command]);
      assert.equal(one.code, 0);
      assert.match(one.stdout.toString(), new RegExp(`usage: sipc ${command}`));
      const flag = await run([command, '--help']);
      assert.equal(flag.code, 0);
      assert.deepEqual(flag.stdout, one.stdout);
    }
    assert.match(help.stdout.toString(), /Exit codes:/);
    const version = await run(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout.toString(), /^sipc \d+\.\d+\.\d+ \(libsipc [^)]+\)\n$/);
    const none = await run([]);
    assert.equal(none.code, 1);
  });
});
