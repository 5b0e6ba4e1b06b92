/**
 * Channel: one end of a sipc channel, promise based, never blocking the event loop.
 *
 * Blocking waits happen in native threads (helper/src/async.c): the receiver thread waits for the peer and
 * for messages, the sender thread takes the sends that found the queue full. The main thread only makes
 * calls that answer at once and never look up another process (on Linux a file under /proc): a send is first
 * tried with sipc_async_channel_send_now and only handed to the sender thread (keeping its order: later sends
 * queue behind it) when the queue is full or the peer is not adopted yet; info() reports the holders' liveness as
 * the native threads last established it.
 */
import { SipcError } from './errors';
import {
  SIPC_ASYNC_FLOWING, SIPC_ASYNC_MAX_SPIN_US, SIPC_ASYNC_PAUSED, SIPC_EXIT_LOCK_TIMEOUT_MS, SIPC_MAX_MESSAGE_LIMIT, SIPC_MAX_QUEUE_DEPTH,
  SIPC_OPEN_INHERIT_HANDLES, SIPC_ROLE_SERVER,
} from './abi';
import { runCall } from './calls';
import { SpinPolicy } from './spinPolicy';
import { OrderedDelivery, ownedCopy, type Waiter } from './delivery';
import { NativeHandle, type AsyncHandleKind } from './nativeHandle';
import { native, toNumber, type Pointer, type PointerCell, type RawAsyncStatus, type RawOptions } from './native';
import {
  SIPC_ASYNC_PENDING, SIPC_ERR_CANCELLED, SIPC_ERR_NOT_CONNECTED, SIPC_ERR_PEER_GONE, SIPC_ERR_SYSTEM,
  SIPC_ERR_TIMEOUT, SIPC_OK, check, emptyRawInfo, errorFor, infoFromRaw, type ChannelInfo,
} from './status';

export type Role = 'server' | 'client';
/** waiting: no peer yet (or waiting for the next one after connect()); peer-gone: the peer closed or died. */
export type ChannelState = 'waiting' | 'connected' | 'peer-gone' | 'closed';

export interface OpenOptions {
  /** Largest message in bytes (default 64 KiB). Must match an existing channel's. */
  maxMessageSize?: number;
  /** Messages queued per direction before send waits (default 16). */
  queueDepth?: number;
  /**
   * Permission bits of the shared segment, applied exactly (the umask does not apply) when this call creates it:
   * 0 or unset gives 0o600, owner only; the owner's read and write bits are required.
   */
  mode?: number;
  /** Let child processes inherit the handles. */
  inheritHandles?: boolean;
  /**
   * How long (µs) a receive on a busy channel may look for the next message on the calling thread per event-loop
   * turn, from 0 (never: the native thread always delivers, one notification per batch) to SIPC_ASYNC_MAX_SPIN_US.
   * Default: the SIPC_SPIN_US environment variable, else 100. A program whose event loop others share (the VS Code
   * extension host) passes 0: the spin's latency gain is the program's, its CPU on the shared thread everyone's.
   */
  receiveSpinUs?: number;
}

/** The process at the other end of a channel. */
export interface PeerInfo {
  pid: number;
  /** Whether that process is still running. */
  alive: boolean;
}

export interface ConnectOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TimeoutOptions {
  timeoutMs?: number;
}

/** Messages an iterator may read ahead before reading pauses. */
const ITERATOR_READ_AHEAD = 64;
/** Poll/take rounds per notification; the rest waits for the next event-loop turn (a busy channel does not hold the loop). */
const TAKE_ROUNDS = 4;
/** Messages larger than this always take the native thread's path. */
const SPIN_BUFFER_MAX = 256 * 1024;


function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  throw new SipcError('INVALID_ARGUMENT', 'a message must be a Uint8Array (or Buffer) or a string');
}

export function checkTimeout(timeoutMs: number | undefined, what: string): void {
  if (timeoutMs === undefined) return;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0x7fffffff) {
    throw new SipcError('INVALID_ARGUMENT', `${what}: timeoutMs must be an integer from 0 to 2147483647`);
  }
}

/**
 * Every received message (from receive(), 'message' or `for await`) is a Buffer in memory of its own: byteOffset
 * 0 and an ArrayBuffer of exactly its length, so keeping one keeps no batch or pool alive.
 */
export interface Channel {
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'newListener' | 'removeListener', listener: (event: string | symbol) => void): this;
  on(event: 'connected', listener: () => void): this;
  on(event: 'peer-gone', listener: () => void): this;
  on(event: 'error', listener: (error: SipcError) => void): this;
  once(event: 'message', listener: (data: Buffer) => void): this;
  once(event: 'connected', listener: () => void): this;
  once(event: 'peer-gone', listener: () => void): this;
  once(event: 'error', listener: (error: SipcError) => void): this;
  off(event: 'message', listener: (data: Buffer) => void): this;
  off(event: 'connected' | 'peer-gone', listener: () => void): this;
  off(event: 'error', listener: (error: SipcError) => void): this;
}

/** The sipc_async_channel functions, for the life cycle NativeHandle runs. */
const CHANNEL_KIND: AsyncHandleKind = {
  start: (raw, notify, token, out) => native().sipc_async_channel_start(raw, notify, token, out),
  // Timeout 0: one try of the channel's lock, never a wait on the main thread; if a stranger holds it, the role is
  // released all the same and only the name stays (stale, reclaimed by the next opener or `sipc rm --stale`).
  closeRaw: (raw) => native().sipc_close_ex(raw, 0),
  arm: (handle, armed) => native().sipc_async_channel_arm(handle, armed),
  stop: (handle) => native().sipc_async_channel_stop(handle),
  // At process exit: a lock a stranger holds delays the exit by at most SIPC_EXIT_LOCK_TIMEOUT_MS, as libsipc's own
  // exit handler allows it (the name then stays stale).
  destroy: (handle) => native().sipc_async_channel_destroy_ex(handle, SIPC_EXIT_LOCK_TIMEOUT_MS),
  close: (handle, notify, token, out) => native().sipc_async_channel_close(handle, notify, token, out),
};

export class Channel extends NativeHandle {
  readonly name: string;
  readonly role: Role;
  readonly maxMessageSize: number;

  private currentState: ChannelState = 'waiting';
  private readonly connectWaiters = new Set<Waiter<void>>();
  /** Received messages and pending receive() calls, in channel order (see delivery.ts). */
  private readonly delivery = new OrderedDelivery({
    hasListeners: () => this.listenerCount('message') > 0,
    emit: (message) => this.emitSafely('message', message),
    stopped: () => this.closed,
    changed: () => this.update(),
  });
  /** Why the native connect wait failed (CORRUPT...); the next connect() makes it wait again. */
  private connectFailure: SipcError | undefined;
  /** Sends handed to the sender thread, oldest first; they settle in this order. */
  private readonly backgroundSends: Waiter<void>[] = [];
  private iterators = 0;
  /** What the native side was last told (its want also drops by every message taken). */
  private nativeFlags = 0;
  private nativeWant = 0;
  /** When to look for messages on this thread (the hot path; see spinPolicy.ts). */
  private readonly spinPolicy: SpinPolicy;
  private spinScheduled = false;
  private coolDown: ReturnType<typeof setTimeout> | undefined;
  private spinBuffer: Buffer | undefined;
  private readonly lengths = new Uint32Array(256);
  private readonly statuses = new Int32Array(256);
  private readonly count = new Uint32Array(1);
  private readonly status: RawAsyncStatus = {
    connect_status: 0, recv_status: 0, ready_count: 0, send_results: 0, ready_bytes: 0, sends_queued: 0, notifying: 0,
  };

  /** Use open(). Takes ownership of `channel`, a handle sipc_open returned. @internal */
  constructor(name: string, channel: Pointer, receiveSpinUs?: number) {
    super(CHANNEL_KIND, channel, `open channel '${name}'`);
    const lib = native();
    this.name = name;
    this.spinPolicy = new SpinPolicy(receiveSpinUs);
    this.role = lib.sipc_get_role(channel) === SIPC_ROLE_SERVER ? 'server' : 'client';
    this.maxMessageSize = lib.sipc_max_message_size(channel);
    this.on('newListener', (event) => {
      if (event === 'message') queueMicrotask(() => this.update());
    });
    this.on('removeListener', (event) => {
      if (event === 'message') this.update();
    });
  }

  get state(): ChannelState {
    return this.currentState;
  }

  /** The process attached to the other role right now, from the shared state (never blocks). */
  get peer(): PeerInfo | undefined {
    if (this.closed) return undefined;
    const info = this.info();
    const pid = this.role === 'server' ? info.clientPid : info.serverPid;
    if (pid <= 0) return undefined;
    return { pid, alive: this.role === 'server' ? info.clientAlive : info.serverAlive };
  }

  /** Resolves once a peer is attached (at once if it is). After 'peer-gone', waits for the next peer. */
  connect(options: ConnectOptions = {}): Promise<void> {
    try {
      checkTimeout(options.timeoutMs, `connect to channel '${this.name}'`);
      this.ensureOpen('connect to');
    } catch (error) {
      return Promise.reject(error);
    }
    this.ensureArmed();
    if (this.currentState === 'connected') return Promise.resolve();
    if (this.currentState === 'peer-gone' || this.connectFailure) {
      // After the peer left, or after the native connect wait failed: the native thread waits again.
      const rc = native().sipc_async_channel_reconnect(this.handle);
      if (rc !== SIPC_OK) return Promise.reject(errorFor(rc, `connect to channel '${this.name}' failed`));
      this.delivery.resume();
      this.connectFailure = undefined;
      this.currentState = 'waiting';
    }
    const { timeoutMs, signal } = options;
    if (signal?.aborted) return Promise.reject(this.cancelledError('connect to'));
    if (timeoutMs === 0) {
      // The native wait may not have reported yet: look at the shared state, without waiting (TIMEOUT only when no
      // peer is there). A peer this handle has not adopted yet is the native wait's to adopt (adopting looks its
      // process up, which this thread never does): then the answer is the native wait's, which comes at once.
      const rc = native().sipc_async_channel_connect_now(this.handle);
      if (rc === SIPC_OK) return Promise.resolve();
      if (rc !== SIPC_ASYNC_PENDING) {
        return Promise.reject(
          rc === SIPC_ERR_TIMEOUT ? this.timeoutError('connect to', 0) : errorFor(rc, `connect to channel '${this.name}' failed`),
        );
      }
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => settle(() => reject(this.cancelledError('connect to')));
      const waiter: Waiter<void> = {
        resolve: () => settle(resolve),
        reject: (error) => settle(() => reject(error)),
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const settle = (how: () => void) => {
        if (!this.connectWaiters.delete(waiter)) return;
        waiter.cleanup();
        how();
        this.update();
      };
      this.connectWaiters.add(waiter);
      if (timeoutMs !== undefined && timeoutMs !== 0) {
        timer = setTimeout(() => settle(() => reject(this.timeoutError('connect to', timeoutMs))), timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.update();
    });
  }

  /** Sends one message (strings as UTF-8). Resolves when it is in the queue towards the peer. */
  send(data: Uint8Array | string, options: TimeoutOptions = {}): Promise<void> {
    let bytes: Uint8Array;
    try {
      checkTimeout(options.timeoutMs, `send to channel '${this.name}'`);
      this.ensureOpen('send to');
      bytes = toBytes(data);
      if (bytes.byteLength > this.maxMessageSize) {
        throw new SipcError(
          'TOO_BIG',
          `send to channel '${this.name}' failed: the message has ${bytes.byteLength} bytes, ` +
            `the channel's maximum is ${this.maxMessageSize}`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    this.ensureArmed();
    const lib = native();
    const context = `send to channel '${this.name}' failed`;
    if (this.backgroundSends.length === 0) {
      const rc = lib.sipc_async_channel_send_now(this.handle, bytes, bytes.byteLength);
      if (rc === SIPC_OK) return Promise.resolve();
      if (rc !== SIPC_ERR_TIMEOUT && rc !== SIPC_ERR_NOT_CONNECTED) return Promise.reject(errorFor(rc, context));
      // The queue is full, a lossless observer holds it, or no peer is adopted yet: the sender thread sees to it
      // (adopting a peer or looking at the observer's process is its job). With timeoutMs 0 it tries once.
    }
    const rc = lib.sipc_async_channel_send(this.handle, bytes, bytes.byteLength, options.timeoutMs ?? -1);
    if (rc !== SIPC_OK) return Promise.reject(errorFor(rc, context));
    return new Promise<void>((resolve, reject) => {
      this.backgroundSends.push({ resolve, reject, cleanup: () => undefined });
      this.update();
    });
  }

  /** The next message. Rejects with PEER_GONE once the peer left and its messages were all received. */
  receive(options: TimeoutOptions = {}): Promise<Buffer> {
    try {
      checkTimeout(options.timeoutMs, `receive from channel '${this.name}'`);
      this.ensureOpen('receive from');
    } catch (error) {
      return Promise.reject(error);
    }
    this.ensureArmed();
    const queued = this.delivery.take();
    if (queued) {
      this.update();
      return Promise.resolve(queued);
    }
    if (this.delivery.ended) return Promise.reject(this.delivery.ended);
    if (this.delivery.waiters.length === 0 && this.isHot()) {
      // A busy request/response exchange: the answer is usually moments away; look for it right here.
      const [first, ...rest] = this.spinOnce();
      if (first) {
        this.delivery.handedOff();
        for (const message of rest) this.deliver(message);
        return Promise.resolve(first);
      }
    }
    const { timeoutMs } = options;
    return new Promise<Buffer>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter<Buffer> = {
        resolve,
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer);
        },
      };
      this.delivery.addWaiter(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (!this.delivery.removeWaiter(waiter)) return;
          reject(this.timeoutError('receive from', timeoutMs));
          this.update();
        }, timeoutMs);
      }
      this.update();
    });
  }

  /** Every message until the peer leaves (then the loop ends) or the channel closes. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    let done = false;
    this.iterators++;
    this.update();
    const finish = () => {
      if (done) return;
      done = true;
      this.iterators--;
      this.update();
    };
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        if (done) return { done: true, value: undefined };
        try {
          return { done: false, value: await this.receive() };
        } catch (error) {
          finish();
          if (error instanceof SipcError && (error.code === 'PEER_GONE' || error.code === 'CLOSED')) {
            return { done: true, value: undefined };
          }
          throw error;
        }
      },
      return: async (): Promise<IteratorResult<Buffer>> => {
        finish();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Snapshot of the channel's shared state; never blocks and looks up no process. serverAlive/clientAlive (and the
   * state) are the liveness the native side last established: this end is alive; the peer it adopted is alive until
   * the library's process watcher found it gone (a death at once, an exec within 250 ms); a peer that attached but
   * that this end has not adopted yet (normally for microseconds, or after 'peer-gone' until the next connect())
   * counts as alive while attached. stat(name) looks every holder up, on a native thread.
   */
  info(): ChannelInfo {
    this.ensureOpen('read the state of');
    const raw = emptyRawInfo();
    check(native().sipc_async_channel_info(this.handle, raw), `reading the state of channel '${this.name}' failed`);
    return infoFromRaw(raw);
  }

  /**
   * Closes the channel: pending receives and connects reject with CLOSED at once, sends still waiting for
   * room reject with CLOSED (they were not sent). The native threads are cancelled, joined and the handle
   * closed on a native thread; the promise resolves when that is done (and rejects with the library's
   * error if detaching failed; the handle is gone either way). Safe to repeat.
   */
  close(): Promise<void> {
    return this.closeHandle(
      `close channel '${this.name}'`,
      // Sends that finished before the threads stopped get their real outcome; the others were not sent.
      (call) => this.takeSendResults((statuses, max, count) => native().sipc_async_call_take_send_results(call, statuses, max, count)),
      () => {
        for (const waiter of this.backgroundSends.splice(0)) {
          waiter.reject(new SipcError('CLOSED', `send to channel '${this.name}' failed: the channel was closed before the message could be queued`));
        }
      },
    );
  }

  protected onClosing(): void {
    this.currentState = 'closed';
    if (this.coolDown) clearTimeout(this.coolDown);
    const closed = (what: string) => new SipcError('CLOSED', `${what} channel '${this.name}' failed: the channel was closed`);
    for (const waiter of [...this.connectWaiters]) waiter.reject(closed('connect to'));
    this.connectWaiters.clear();
    this.delivery.close(closed('receive from'));
  }

  // ---- notifications ----

  /** @internal */
  onNotify(): void {
    if (this.closed) return;
    this.delivery.newTurn();
    const lib = native();
    const status = this.status;
    // This turn takes at most what was ready at its first poll. Where the native thread receives on while the main
    // thread takes (a relay's notify does not wait for the main thread), later polls find more, and taking that too
    // would make one turn as long as the flood lasts; the native thread notifies for it (its notification after that
    // first poll), so it comes in a later turn, after the timers.
    let budget = -1;
    for (let round = 0; round < TAKE_ROUNDS; round++) {
      lib.sipc_async_channel_poll(this.handle, status);
      this.settleConnect(status.connect_status);
      if (budget < 0) budget = status.ready_count;
      // Once receiving ended (a batch that could not be taken, say), nothing more is taken.
      const ready = status.ready_count > 0 && !this.delivery.ended;
      const taking = ready && budget > 0;
      if (taking) budget -= this.takeMessages(status, budget);
      if (status.send_results > 0) {
        this.takeSendResults((statuses, max, count) => lib.sipc_async_channel_take_send_results(this.handle, statuses, max, count));
      }
      if (this.closed) return;
      if (ready && !taking && status.send_results === 0) {
        // What is ready came after this turn's first poll: its notification brings it.
        this.update();
        return;
      }
      if (!taking && status.send_results === 0) {
        // Everything is taken: only now can the end of receiving (PEER_GONE...) come after the last message.
        this.settleReceiveEnd(status.connect_status, status.recv_status);
        this.update();
        return;
      }
    }
    // More than TAKE_ROUNDS batches are ready: the rest in the next turn, as if notified again. No notify may come
    // for them: the native thread notifies when its queue grows, and with nothing more from the peer it does not.
    setImmediate(() => this.onNotify());
    this.update();
  }

  // ---- internals ----

  private settleConnect(connectStatus: number): void {
    if (this.currentState !== 'waiting' || connectStatus === SIPC_ASYNC_PENDING) return;
    if (connectStatus === SIPC_OK) {
      this.currentState = 'connected';
      for (const waiter of [...this.connectWaiters]) waiter.resolve();
      this.emitSafely('connected');
      return;
    }
    if (connectStatus === SIPC_ERR_CANCELLED || this.connectFailure) return;
    // The native thread now waits for a reconnect (the next connect()); until then receiving has ended too.
    const error = errorFor(connectStatus, `connect to channel '${this.name}' failed`);
    this.connectFailure = error;
    for (const waiter of [...this.connectWaiters]) waiter.reject(error);
    this.delivery.end(error);
    this.emitError(error);
  }

  private settleReceiveEnd(connectStatus: number, recvStatus: number): void {
    if (connectStatus !== SIPC_OK || recvStatus === SIPC_OK || this.delivery.ended || this.closed) return;
    if (recvStatus === SIPC_ERR_CANCELLED) return;
    const peerGone = recvStatus === SIPC_ERR_PEER_GONE;
    const ended = peerGone
      ? new SipcError('PEER_GONE', `receive from channel '${this.name}' failed: the peer closed the channel or died`)
      : errorFor(recvStatus, `receive from channel '${this.name}' failed`);
    if (peerGone && this.currentState === 'connected') this.currentState = 'peer-gone';
    this.delivery.end(ended);
    if (peerGone) this.emitSafely('peer-gone');
    else this.emitError(ended);
  }

  /** Takes up to `limit` of the ready messages (one batch) and delivers them; returns how many it took. */
  private takeMessages(status: RawAsyncStatus, limit: number): number {
    const lib = native();
    const bytes = toNumber(status.ready_bytes);
    const capacity = Math.max(bytes, 1);
    const buffer = Buffer.allocUnsafeSlow(capacity);
    const rc = lib.sipc_async_channel_take(
      this.handle, buffer, capacity, this.lengths, Math.min(status.ready_count, limit, this.lengths.length), this.count,
    );
    const taken = this.count[0];
    this.nativeWant = Math.max(0, this.nativeWant - this.count[0]);
    if (rc !== SIPC_OK) {
      // The library did not hand out the batch it reported (only a fault of its own can do that): the messages behind
      // it can no longer come in order, so receiving ends with that error, as when the native thread's receive fails.
      // Pending and later receive() calls reject with it rather than wait for news that may never come.
      const error = errorFor(rc, `receive from channel '${this.name}' failed`);
      this.delivery.end(error);
      this.emitError(error);
      return taken;
    }
    // A 'message' listener may call receive(), whose spin reuses this.count and this.lengths: copy them first.
    const lengths = this.lengths.slice(0, taken);
    // Each message is handed out in memory of its own; a batch of one already is.
    if (lengths.length === 1 && lengths[0] === buffer.length) {
      this.deliver(buffer);
      return taken;
    }
    let offset = 0;
    for (const length of lengths) {
      const message = ownedCopy(buffer.subarray(offset, offset + length));
      offset += length;
      this.deliver(message);
      if (this.closed) return taken;
    }
    return taken;
  }

  private deliver(message: Buffer): void {
    this.spinPolicy.messageArrived();
    this.delivery.push(message);
  }

  private takeSendResults(take: (statuses: Int32Array, maxCount: number, count: Uint32Array) => number): void {
    do {
      take(this.statuses, this.statuses.length, this.count);
      for (let i = 0; i < this.count[0]; i++) {
        const waiter = this.backgroundSends.shift();
        if (!waiter) continue;
        const rc = this.statuses[i];
        if (rc === SIPC_OK) waiter.resolve();
        else if (rc === SIPC_ERR_CANCELLED && this.closed) {
          waiter.reject(new SipcError('CLOSED', `send to channel '${this.name}' failed: the channel was closed before the message could be queued`));
        } else waiter.reject(errorFor(rc, `send to channel '${this.name}' failed`));
      }
    } while (this.count[0] === this.statuses.length);
  }

  /** On a busy channel, looks for the next message on the main thread soon (see spinPolicy.ts). */
  private scheduleSpin(): void {
    if (this.spinPolicy.spinUs === 0 || this.spinScheduled || this.closed || this.currentState !== 'connected') return;
    if (!this.wantsMessages() || !this.isHot()) return;
    this.spinScheduled = true;
    setImmediate(() => this.spin());
  }

  private spin(): void {
    this.spinScheduled = false;
    if (this.closed) return;
    this.delivery.newTurn();
    if (this.wantsMessages()) {
      for (const message of this.spinOnce()) {
        this.deliver(message);
        if (this.closed) return;
      }
    }
    this.update();
  }

  private isHot(): boolean {
    return this.currentState === 'connected' && this.spinPolicy.isHot();
  }

  /** Takes messages straight from the channel on this thread, spinning up to spinPolicy.spinUs for the first. */
  private spinOnce(): Buffer[] {
    const capacity = Math.min(this.maxMessageSize, SPIN_BUFFER_MAX);
    this.spinBuffer ??= Buffer.allocUnsafeSlow(Math.max(capacity, 1));
    const rc = native().sipc_async_channel_take_now(
      this.handle, this.spinBuffer, this.spinBuffer.length, this.lengths, this.lengths.length, this.count,
      this.spinPolicy.spinUs,
    );
    const taken = rc === SIPC_OK ? this.count[0] : 0;
    this.nativeWant = Math.max(0, this.nativeWant - taken);
    this.spinPolicy.spun(taken);
    if (taken === 0) {
      this.update();
      return [];
    }
    // The spin buffer is reused: each message gets its own copy.
    const messages: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < taken; i++) {
      messages.push(ownedCopy(this.spinBuffer.subarray(offset, offset + this.lengths[i])));
      offset += this.lengths[i];
    }
    return messages;
  }

  private wantsMessages(): boolean {
    return (
      this.delivery.waiters.length > 0 || this.listenerCount('message') > 0 ||
      (this.iterators > 0 && this.delivery.backlog.length < ITERATOR_READ_AHEAD)
    );
  }

  /**
   * Tells the native thread what is wanted. While the channel is hot it is paused (the main thread receives
   * by itself), so that it costs no wake-up per message; a timer hands over again once it cooled down.
   */
  private syncDemand(): void {
    const paused = this.spinScheduled || this.isHot();
    if (paused && !this.spinScheduled && !this.coolDown) {
      this.coolDown = setTimeout(() => {
        this.coolDown = undefined;
        this.update();
      }, this.spinPolicy.coolDownMs);
      this.coolDown.unref();
    }
    const flowing = !paused && (this.listenerCount('message') > 0 || (this.iterators > 0 && this.delivery.backlog.length < ITERATOR_READ_AHEAD));
    const want = paused ? 0 : this.delivery.waiters.length;
    const flags = (flowing ? SIPC_ASYNC_FLOWING : 0) | (paused ? SIPC_ASYNC_PAUSED : 0);
    if (flags === this.nativeFlags && want === this.nativeWant) return;
    native().sipc_async_channel_demand(this.handle, flags, want - this.nativeWant);
    this.nativeFlags = flags;
    this.nativeWant = want;
  }

  /** Recomputes demand and keep-alive after any change; hands buffered messages to new listeners. */
  private update(): void {
    if (this.closed) return;
    if (this.listenerCount('message') > 0 && this.delivery.waiters.length === 0) {
      this.delivery.offer();
      if (this.closed) return;
    }
    this.scheduleSpin();
    this.syncDemand();
    const busy =
      this.connectWaiters.size > 0 || this.delivery.waiters.length > 0 || this.backgroundSends.length > 0 ||
      this.listenerCount('message') > 0 || this.iterators > 0;
    this.setBusy(busy);
  }

  private ensureOpen(action: string): void {
    if (this.closed) throw new SipcError('CLOSED', `${action} channel '${this.name}' failed: the channel is closed`);
  }

  private emitError(error: SipcError): void {
    if (this.listenerCount('error') > 0) this.emitSafely('error', error);
  }

  private timeoutError(action: 'connect to' | 'receive from', timeoutMs: number): SipcError {
    const what = action === 'connect to' ? 'no peer connected' : 'no message arrived';
    return new SipcError('TIMEOUT', `${action} channel '${this.name}' failed: ${what} within ${timeoutMs} ms`);
  }

  private cancelledError(action: string): SipcError {
    return new SipcError('CANCELLED', `${action} channel '${this.name}' failed: the wait was aborted`);
  }
}

function validateOptions(options: OpenOptions): void {
  const positive = (value: number | undefined, what: string, max: number) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new SipcError('INVALID_ARGUMENT', `${what} must be an integer from 1 to ${max}`);
    }
  };
  positive(options.maxMessageSize, 'maxMessageSize', SIPC_MAX_MESSAGE_LIMIT);
  positive(options.queueDepth, 'queueDepth', SIPC_MAX_QUEUE_DEPTH);
  if (options.mode !== undefined && (!Number.isInteger(options.mode) || options.mode < 0 || options.mode > 0o777)) {
    throw new SipcError('INVALID_ARGUMENT', 'mode must be permission bits from 0 to 0o777');
  }
  // The library refuses such a mode too, but with a sentence that does not name the option.
  if (options.mode !== undefined && options.mode !== 0 && (options.mode & 0o600) !== 0o600) {
    throw new SipcError('INVALID_ARGUMENT', "mode must keep the owner's read and write bits (0o600); 0 means 0o600");
  }
  const spin = options.receiveSpinUs;
  if (spin !== undefined && (!Number.isInteger(spin) || spin < 0 || spin > SIPC_ASYNC_MAX_SPIN_US)) {
    throw new SipcError('INVALID_ARGUMENT', `receiveSpinUs must be an integer from 0 to ${SIPC_ASYNC_MAX_SPIN_US}`);
  }
}

/**
 * Creates the channel (this process becomes the server) or attaches to it (client). The open runs on a
 * native thread; the promise rejects with the library's status as code (INVALID_NAME, BUSY, MISMATCH, ...).
 */
export function open(name: string, options: OpenOptions = {}): Promise<Channel> {
  const context = `open channel '${name}' failed`;
  let raw: RawOptions;
  try {
    validateOptions(options);
    raw = { struct_size: 0, max_message_size: 0, queue_depth: 0, mode: 0, flags: 0 };
    native().sipc_options_init(raw);
  } catch (error) {
    return Promise.reject(error);
  }
  if (options.maxMessageSize !== undefined) raw.max_message_size = options.maxMessageSize;
  if (options.queueDepth !== undefined) raw.queue_depth = options.queueDepth;
  if (options.mode !== undefined) raw.mode = options.mode;
  if (options.inheritHandles) raw.flags |= SIPC_OPEN_INHERIT_HANDLES;
  return runCall(
    context,
    (notify, token, out) => native().sipc_async_open(name, raw, notify, token, out),
    (call) => {
      const out: PointerCell = [null];
      const rc = native().sipc_async_call_take_channel(call, out);
      if (rc !== SIPC_OK || out[0] === null) throw errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, context);
      return new Channel(name, out[0], options.receiveSpinUs);
    },
  );
}
