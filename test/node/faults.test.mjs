// Failures the library reports only when the OS fails it (a thread that cannot start, an errno behind SYSTEM,
// PERMISSION or NO_MEMORY, an entry that cannot be read), injected into a copy of the API bundled from source
// (wrapped-bindings.mjs: no hook in the shipped code). Each test checks what the caller gets: the stable code, the
// message naming what was attempted, the OS error, and an API that goes on working once the fault is gone.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, derivedNames, keepAliveTimers, openTracked, PEER_WAIT_MS, uniqueName, waitUntil, within } from './helpers.mjs';
import { apiWithFaults, apiWithWrappedBindings } from './wrapped-bindings.mjs';

// extension/src/api/abi.ts (generated from sipc.h).
const SIPC_OK = 0;
const SIPC_ERR_BUSY = -3;
const SIPC_ERR_CORRUPT = -11;
const SIPC_ERR_PERMISSION = -13;
const SIPC_ERR_NO_MEMORY = -14;
const SIPC_ERR_SYSTEM = -17;
const SIPC_ASYNC_PENDING = 1;

const { api, faults } = await apiWithFaults();

afterEach(async () => {
  faults.clear();
  await cleanup();
});

/** Escapes `text` for a RegExp. */
const literal = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Makes every finished call of the API report `status`, `osError` and `detail` from its native thread. */
function failFinishedCalls(status, osError, detail) {
  faults.set('sipc_async_call_poll', (real, call, out) => {
    const rc = real(call, out);
    if (out.status !== SIPC_ASYNC_PENDING) Object.assign(out, { status, os_error: osError });
    return rc;
  });
  faults.set('sipc_async_call_detail', (real, call, index) => (index === -1 ? detail : real(call, index)));
}

test('a call whose native thread cannot start rejects with the library\'s status; one that gives no call with SYSTEM', async () => {
  faults.set('sipc_async_stat_ex', () => SIPC_ERR_NO_MEMORY);
  faults.set('sipc_last_os_error', () => 12);
  await assert.rejects(api.stat('fault-stat'), (e) => e.name === 'SipcError' && e.code === 'NO_MEMORY' && e.osError === 12 &&
    e.message.startsWith("reading the state of channel 'fault-stat' failed: ") && e.message.endsWith(' (OS error 12)'), 'stat');
  faults.set('sipc_async_list', () => SIPC_OK); // "started", but no call handle came back
  faults.set('sipc_last_os_error', () => 0);
  await assert.rejects(api.list(), (e) => e.code === 'SYSTEM' && e.message === 'listing the channels failed: an operating-system call failed', 'list');
  const thrown = new Error('the binding itself threw');
  faults.set('sipc_async_remove', () => { throw thrown; });
  await assert.rejects(api.remove('fault-remove'), (e) => e === thrown, 'remove passes the exception on as it is');
  faults.set('sipc_async_process_describe', () => SIPC_ERR_SYSTEM);
  await assert.rejects(api.describeProcessAsync(process.pid),
    (e) => e.code === 'SYSTEM' && e.message.startsWith(`describing process ${process.pid} failed: `), 'describeProcessAsync');
  faults.clear();
  assert.equal((await api.describeProcessAsync(process.pid)).state, 'running', 'the API works again');
});

test('a call that fails on its native thread reports that thread\'s OS error and reason, for the codes that have one', async () => {
  const name = uniqueName('fault');
  await openTracked(name);
  const context = `reading the state of channel '${name}' failed: `;
  for (const [status, code] of [[SIPC_ERR_SYSTEM, 'SYSTEM'], [SIPC_ERR_PERMISSION, 'PERMISSION'], [SIPC_ERR_NO_MEMORY, 'NO_MEMORY']]) {
    failFinishedCalls(status, 5, 'the injected reason');
    await assert.rejects(api.stat(name), (e) => {
      assert.equal(e.code, code);
      assert.equal(e.osError, 5);
      assert.match(e.message, new RegExp(`^${literal(context)}[^:]+: the injected reason \\(OS error 5\\)$`));
      return true;
    }, code);
  }
  // BUSY has no OS error behind it: none is reported even if the thread left one.
  failFinishedCalls(SIPC_ERR_BUSY, 5, 'the injected reason');
  await assert.rejects(api.stat(name), (e) => {
    assert.equal(e.code, 'BUSY');
    assert.equal(e.osError, undefined);
    assert.match(e.message, new RegExp(`^${literal(context)}[^:]+: the injected reason$`));
    return true;
  });
  // No OS error and no reason: the library's text alone.
  failFinishedCalls(SIPC_ERR_SYSTEM, 0, null);
  await assert.rejects(api.stat(name), (e) => {
    assert.equal(e.code, 'SYSTEM');
    assert.equal(e.osError, undefined);
    assert.match(e.message, new RegExp(`^${literal(context)}[^:()]+$`));
    return true;
  });
  faults.clear();
  assert.equal((await api.stat(name)).state, 'waiting', 'the API works again');
});

test('an error made on the main thread carries the OS error only for SYSTEM, PERMISSION and NO_MEMORY', () => {
  let status = SIPC_ERR_PERMISSION;
  let osError = 13;
  faults.set('sipc_validate_name', () => status);
  faults.set('sipc_last_os_error', () => osError);
  const thrown = () => {
    try {
      api.validateName('fault-name');
    } catch (error) {
      return error;
    }
    assert.fail('validateName did not throw');
  };
  const prefix = "'fault-name' is not a valid channel name: ";
  let error = thrown();
  assert.equal(error.code, 'PERMISSION');
  assert.equal(error.osError, 13);
  assert.match(error.message, new RegExp(`^${literal(prefix)}[^:()]+ \\(OS error 13\\)$`));
  status = SIPC_ERR_CORRUPT;
  error = thrown();
  assert.equal(error.code, 'CORRUPT');
  assert.equal(error.osError, undefined);
  assert.match(error.message, new RegExp(`^${literal(prefix)}[^:()]+$`));
  status = SIPC_ERR_SYSTEM;
  osError = 0;
  error = thrown();
  assert.equal(error.code, 'SYSTEM');
  assert.equal(error.osError, undefined, 'no OS error: none reported');
  assert.match(error.message, new RegExp(`^${literal(prefix)}[^:()]+$`));
});

test('list() sorts by name whatever order the library gives, and fails as a whole when an entry cannot be read', async () => {
  const base = uniqueName('sorted');
  const names = derivedNames(base, ['a', 'b', 'c']);
  for (const name of names) await openTracked(name);
  // The library's entries in reverse order.
  let entries = 0;
  faults.set('sipc_async_call_poll', (real, call, out) => {
    const rc = real(call, out);
    entries = out.entries;
    return rc;
  });
  faults.set('sipc_async_call_entry', (real, call, index, info, status) => real(call, entries - 1 - index, info, status));
  faults.set('sipc_async_call_detail', (real, call, index) => real(call, index < 0 ? index : entries - 1 - index));
  const listed = (await api.list()).map((entry) => entry.name);
  assert.deepEqual(listed.filter((name) => name.startsWith(base)), names);
  assert.deepEqual(listed, [...listed].sort(), 'every entry in order');
  faults.set('sipc_async_call_entry', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(api.list(), (e) => e.code === 'NO_MEMORY' && e.message.startsWith('listing the channels failed: '));
  await assert.rejects(api.stat(names[0]),
    (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`reading the state of channel '${names[0]}' failed: `));
  // A stat whose call succeeded but whose one entry is unusable: the entry's status and reason.
  faults.set('sipc_async_call_entry', (real, call, index, info, status) => {
    const rc = real(call, index, info, status);
    status[0] = SIPC_ERR_CORRUPT;
    return rc;
  });
  faults.set('sipc_async_call_detail', (real, call, index) => (index === 0 ? 'an injected bad header' : real(call, index)));
  await assert.rejects(api.stat(names[1]), (e) => e.code === 'CORRUPT' && e.osError === undefined &&
    e.message.startsWith(`reading the state of channel '${names[1]}' failed: `) && e.message.endsWith(': an injected bad header'));
});

test('a watch whose native thread cannot start throws the library\'s status with the OS error, and keeps nothing running', () => {
  faults.set('sipc_async_watch_start', () => SIPC_ERR_NO_MEMORY);
  faults.set('sipc_last_os_error', () => 11);
  assert.throws(() => api.watchChannels(() => undefined), (e) => e.code === 'NO_MEMORY' && e.osError === 11 &&
    e.message.startsWith('watching the channels failed: ') && e.message.endsWith(' (OS error 11)'));
  faults.set('sipc_async_watch_start', () => SIPC_OK); // "started", but no watch handle came back
  faults.set('sipc_last_os_error', () => 0);
  assert.throws(() => api.watchChannels(() => undefined), (e) => e.code === 'SYSTEM' &&
    e.message === 'watching the channels failed: an operating-system call failed', 'SYSTEM\'s own text, not "success"');
  // Nothing holds the event loop: this test process ends by itself (node:test would time out otherwise).
});

test('describeProcess reports a failure of the library with its status', async () => {
  faults.set('sipc_process_describe', () => SIPC_ERR_PERMISSION);
  faults.set('sipc_last_os_error', () => 1);
  assert.throws(() => api.describeProcess(process.pid), (e) => e.code === 'PERMISSION' && e.osError === 1 &&
    e.message.startsWith(`describing process ${process.pid} failed: `));
  faults.set('sipc_async_call_process_info', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(api.describeProcessAsync(process.pid),
    (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`describing process ${process.pid} failed: `));
});

test('a library that is missing or cannot be loaded is LIBRARY_NOT_FOUND, saying where it was looked for and why', async () => {
  const saved = process.env.SIPC_LIBRARY;
  try {
    // Not a shared library at all: the loader's reason is in the message; with SIPC_LIBRARY set, no build hint.
    const notALibrary = fileURLToPath(import.meta.url);
    process.env.SIPC_LIBRARY = notALibrary;
    const unloadable = await apiWithWrappedBindings((real) => real);
    const prefix = `the sipc native library at ${notALibrary} could not be loaded: `;
    assert.throws(() => unloadable.libraryPath(), (e) => e.name === 'SipcError' && e.code === 'LIBRARY_NOT_FOUND' &&
      e.message.startsWith(prefix) && e.message.length > prefix.length + 5 && !e.message.includes('make -C helper'));
    // A bundle in a folder with neither a native/ folder nor a repository build beside it, SIPC_LIBRARY unset.
    delete process.env.SIPC_LIBRARY;
    const bundleDir = join(tmpdir(), `sipc-no-library-${process.pid}`, 'dist');
    const homeless = await apiWithWrappedBindings((real) => real, { bundleDir });
    const tried = homeless.libraryCandidates();
    const target = `${process.platform}-${process.arch}`;
    const file = homeless.libraryFileName();
    assert.deepEqual(tried, [join(bundleDir, 'native', target, file), join(dirname(bundleDir), 'helper', 'build', target, file)]);
    assert.throws(() => homeless.libraryVersion(), (e) => e.code === 'LIBRARY_NOT_FOUND' && e.message ===
      `the sipc native library (${homeless.libraryFileName()}) was not found; looked in: ${tried.join(', ')}` +
      ' (build it with `make -C helper`, or set SIPC_LIBRARY)');
  } finally {
    if (saved === undefined) delete process.env.SIPC_LIBRARY;
    else process.env.SIPC_LIBRARY = saved;
  }
});

test('a handle whose threads cannot start is refused with the library\'s status and closed again: its place is free', async () => {
  const name = uniqueName('fault-start');
  const server = await openTracked(name);
  // At most two lossless observers per channel: three refused ones must each have given their place back.
  faults.set('sipc_async_observer_start', () => SIPC_ERR_NO_MEMORY);
  faults.set('sipc_last_os_error', () => 12);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(api.observe(name, { lossless: true }), (e) => e.code === 'NO_MEMORY' && e.osError === 12 &&
      e.message.startsWith(`observe channel '${name}' failed: `) && e.message.endsWith(' (OS error 12)'));
  }
  faults.set('sipc_async_observer_start', () => SIPC_OK); // "started", but no handle came back
  faults.set('sipc_last_os_error', () => 0);
  await assert.rejects(api.observe(name, { lossless: true }),
    { code: 'SYSTEM', message: `observe channel '${name}' failed: an operating-system call failed` });
  faults.set('sipc_async_channel_start', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(api.open(name), (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`open channel '${name}' failed: `));
  faults.clear();
  const observers = [await api.observe(name, { lossless: true }), await api.observe(name, { lossless: true })];
  const client = await api.open(name); // the client role was given back too
  await Promise.all([client.connect(), server.connect()]);
  await Promise.all([...observers.map((observer) => observer.close()), client.close()]);
});

test('a close that fails to start rejects with the library\'s status; the channel counts as closed all the same', async () => {
  const name = uniqueName('fault-close');
  const channel = await api.open(name);
  faults.set('sipc_async_channel_close', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(channel.close(), (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`close channel '${name}' failed: `));
  assert.equal(channel.state, 'closed');
  await assert.rejects(channel.receive(), { code: 'CLOSED' });
  await assert.rejects(channel.close(), { code: 'NO_MEMORY' }, 'the same outcome when repeated');
});

test('info() of a channel or an observer reports a failure of the library with its status', async () => {
  const name = uniqueName('fault-info');
  const channel = await api.open(name);
  const observer = await api.observe(name);
  try {
    faults.set('sipc_async_channel_info', () => SIPC_ERR_CORRUPT);
    faults.set('sipc_async_observer_info', () => SIPC_ERR_CORRUPT);
    for (const handle of [channel, observer]) {
      assert.throws(() => handle.info(), (e) => e.code === 'CORRUPT' && e.message.startsWith(`reading the state of channel '${name}' failed: `));
    }
    faults.clear();
    assert.equal(channel.info().name, name);
    assert.equal(observer.info().name, name);
  } finally {
    await Promise.all([observer.close(), channel.close()]);
  }
});

test('a batch the library will not hand out ends receiving with its error: one \'error\' event, no receive() left waiting', async () => {
  // The library's take refusing its own batch (it reported bytes it then finds too few: only a fault can do it),
  // made real by asking with no room. The failure stays; receiving must end with it, not wait for news from the peer.
  faults.set('sipc_async_channel_take', (real, handle, buffer, capacity, lengths, maxCount, count) =>
    real(handle, buffer, 0, lengths, maxCount, count));
  const refused = (name) => (e) => e.code === 'BUFFER_TOO_SMALL' && e.message.startsWith(`receive from channel '${name}' failed: `);
  for (const listening of [true, false]) {
    const name = uniqueName('fault-take');
    const server = await api.open(name, { receiveSpinUs: 0 }); // no spin: every message comes as a batch
    try {
      const client = await openTracked(name);
      await Promise.all([server.connect(), client.connect()]);
      const errors = [];
      if (listening) server.on('error', (error) => errors.push(error));
      const pending = server.receive();
      await client.send('first');
      await client.send('second');
      await assert.rejects(within(PEER_WAIT_MS, pending, 'the pending receive()'), refused(name));
      await assert.rejects(server.receive(), refused(name), 'a later receive()');
      await server.send('still sending');
      assert.equal((await client.receive()).toString(), 'still sending', 'the other direction goes on');
      if (listening) {
        assert.equal(errors.length, 1, 'one error event (the notification\'s next rounds take nothing more)');
        assert.ok(refused(name)(errors[0]));
      }
      // Without an 'error' listener nothing is thrown (an uncaught exception would fail this test file).
    } finally {
      await server.close();
    }
  }
});

test("a batch the library will not hand to an observer ends the observation with its error, once: nothing more is taken", async () => {
  // As above, for sipc_async_observer_take. Before, every later event-loop turn took again and emitted 'error' again
  // (thousands a second, a busy loop of the main thread) for as long as the fault lasted.
  let takes = 0;
  faults.set('sipc_async_observer_take', (real, handle, buffer, capacity, descriptions, maxCount, count) => {
    takes++;
    return real(handle, buffer, 0, descriptions, maxCount, count);
  });
  const name = uniqueName('fault-observe');
  const server = await api.open(name, { receiveSpinUs: 0 });
  const observer = await api.observe(name);
  try {
    const client = await openTracked(name);
    await Promise.all([server.connect(), client.connect()]);
    const idle = keepAliveTimers();
    const errors = [];
    const messages = [];
    observer.on('message', (message) => messages.push(message));
    const failed = new Promise((resolve) => observer.on('error', (error) => resolve(errors.push(error))));
    await waitUntil(() => keepAliveTimers() === idle + 1, "the 'message' listener keeps the process alive");
    await client.send('first');
    await within(PEER_WAIT_MS, failed, "the observer's error");
    assert.equal(errors[0].code, 'BUFFER_TOO_SMALL');
    assert.ok(errors[0].message.startsWith(`observing channel '${name}' failed: `), errors[0].message);
    assert.equal(keepAliveTimers(), idle, 'an ended observation keeps nothing alive, whatever listens');
    const takesAtTheEnd = takes;
    await client.send('second');
    await waitUntil(() => observer.stats().messages === 2, "the observer's native thread copied the next message");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual({ errors: errors.length, takes: takes - takesAtTheEnd, messages: messages.length }, { errors: 1, takes: 0, messages: 0 });
    await Promise.all([server.receive(), server.receive()]); // the peers went on
  } finally {
    await observer.close();
    await server.close();
  }
});

test("an observer's statistics and its close report the library's failures, naming what was attempted", async () => {
  const name = uniqueName('fault-observer');
  await openTracked(name);
  const observer = await api.observe(name);
  faults.set('sipc_observer_get_stats', () => SIPC_ERR_CORRUPT);
  assert.throws(() => observer.stats(), (e) => e.code === 'CORRUPT' && e.message.startsWith(`reading the statistics of the observer of '${name}' failed: `));
  faults.clear();
  assert.equal(observer.stats().messages, 0, 'the statistics read again once the fault is gone');
  faults.set('sipc_async_observer_close', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(observer.close(), (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`closing the observer of channel '${name}' failed: `));
  assert.throws(() => observer.stats(), { code: 'CLOSED' }, 'it counts as closed all the same');
});

test("an observation the native thread fails hands out what it copied, then ends with that error once; unheard without an 'error' listener", async () => {
  const name = uniqueName('fault-observing');
  const server = await openTracked(name, { receiveSpinUs: 0 });
  const idle = keepAliveTimers();
  const heard = await api.observe(name);
  const unheard = await api.observe(name);
  try {
    const attached = (observer) => new Promise((resolve) => observer.on('event', (e) => { if (e.kind === 'attached' && e.role === 'client') resolve(); }));
    const bothAttached = Promise.all([attached(heard), attached(unheard)]);
    const client = await openTracked(name);
    await Promise.all([server.connect(), client.connect()]);
    await within(PEER_WAIT_MS, bothAttached, "the client's attach, seen by both observers");
    const errors = [];
    const messages = { heard: [], unheard: [] };
    heard.on('message', (m) => messages.heard.push(m.data.toString()));
    unheard.on('message', (m) => messages.unheard.push(m.data.toString()));
    const failed = new Promise((resolve) => heard.on('error', (error) => resolve(errors.push(error))));
    // The native thread copies the message, then its observing fails (a status other than NOT_FOUND, which means 'gone').
    faults.set('sipc_async_observer_poll', (real, handle, status) => {
      const rc = real(handle, status);
      if (status.ready_count > 0) status.status = SIPC_ERR_CORRUPT;
      return rc;
    });
    await client.send('first');
    await within(PEER_WAIT_MS, failed, "the observer's error");
    assert.equal(errors[0].code, 'CORRUPT');
    assert.ok(errors[0].message.startsWith(`observing channel '${name}' failed: `), errors[0].message);
    // Both ended: they keep nothing alive any more, whatever listens, and the one without an 'error' listener threw
    // nothing (an uncaught exception would fail this test).
    await waitUntil(() => keepAliveTimers() === idle, 'both observations ended');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual({ errors: errors.length, ...messages }, { errors: 1, heard: ['first'], unheard: ['first'] });
    faults.clear();
    await Promise.all([server.receive(), client.send('second')]); // the peers went on
  } finally {
    await Promise.all([heard.close(), unheard.close()]);
  }
});

test('an observe whose finished call hands out no observer rejects with its status (SYSTEM when it gives none), and keeps none', async () => {
  const name = uniqueName('fault-take-observer');
  await openTracked(name);
  // Two refused lossless observers: were either kept, a lossless place would stay taken.
  faults.set('sipc_async_call_take_observer', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(api.observe(name, { lossless: true }), (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`observe channel '${name}' failed: `));
  faults.set('sipc_async_call_take_observer', () => SIPC_OK); // "taken", but no observer came back
  await assert.rejects(api.observe(name, { lossless: true }), { code: 'SYSTEM', message: `observe channel '${name}' failed: an operating-system call failed` });
  faults.clear();
  // The observers those calls made are closed with the calls (on their native threads, soon): both lossless places free.
  const observers = await waitUntil(async () => {
    const made = await Promise.allSettled([api.observe(name, { lossless: true }), api.observe(name, { lossless: true })]);
    const got = made.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.value);
    if (got.length === 2) return got;
    await Promise.all(got.map((observer) => observer.close()));
    return undefined;
  }, 'both lossless places free again');
  await Promise.all(observers.map((observer) => observer.close()));
});

test('an open whose finished call hands out no channel rejects with its status (SYSTEM when it gives none), and keeps no role', async () => {
  const name = uniqueName('fault-take-channel');
  faults.set('sipc_async_call_take_channel', () => SIPC_ERR_NO_MEMORY);
  await assert.rejects(api.open(name), (e) => e.code === 'NO_MEMORY' && e.message.startsWith(`open channel '${name}' failed: `));
  faults.set('sipc_async_call_take_channel', () => SIPC_OK); // "taken", but no channel came back
  await assert.rejects(api.open(name), { code: 'SYSTEM', message: `open channel '${name}' failed: an operating-system call failed` });
  faults.clear();
  // The channels those calls opened are closed with the calls (on their native threads, soon): both roles free again.
  const [server, client] = await waitUntil(async () => {
    const opened = await Promise.allSettled([api.open(name), api.open(name)]);
    const got = opened.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.value);
    if (got.length === 2) return got;
    await Promise.all(got.map((channel) => channel.close()));
    return undefined;
  }, 'both roles free again');
  try {
    assert.deepEqual([server.role, client.role].sort(), ['client', 'server']);
  } finally {
    await Promise.all([client.close(), server.close()]);
  }
});
