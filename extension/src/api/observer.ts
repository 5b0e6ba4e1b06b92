/**
 * Observer: follows the traffic of a channel between two other processes, read-only (it never consumes a
 * message). A native thread waits for traffic and hands it over in batches; when this process falls behind,
 * the library skips ahead and reports how many messages were missed.
 */
import { EventEmitter } from 'node:events';
import { SipcError } from './errors';
import { runCall } from './calls';
import { registerClient, setBusy, unregisterClient, type NativeClient } from './lifecycle';
import { native, toNumber, type Pointer, type PointerCell, type RawAsyncObserverStatus } from './native';
import { SIPC_ERR_CANCELLED, SIPC_ERR_SYSTEM, SIPC_OK, check, emptyRawInfo, errorFor, infoFromRaw, type ChannelInfo } from './status';

export interface ObservedMessage {
  direction: 'to-client' | 'to-server';
  /** Per-direction message number, from 0. */
  sequence: number;
  /** When it was sent. */
  timestamp: Date;
  /** Full length of the message as sent. */
  length: number;
  /** The message, truncated to the observer's capacity when it was longer (data.length < length). */
  data: Buffer;
  /** Messages of this direction the observer missed just before this one. */
  missed: number;
}

export interface ObserveOptions {
  /** Bytes copied of each message (default 64 KiB); longer messages arrive truncated. */
  capacity?: number;
}

const FIELDS = 6; // SIPC_ASYNC_OBSERVED_FIELDS
const BATCH = 256;
const DEFAULT_CAPACITY = 64 * 1024;

export interface Observer {
  on(event: 'message', listener: (message: ObservedMessage) => void): this;
  on(event: 'newListener' | 'removeListener', listener: (event: string | symbol) => void): this;
  on(event: 'gone', listener: () => void): this;
  on(event: 'error', listener: (error: SipcError) => void): this;
  once(event: 'message', listener: (message: ObservedMessage) => void): this;
  once(event: 'gone', listener: () => void): this;
  once(event: 'error', listener: (error: SipcError) => void): this;
  off(event: 'message', listener: (message: ObservedMessage) => void): this;
  off(event: 'gone', listener: () => void): this;
  off(event: 'error', listener: (error: SipcError) => void): this;
}

export class Observer extends EventEmitter implements NativeClient {
  readonly name: string;
  private readonly raw: Pointer;
  private readonly handle: Pointer;
  private readonly token: number;
  private armed = true;
  private closed = false;
  private ended = false;
  private closing: Promise<void> | undefined;
  private readonly fields = new BigUint64Array(BATCH * FIELDS);
  private readonly count = new Uint32Array(1);
  private readonly status: RawAsyncObserverStatus = { status: 0, ready_count: 0, ready_bytes: 0, notifying: 0, reserved: 0 };

  /** Use observe(). Takes ownership of `observer`, a handle sipc_observe returned. @internal */
  constructor(name: string, observer: Pointer, capacity: number) {
    super();
    const lib = native();
    this.name = name;
    this.raw = observer;
    const { token, notify } = registerClient(this);
    this.token = token;
    const started: PointerCell = [null];
    const rc = lib.sipc_async_observer_start(this.raw, capacity, notify, token, started);
    if (rc !== SIPC_OK || started[0] === null) {
      unregisterClient(token);
      lib.sipc_observer_close(this.raw);
      throw errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, `observe channel '${name}' failed`);
    }
    this.handle = started[0];
    this.on('newListener', () => queueMicrotask(() => this.update()));
    this.on('removeListener', () => this.update());
  }

  /** Snapshot of the observed channel's shared state. */
  info(): ChannelInfo {
    if (this.closed) throw new SipcError('CLOSED', `reading the state of channel '${this.name}' failed: the observer is closed`);
    const raw = emptyRawInfo();
    check(native().sipc_observer_info(this.raw, raw), `reading the state of channel '${this.name}' failed`);
    return infoFromRaw(raw);
  }

  /** Stops observing: no 'message' after this; the native thread is cancelled and joined on a native thread. Safe to repeat. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const handle = this.handle;
    const done = () => unregisterClient(this.token);
    this.closing = runCall(
      `closing the observer of channel '${this.name}' failed`,
      (notify, token, out) => native().sipc_async_observer_close(handle, notify, token, out),
      () => undefined,
    ).then(done, (error: unknown) => {
      done();
      throw error;
    });
    return this.closing;
  }

  /** @internal */
  onNotify(): void {
    if (this.closed) return;
    const lib = native();
    const status = this.status;
    lib.sipc_async_observer_poll(this.handle, status);
    let remaining = status.ready_count;
    while (remaining > 0 && !this.closed) {
      const capacity = Math.max(toNumber(status.ready_bytes), 1);
      const buffer = Buffer.allocUnsafeSlow(capacity);
      const rc = lib.sipc_async_observer_take(this.handle, buffer, capacity, this.fields, BATCH, this.count);
      if (rc !== SIPC_OK) {
        this.emitError(errorFor(rc, `observing channel '${this.name}' failed`));
        break;
      }
      const taken = this.count[0];
      if (taken === 0) break;
      remaining -= Math.min(remaining, taken);
      let offset = 0;
      for (let i = 0; i < taken && !this.closed; i++) {
        const f = this.fields.subarray(i * FIELDS, (i + 1) * FIELDS);
        const copied = Number(f[4]);
        const message: ObservedMessage = {
          direction: f[0] === 0n ? 'to-client' : 'to-server',
          sequence: Number(f[1]),
          timestamp: new Date(Number(f[2] / 1000000n)),
          length: Number(f[3]),
          data: buffer.subarray(offset, offset + copied),
          missed: Number(f[5]),
        };
        offset += copied;
        this.emit('message', message);
      }
    }
    if (status.status !== SIPC_OK && !this.ended && !this.closed && status.status !== SIPC_ERR_CANCELLED) {
      this.ended = true;
      if (lib.sipc_status_name(status.status) === 'NOT_FOUND') this.emit('gone');
      else this.emitError(errorFor(status.status, `observing channel '${this.name}' failed`));
    }
    this.update();
  }

  /** @internal */
  arm(armed: boolean): number {
    if (this.closed) return 0;
    this.armed = armed;
    return native().sipc_async_observer_arm(this.handle, armed ? 1 : 0);
  }

  /** @internal */
  shutdownForExit(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = Promise.resolve();
    const lib = native();
    if (lib.sipc_async_observer_stop(this.handle) === 0) lib.sipc_async_observer_destroy(this.handle);
    unregisterClient(this.token);
  }

  private update(): void {
    if (this.closed) return;
    if (!this.armed) {
      this.arm(true);
      queueMicrotask(() => this.onNotify());
    }
    setBusy(this.token, !this.ended && (this.listenerCount('message') > 0 || this.listenerCount('gone') > 0));
  }

  private emitError(error: SipcError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/**
 * Starts observing a channel by name (it must exist: NOT_FOUND otherwise). Sees messages sent from the moment
 * the native attach succeeded. The attach runs on a native thread.
 */
export function observe(name: string, options: ObserveOptions = {}): Promise<Observer> {
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > 64 * 1024 * 1024) {
    return Promise.reject(new SipcError('INVALID_ARGUMENT', 'capacity must be an integer from 0 to 67108864'));
  }
  const context = `observe channel '${name}' failed`;
  return runCall(
    context,
    (notify, token, out) => native().sipc_async_observe(name, notify, token, out),
    (call) => {
      const out: PointerCell = [null];
      const rc = native().sipc_async_call_take_observer(call, out);
      if (rc !== SIPC_OK || out[0] === null) throw errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, context);
      return new Observer(name, out[0], capacity);
    },
  );
}
