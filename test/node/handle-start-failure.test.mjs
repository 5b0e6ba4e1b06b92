// The extension host never blocks (issue #10), even when a just-opened handle's native threads cannot start (the
// process is out of threads): the Node API then closes the handle on the main thread, and that close must not wait
// for the channel's lock, whoever holds it. The failure is injected: the API is bundled from source here with its
// bindings wrapped (no hook in the shipped code), sipc_async_channel_start fails with SIPC_ERR_SYSTEM as a failed
// thread creation does, and right before it the channel's lock word is set to a live holder (this process: what a
// stranger who can write the segment, or a stopped process, would leave). A close that waits for the lock takes
// SIPC_DEFAULT_LOCK_TIMEOUT_MS (5 s) of the event loop; one that does not gives up at once and leaves the name stale.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { api, cleanup, segmentPath, uniqueName } from './helpers.mjs';
import { apiWithWrappedBindings } from './wrapped-bindings.mjs';

/** Channels whose lock word this test set. */
const lockedNames = [];
afterEach(async () => {
  // The lock word this test set is given back (it names this process, alive), then cleanup() removes the name.
  for (const name of lockedNames.splice(0)) {
    try { setLockWord(name, 0n); } catch { /* never made, or removed already */ }
  }
  await cleanup();
});

const SIPC_ERR_SYSTEM = -17;
const SIPC_ERR_TIMEOUT = -1;
/** helper/src/layout.h: offsetof(seg_header, lock_owner). */
const LOCK_OWNER_OFFSET = 56;

/** This process's lock word (helper/src/segment.c sipc_lock_word): pid << 32 | the start time folded to 32 bits. */
function ownLockWord() {
  const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
  const startTime = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const folded = (startTime ^ (startTime >> 32n)) & 0xffffffffn;
  return (BigInt(process.pid) << 32n) | folded;
}

/** How often this process's main thread gave up its CPU to wait (Linux: voluntary_ctxt_switches of its task). */
function mainThreadSleeps() {
  const status = readFileSync(`/proc/${process.pid}/task/${process.pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s*(\d+)$/m.exec(status)[1]);
}

function setLockWord(name, word) {
  const fd = openSync(segmentPath(name), 'r+');
  try {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(word);
    writeSync(fd, bytes, 0, 8, LOCK_OWNER_OFFSET);
  } finally {
    closeSync(fd);
  }
}

test('a handle whose threads cannot start is closed without waiting for a lock another process holds', { skip: process.platform !== 'linux', timeout: 60000 }, async () => {
  const name = uniqueName('n'); // short: its key is `sipc.<name>` (at most 30 bytes, else a hash: PROTOCOL.md)
  assert.ok(`sipc.${name}`.length <= 30, name);
  const closes = [];
  let failStarts = true;
  const wrapped = await apiWithWrappedBindings((real) => new Proxy(real, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (key === 'sipc_async_channel_start') {
        return (...args) => {
          if (!failStarts) return value(...args);
          setLockWord(name, ownLockWord()); // a live holder keeps the lock from here on
          lockedNames.push(name);
          return SIPC_ERR_SYSTEM;
        };
      }
      if (key === 'sipc_close_ex' || key === 'sipc_close') {
        return (...args) => {
          const before = mainThreadSleeps();
          const rc = value(...args);
          closes.push({ key, timeoutMs: args[1], rc, sleeps: mainThreadSleeps() - before });
          return rc;
        };
      }
      return value;
    },
  }));
  try {
    await assert.rejects(wrapped.open(name), { name: 'SipcError', code: 'SYSTEM' });
  } finally {
    failStarts = false;
  }
  assert.equal(closes.length, 1, JSON.stringify(closes));
  const [close] = closes;
  assert.deepEqual({ key: close.key, timeoutMs: close.timeoutMs, rc: close.rc }, { key: 'sipc_close_ex', timeoutMs: 0, rc: SIPC_ERR_TIMEOUT },
    'one try of the lock, given up at once');
  // And the library kept to it, counted rather than timed: a close that waited for the lock would have slept in the
  // lock's poll (helper/src/segment.c: 20 µs doubling to 5 ms, about a thousand sleeps over the default 5 s); one try
  // sleeps none (a context switch or two is left to whatever else the kernel makes the thread wait for).
  assert.ok(close.sleeps < 20, `the close slept ${close.sleeps} times on the main thread`);
  // The role was released all the same; only the name stays, stale, for the next opener or `sipc rm --stale`.
  const info = await api.stat(name);
  assert.equal(info.state, 'stale');
  assert.equal(info.serverPid, 0);
});
