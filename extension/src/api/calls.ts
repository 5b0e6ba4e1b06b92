/**
 * One libsipc call that may wait or touch the file system (open, observe, stat, list, remove, close), run on
 * a native thread of its own (sipc_async_call in helper/src/async.c), so the event loop never waits for the
 * file system, a lock or a stranger's object. The call reports through the shared notify path of
 * lifecycle.ts; its outcome is read here on the main thread and the native call object released.
 */
import { registerClient, setBusy, unregisterClient, type NativeClient } from './lifecycle';
import { native, type Pointer, type PointerCell, type RawAsyncCallStatus } from './native';
import { SIPC_ASYNC_PENDING, SIPC_OK, SIPC_ERR_SYSTEM, errorFor } from './status';

/** Starts the native call; returns a status (the call handle in `out`). */
export type CallStarter = (notify: Pointer, token: number, out: PointerCell) => number;

/** Reads a finished, successful call's outcome on the main thread, before the call is released. */
export type OutcomeReader<T> = (call: Pointer, status: RawAsyncCallStatus) => T;

class PendingCall<T> implements NativeClient {
  private readonly token: number;
  private handle: Pointer | undefined;
  private readonly status: RawAsyncCallStatus = { status: 0, entries: 0, notifying: 0, os_error: 0 };

  constructor(
    private readonly context: string,
    private readonly read: OutcomeReader<T>,
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: unknown) => void,
    start: CallStarter,
  ) {
    const { token, notify } = registerClient(this);
    this.token = token;
    const out: PointerCell = [null];
    let rc: number;
    try {
      rc = start(notify, token, out);
    } catch (error) {
      unregisterClient(token);
      reject(error);
      return;
    }
    if (rc !== SIPC_OK || out[0] === null) {
      unregisterClient(token);
      reject(errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, context));
      return;
    }
    // A notify arrives through the event loop (the relay's pipe, or koffi's callback), so never before this line.
    this.handle = out[0];
    setBusy(token, true);
  }

  onNotify(): void {
    const handle = this.handle;
    if (handle === undefined) return;
    native().sipc_async_call_poll(handle, this.status);
    if (this.status.status === SIPC_ASYNC_PENDING) return;
    let outcome: { value: T } | { error: unknown };
    try {
      if (this.status.status !== SIPC_OK) {
        const detail = native().sipc_async_call_detail(handle, -1) ?? '';
        throw errorFor(this.status.status, this.context, { osError: this.status.os_error, detail });
      }
      outcome = { value: this.read(handle, this.status) };
    } catch (error) {
      outcome = { error };
    }
    this.release();
    if ('value' in outcome) this.resolve(outcome.value);
    else this.reject(outcome.error);
  }

  arm(armed: boolean): number {
    return this.handle === undefined ? 0 : native().sipc_async_call_arm(this.handle, armed ? 1 : 0);
  }

  shutdownForExit(): void {
    this.release();
  }

  private release(): void {
    if (this.handle === undefined) return;
    // Never waits: the native thread drops the last reference (and frees the call) once its notify returned.
    native().sipc_async_call_release(this.handle);
    this.handle = undefined;
    unregisterClient(this.token);
  }
}

/**
 * Runs a native call off the main thread. The promise keeps the process alive until it settles (like a
 * pending fs call). A failed call rejects with a SipcError whose `code` is the library's status; when it
 * succeeded, `read` makes the value (and may throw a SipcError too).
 */
export function runCall<T>(context: string, start: CallStarter, read: OutcomeReader<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    new PendingCall<T>(context, read, resolve, reject, start);
  });
}
