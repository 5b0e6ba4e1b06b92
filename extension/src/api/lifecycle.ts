/**
 * Lifetimes of the native handles and their threads, process-wide.
 *
 * - One notify callback is registered with koffi for the whole process and never unregistered, so no native thread
 *   can ever call a released callback; koffi relays it to the main thread (an N-API thread-safe function) and it
 *   dispatches by token to the live handle. With SIPC_NODE_NOTIFY=relay (POSIX; opt-in, see the README: measured
 *   on a loaded machine it was not better) notifications come through a libsipc relay instead (sipc_async.h): the
 *   native thread queues the handle's token and makes a pipe readable, which the event loop reads on its own thread
 *   (a net.Socket over the descriptor); the main thread then takes the tokens and dispatches them. The main thread
 *   then takes no lock a native thread holds, and a native thread never waits for the main thread.
 * - A handle with pending work (a promise, a 'message' listener...) keeps the process alive with one shared
 *   timer, the way an open socket does; idle handles do not.
 * - On the callback path koffi delivers a native thread's call on the main thread and keeps that thread waiting
 *   meanwhile, and it crashes if such a call is still queued when Node tears the environment down (a relay's notify
 *   returns at once, so there this is only ever a call in its last instructions). So at 'beforeExit' every
 *   handle is disarmed (no new notify calls) and the loop is kept turning until none is in flight; at 'exit'
 *   every handle is stopped and, when no notify call is in flight, its threads are joined and it is closed
 *   (the peer sees PEER_GONE at once). A handle whose notify call is still in flight (only possible on
 *   process.exit() during traffic) is left alone: exit() ends its thread without running that call.
 */
import { Socket, type ConnectOpts, type SocketConstructorOpts } from 'node:net';
import { SIPC_ASYNC_RELAY_ID_BITS } from './abi';
import { native, type Pointer, type PointerCell } from './native';
import { SIPC_OK } from './status';

export interface NativeClient {
  /** The native side has news: poll it. Runs on the main thread. */
  onNotify(): void;
  /** Allows or forbids notify calls; returns the number in flight. */
  arm(armed: boolean): number;
  /** Synchronous last-chance cleanup at process exit. */
  shutdownForExit(): void;
}

const clients = new Map<number, NativeClient>();
const busy = new Set<number>();
/** Token ids run from 1 to ID_LIMIT - 1 and start over, skipping the live ones (the bits a relay token has for it). */
const ID_LIMIT = 2 ** SIPC_ASYNC_RELAY_ID_BITS;
let nextId = 1;
/** How notifications reach the main thread: chosen at the first handle, for the life of the process. */
let path: NotifyPath | undefined;
let keepAlive: ReturnType<typeof setInterval> | undefined;
let hooksInstalled = false;

function dispatch(token: number): void {
  const client = clients.get(token);
  if (!client) return;
  try {
    client.onNotify();
  } catch (error) {
    // Whatever throws in a notify must surface like any EventEmitter listener error, not vanish in koffi.
    throwLater(error);
  }
}

/** Throws `error` from a later tick: an uncaught exception, as a throwing EventEmitter listener's is, without unwinding the caller. */
export function throwLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('beforeExit', () => {
    let inFlight = 0;
    for (const client of clients.values()) inFlight += client.arm(false);
    // Let the loop deliver the calls in flight; 'beforeExit' comes again afterwards.
    if (inFlight > 0) setImmediate(() => undefined);
  });
  process.on('exit', () => {
    for (const client of [...clients.values()]) {
      try {
        client.shutdownForExit();
      } catch {
        // Nothing useful can be done while exiting.
      }
    }
  });
}

interface NotifyPath {
  /** The notify function to hand to the native side. */
  readonly notify: Pointer;
  /** The token for a handle's id. */
  token(id: number): number;
}

/** Tokens taken per sipc_async_relay_take; more are taken in a loop. */
const RELAY_TAKE = 256;

/**
 * The relay's descriptor read by the event loop: each time it becomes readable, every queued token is taken, then
 * dispatched (all handles when the relay's queue overflowed). Null where no relay can be made (Windows; out of
 * descriptors) or not asked for (SIPC_NODE_NOTIFY=relay): the callback path then.
 */
function openRelay(): NotifyPath | null {
  if (process.platform === 'win32' || process.env.SIPC_NODE_NOTIFY !== 'relay') return null;
  const lib = native();
  const cell: PointerCell = [null];
  if (lib.sipc_async_relay_open(cell) !== SIPC_OK || cell[0] === null) return null;
  const relay = cell[0];
  const fd = lib.sipc_async_relay_fd(relay);
  const base = new Uint32Array(1);
  if (fd < 0 || lib.sipc_async_relay_token(relay, 0, base) !== SIPC_OK) return null;
  const tokens = new Uint32Array(RELAY_TAKE);
  const count = new Uint32Array(1);
  const overflowed = new Uint32Array(1);
  const taken: number[] = [];
  const onReadable = (): void => {
    let everyone = false;
    do {
      lib.sipc_async_relay_take(relay, tokens, RELAY_TAKE, count, overflowed);
      for (let i = 0; i < count[0]; i++) taken.push(tokens[i]);
      if (overflowed[0] !== 0) everyone = true;
    } while (count[0] === RELAY_TAKE);
    for (const token of everyone ? [...clients.keys()] : taken) dispatch(token);
    taken.length = 0;
  };
  // A stream over the pipe: libuv reads it on the loop's thread (no thread-pool hop), into one reused buffer. Not
  // ref'd: like koffi's relay, it keeps no process alive (pending work does, through setBusy's timer).
  // (Node reads `onread` in the constructor too; @types/node lists it for connect() only.)
  const options: SocketConstructorOpts & ConnectOpts = {
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer: Buffer.alloc(64),
      callback: () => {
        onReadable();
        return true;
      },
    },
  };
  const socket = new Socket(options);
  socket.unref();
  socket.on('error', throwLater);
  return { notify: lib.relayNotify, token: (id) => (base[0] | id) >>> 0 };
}

function notifyPath(): NotifyPath {
  path ??= openRelay() ?? { notify: native().registerNotify(dispatch), token: (id) => id };
  return path;
}

/** Registers a handle; returns its token and the notify function pointer to hand to the native side. */
export function registerClient(client: NativeClient): { token: number; notify: Pointer } {
  installHooks();
  const notify = notifyPath();
  let token = notify.token(nextId);
  while (clients.has(token)) {
    nextId = nextId + 1 < ID_LIMIT ? nextId + 1 : 1;
    token = notify.token(nextId);
  }
  nextId = nextId + 1 < ID_LIMIT ? nextId + 1 : 1;
  clients.set(token, client);
  return { token, notify: notify.notify };
}

/**
 * For tests only (test/node/lifecycle-relay.test.mjs, through a bundle of these sources; index.ts does not export it):
 * the id the next registration tries first (1 to ID_LIMIT - 1), so a test can show the ids' wrap at ID_LIMIT without
 * 2^24 registrations.
 */
export function setNextIdForTests(id: number): void {
  nextId = id;
}

export function unregisterClient(token: number): void {
  clients.delete(token);
  setBusy(token, false);
}

/** Marks a handle as having pending work (keeps the process alive) or not. */
export function setBusy(token: number, isBusy: boolean): void {
  if (isBusy) busy.add(token);
  else busy.delete(token);
  if (busy.size > 0 && !keepAlive) {
    keepAlive = setInterval(() => undefined, 1 << 30);
  } else if (busy.size === 0 && keepAlive) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}
