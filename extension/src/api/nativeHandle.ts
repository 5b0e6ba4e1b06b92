/**
 * The life cycle shared by Channel and Observer: a libsipc handle whose blocking waits run in sipc_async
 * threads (helper/src/async.c). Starts those threads on construction, registers with lifecycle.ts for notify
 * calls, arms and disarms them around process exit, and closes the handle on a native thread (calls.ts).
 */
import { EventEmitter } from 'node:events';
import { runCall } from './calls';
import { registerClient, setBusy, throwLater, unregisterClient, type NativeClient } from './lifecycle';
import { type Pointer, type PointerCell } from './native';
import { SIPC_ERR_SYSTEM, SIPC_OK, errorFor } from './status';

/** The sipc_async_* functions of one kind of handle (channel or observer). */
export interface AsyncHandleKind {
  /** Starts the threads for the raw handle; the async handle in `out`. */
  start(raw: Pointer, notify: Pointer, token: number, out: PointerCell): number;
  /** Frees a raw handle whose threads could not start, on the main thread: so it must never wait (no lock wait). */
  closeRaw(raw: Pointer): void;
  arm(handle: Pointer, armed: number): number;
  stop(handle: Pointer): number;
  destroy(handle: Pointer): number;
  /** sipc_async_channel_close / sipc_async_observer_close: stop now, join and close on a native thread. */
  close(handle: Pointer, notify: Pointer, token: number, out: PointerCell): number;
}

export abstract class NativeHandle extends EventEmitter implements NativeClient {
  protected readonly handle: Pointer;
  private readonly token: number;
  private armed = true;
  private isClosed = false;
  private closing: Promise<void> | undefined;

  /** Takes ownership of `raw`. `what` names the operation for errors, e.g. "open channel 'demo'". */
  protected constructor(private readonly kind: AsyncHandleKind, raw: Pointer, what: string) {
    super();
    const { token, notify } = registerClient(this);
    this.token = token;
    const started: PointerCell = [null];
    const rc = kind.start(raw, notify, token, started);
    if (rc !== SIPC_OK || started[0] === null) {
      unregisterClient(token);
      // Only when no thread could be started (so none can close it either): closing here, without waiting for
      // any lock, is the lesser evil than leaking the handle.
      kind.closeRaw(raw);
      throw errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, `${what} failed`);
    }
    this.handle = started[0];
  }

  /** Whether close() was called (or the process is exiting). */
  protected get closed(): boolean {
    return this.isClosed;
  }

  /** The native side has news: poll it (main thread). @internal */
  abstract onNotify(): void;

  /** @internal */
  arm(armed: boolean): number {
    if (this.isClosed) return 0;
    this.armed = armed;
    return this.kind.arm(this.handle, armed ? 1 : 0);
  }

  /** @internal */
  shutdownForExit(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closing = Promise.resolve();
    this.onClosing();
    if (this.kind.stop(this.handle) === 0) this.kind.destroy(this.handle);
    unregisterClient(this.token);
  }

  /** Called once when the handle starts closing (close() or process exit), before the threads stop. */
  protected abstract onClosing(): void;

  /**
   * Marks the handle closed and closes it on a native thread; `read` takes what the finished close call
   * reports (e.g. the outcome of the last sends), `after` runs when it is over, failed or not. Safe to repeat.
   */
  protected closeHandle(what: string, read: (call: Pointer) => void, after: () => void): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    this.onClosing();
    const handle = this.handle;
    const finish = () => {
      after();
      unregisterClient(this.token);
    };
    const startClose = (notify: Pointer, token: number, out: PointerCell) => {
      const rc = this.kind.close(handle, notify, token, out);
      // No thread for the close (the process is out of threads): the handle's own threads are stopped at least (never
      // waits), so that no notify reaches a handle that is gone for JavaScript; koffi aborts the process at exit if
      // one is still queued then. The handle itself is left to libsipc's exit handler.
      if (rc !== SIPC_OK) this.kind.stop(handle);
      return rc;
    };
    this.closing = runCall(`${what} failed`, startClose, read).then(
      finish,
      (error: unknown) => {
        finish();
        throw error;
      },
    );
    return this.closing;
  }

  /**
   * Re-allows notify calls after a 'beforeExit' disarmed them; news that came meanwhile is looked at in the next
   * turn (onNotify always runs at the start of an event-loop turn, as a notify does).
   */
  protected ensureArmed(): void {
    if (this.armed || this.isClosed) return;
    this.arm(true);
    setImmediate(() => this.onNotify());
  }

  /**
   * Calls the listeners of `event`. One that throws does not interrupt the delivery it was called from (the rest of a
   * batch of messages, the bookkeeping after it): its exception surfaces from a later tick as an uncaught exception.
   */
  protected emitSafely(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      throwLater(error);
    }
  }

  /** Pending work keeps the process alive (like a socket); idle handles do not. */
  protected setBusy(busy: boolean): void {
    if (!this.isClosed) setBusy(this.token, busy);
  }
}
