/**
 * One order of delivery for a channel's received messages (README, "Delivery order"):
 *
 * - every message goes to exactly one consumer, in channel order: the oldest pending receive(), else the
 *   'message' listeners, else the backlog, which the next receive() (or a listener added later) takes first;
 * - when a message settles a receive() promise, the messages behind it are handed to other consumers only
 *   from a later event-loop turn (setImmediate), after every promise reaction of that receive() ran, however
 *   long its chain of awaits; a receive() called meanwhile (typically by that very consumer) takes the next
 *   one at once. So no listener or other receive() sees a later message before the code awaiting an earlier
 *   one did.
 *
 * `for await` reads through receive() and follows the same rule.
 */
import type { SipcError } from './errors';

/**
 * A copy of `bytes` in memory of its own (byteOffset 0, an ArrayBuffer of exactly its length, never a slice of
 * Node's pool): every message the API hands out is one, so keeping a message keeps nothing else alive.
 */
export function ownedCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/**
 * `bytes` itself when it already is in memory of its own (as ownedCopy makes it), else an owned copy: a record of
 * bytes that came from elsewhere (text encoded into Node's pool, a slice of a larger buffer) must not keep that
 * whole buffer alive.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength ? bytes : ownedCopy(bytes);
}

export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: SipcError): void;
  cleanup(): void;
}

export interface DeliveryTargets {
  /** Whether 'message' listeners are attached. */
  hasListeners(): boolean;
  /** Calls the 'message' listeners (synchronously). */
  emit(message: Buffer): void;
  /** Whether delivering must stop (the channel closed meanwhile, e.g. from a listener). */
  stopped(): boolean;
  /** Something changed that affects demand (a consumer took or left messages). */
  changed(): void;
}

export class OrderedDelivery {
  /** Received messages nobody took yet, oldest first. */
  readonly backlog: Buffer[] = [];
  /** Pending receive() calls, oldest first. */
  readonly waiters: Waiter<Buffer>[] = [];
  /** Why receiving ended (PEER_GONE, CORRUPT...): rejects receive() once the backlog is empty. */
  ended: SipcError | undefined;
  /** A receive() promise was settled and its reactions may not have run yet. */
  private handingOff = false;
  private drainScheduled = false;

  constructor(private readonly targets: DeliveryTargets) {}

  /** A message from the channel, in channel order. */
  push(message: Buffer): void {
    if (this.backlog.length > 0 || this.handingOff) {
      this.backlog.push(message);
      this.scheduleDrain();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.settle(waiter, message);
    } else if (this.targets.hasListeners()) {
      this.targets.emit(message);
    } else {
      this.backlog.push(message);
    }
  }

  /** For receive(): the oldest undelivered message, if any (the caller settles its promise with it). */
  take(): Buffer | undefined {
    const message = this.backlog.shift();
    if (message !== undefined) this.handedOff();
    return message;
  }

  /** The caller settled a receive() promise with a message by itself (e.g. taken straight from the channel). */
  handedOff(): void {
    this.handingOff = true;
    if (this.backlog.length > 0) this.scheduleDrain();
  }

  addWaiter(waiter: Waiter<Buffer>): void {
    this.waiters.push(waiter);
  }

  /** Removes a waiter that gave up (timeout); false if it was settled already. */
  removeWaiter(waiter: Waiter<Buffer>): boolean {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return false;
    this.waiters.splice(index, 1);
    return true;
  }

  /**
   * Called at the start of every event-loop turn that brings news (a native notify, a spin): the reactions of
   * any receive() settled in an earlier turn have all run by now, so the hand-off is over.
   */
  newTurn(): void {
    this.handingOff = false;
    if (this.backlog.length > 0) this.drain();
  }

  /** Hands the backlog to consumers that appeared (a listener was added), keeping the hand-off rule. */
  offer(): void {
    if (this.backlog.length === 0) return;
    if (this.handingOff) this.scheduleDrain();
    else this.drain();
  }

  /** Receiving ended: pending receive() calls reject with `error` once the messages before it are delivered. */
  end(error: SipcError): void {
    this.ended = error;
    if (this.backlog.length === 0) this.rejectWaiters(error);
  }

  /** A reconnect: receiving goes on. */
  resume(): void {
    this.ended = undefined;
  }

  /** The channel closed: pending receive() calls reject with `error`; undelivered messages are dropped. */
  close(error: SipcError): void {
    this.backlog.length = 0;
    this.rejectWaiters(error);
  }

  private settle(waiter: Waiter<Buffer>, message: Buffer): void {
    waiter.cleanup();
    waiter.resolve(message);
    this.handingOff = true;
  }

  private rejectWaiters(error: SipcError): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(error);
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.handingOff = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.backlog.length > 0 && !this.handingOff && !this.targets.stopped()) {
      const waiter = this.waiters.shift();
      if (waiter) {
        this.settle(waiter, this.backlog.shift() as Buffer);
        if (this.backlog.length > 0) this.scheduleDrain();
      } else if (this.targets.hasListeners()) {
        this.targets.emit(this.backlog.shift() as Buffer);
      } else {
        break;
      }
    }
    if (this.backlog.length === 0 && this.ended) this.rejectWaiters(this.ended);
    if (!this.targets.stopped()) this.targets.changed();
  }
}
