/**
 * Lifetimes of the native handles and their threads, process-wide.
 *
 * - One notify callback is registered with koffi for the whole process and never unregistered, so no
 *   native thread can ever call a released callback; it dispatches by token to the live handle.
 * - A handle with pending work (a promise, a 'message' listener...) keeps the process alive with one shared
 *   timer, the way an open socket does; idle handles do not.
 * - koffi delivers a native thread's call on the main thread and keeps that thread waiting meanwhile, and it
 *   crashes if such a call is still queued when Node tears the environment down. So at 'beforeExit' every
 *   handle is disarmed (no new notify calls) and the loop is kept turning until none is in flight; at 'exit'
 *   every handle is stopped and, when no notify call is in flight, its threads are joined and it is closed
 *   (the peer sees PEER_GONE at once). A handle whose notify call is still in flight (only possible on
 *   process.exit() during traffic) is left alone: exit() ends its thread without running that call.
 */
import { native, type Pointer } from './native';

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
let nextToken = 1;
let notifyPointer: Pointer | undefined;
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

/** Registers a handle; returns its token and the notify callback pointer to hand to the native side. */
export function registerClient(client: NativeClient): { token: number; notify: Pointer } {
  installHooks();
  notifyPointer ??= native().registerNotify(dispatch);
  const token = nextToken++;
  clients.set(token, client);
  return { token, notify: notifyPointer };
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
