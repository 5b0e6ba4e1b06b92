/**
 * Observer: follows the traffic of a channel between two other processes, read-only (it never consumes a
 * message). A native thread waits for traffic and hands it over in batches; when this process falls behind,
 * the library skips ahead and reports how many messages were missed.
 */
import { endianness } from 'node:os';
import {
  SIPC_DEFAULT_MAX_MESSAGE, SIPC_DIR_TO_CLIENT, SIPC_DIR_TO_SERVER, SIPC_EVENT_ATTACHED, SIPC_EVENT_CLOSED, SIPC_EVENT_DIED, SIPC_EVENT_LOSSLESS_DROPPED, SIPC_EXIT_LOCK_TIMEOUT_MS,
  SIPC_MAX_MESSAGE_LIMIT, SIPC_OBSERVED_EVENT, SIPC_OBSERVE_EVENTS, SIPC_OBSERVE_LOSSLESS, SIPC_OBSERVE_STALL_MAX_MS, SIPC_ROLE_CLIENT,
  SIPC_ROLE_SERVER, type RawObserveOptions, type RawObserverStats,
} from './abi';
import { SipcError } from './errors';
import { runCall } from './calls';
import { ownedCopy } from './delivery';
import { NativeHandle, type AsyncHandleKind } from './nativeHandle';
import { native, structLayout, toNumber, type Pointer, type PointerCell, type RawAsyncObserverStatus } from './native';
import { SIPC_ERR_CANCELLED, SIPC_ERR_SYSTEM, SIPC_OK, check, emptyRawInfo, errorFor, infoFromRaw, type ChannelInfo } from './status';

export interface ObservedMessage {
  direction: 'to-client' | 'to-server';
  /** Per-direction message number, from 0. */
  sequence: number;
  /** When it was sent (milliseconds; see timestampUs for the full resolution). */
  timestamp: Date;
  /** When it was sent, in microseconds since the Unix epoch (the library's clock has ns; µs fit a number exactly). */
  timestampUs: number;
  /** Full length of the message as sent. */
  length: number;
  /**
   * The message, truncated to the observer's capacity when it was longer (data.length < length), in memory of
   * its own (keeping it keeps nothing else alive).
   */
  data: Buffer;
  /** Messages of this direction the observer missed just before this one (always 0 while lossless). */
  missed: number;
  /**
   * Messages of this direction the receiving side discarded since the previous report, because they were addressed
   * to an earlier holder of its role that left before taking them.
   */
  discarded: number;
  /** This message is addressed to a receiver that was replaced or closed without taking it: it will never be delivered. */
  undeliverable: boolean;
}

/** ObservedBatch.directions: a message from the server to the client (sipc_direction SIPC_DIR_TO_CLIENT). */
export const TO_CLIENT = SIPC_DIR_TO_CLIENT;
/** ObservedBatch.directions: a message from the client to the server (SIPC_DIR_TO_SERVER). */
export const TO_SERVER = SIPC_DIR_TO_SERVER;

/**
 * Consecutive observed messages in columns ('batch' listeners): the fields of ObservedMessage for message i are at
 * index i of each array, with no object, Date or Buffer made per message (a message's handling then costs what the
 * listener does with it). Nothing of it is reused: a listener may keep a batch or any of its arrays. `data` is a view
 * of the memory the messages were taken into, which other batches of the same take may share (at most about 1 MiB).
 */
export class ObservedBatch {
  /** Messages in the batch (at least 1). */
  readonly count: number;
  /** The copied bytes of the messages, back to back: message i is `copied[i]` bytes from `offsets[i]` (payload(i)). */
  readonly data: Buffer;
  /** Where each message starts in `data`. */
  readonly offsets: Uint32Array;
  /** The bytes of each message in `data`: its length, or the observer's capacity when it was longer (truncated). */
  readonly copied: Uint32Array;
  /** Full length of each message as sent. */
  readonly lengths: Uint32Array;
  /** TO_CLIENT (0) or TO_SERVER (1). */
  readonly directions: Uint8Array;
  /** Per-direction message numbers, from 0. */
  readonly sequences: Float64Array;
  /** Send times in microseconds since the Unix epoch. */
  readonly timestampsUs: Float64Array;
  /** Messages of the same direction missed just before each one (always 0 while lossless). */
  readonly missed: Float64Array;
  /** ObservedMessage.discarded of each message. */
  readonly discarded: Float64Array;
  /** 1 where ObservedMessage.undeliverable is true. */
  readonly undeliverable: Uint8Array;

  /** Use the 'batch' event. @internal */
  constructor(columns: BatchColumns, from: number, to: number, data: Buffer) {
    this.count = to - from;
    this.data = data;
    this.offsets = columns.offsets.subarray(from, to);
    this.copied = columns.copied.subarray(from, to);
    this.lengths = columns.lengths.subarray(from, to);
    this.directions = columns.directions.subarray(from, to);
    this.sequences = columns.sequences.subarray(from, to);
    this.timestampsUs = columns.timestampsUs.subarray(from, to);
    this.missed = columns.missed.subarray(from, to);
    this.discarded = columns.discarded.subarray(from, to);
    this.undeliverable = columns.undeliverable.subarray(from, to);
  }

  /** The bytes of message i: a view of `data`, not a copy. */
  payload(i: number): Buffer {
    const offset = this.offsets[i];
    return this.data.subarray(offset, offset + this.copied[i]);
  }

  /** The direction of message i as ObservedMessage names it. */
  direction(i: number): ObservedMessage['direction'] {
    return this.directions[i] === TO_CLIENT ? 'to-client' : 'to-server';
  }

  /** Message i as the 'message' event hands it out (its bytes copied into memory of their own). */
  message(i: number): ObservedMessage {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`message ${i} of a batch of ${this.count}`);
    const timestampUs = this.timestampsUs[i];
    return {
      direction: this.direction(i),
      sequence: this.sequences[i],
      timestamp: new Date(Math.floor(timestampUs / 1000)),
      timestampUs,
      length: this.lengths[i],
      data: ownedCopy(this.payload(i)),
      missed: this.missed[i],
      discarded: this.discarded[i],
      undeliverable: this.undeliverable[i] !== 0,
    };
  }
}

/**
 * The columns of one take's messages, in one ArrayBuffer (one allocation per take, not per message or column); each
 * batch of the take is a view of a range of them. Events in the take have no row: they split it into batches.
 */
class BatchColumns {
  readonly timestampsUs: Float64Array;
  readonly sequences: Float64Array;
  readonly missed: Float64Array;
  readonly discarded: Float64Array;
  readonly offsets: Uint32Array;
  readonly copied: Uint32Array;
  readonly lengths: Uint32Array;
  readonly directions: Uint8Array;
  readonly undeliverable: Uint8Array;

  constructor(rows: number) {
    const doubles = 4 * rows * 8;
    const words = 3 * rows * 4;
    const memory = new ArrayBuffer(doubles + words + 2 * rows);
    this.timestampsUs = new Float64Array(memory, 0, rows);
    this.sequences = new Float64Array(memory, rows * 8, rows);
    this.missed = new Float64Array(memory, 2 * rows * 8, rows);
    this.discarded = new Float64Array(memory, 3 * rows * 8, rows);
    this.offsets = new Uint32Array(memory, doubles, rows);
    this.copied = new Uint32Array(memory, doubles + rows * 4, rows);
    this.lengths = new Uint32Array(memory, doubles + 2 * rows * 4, rows);
    this.directions = new Uint8Array(memory, doubles + words, rows);
    this.undeliverable = new Uint8Array(memory, doubles + words + rows, rows);
  }
}

/** Something that happened to the channel's peers or to this observer, in time order with the messages. */
export interface ObserverEvent {
  /**
   * attached: a process took a role; closed: its holder closed it; died: its holder ended without closing (killed,
   * crashed); lossless-dropped: the peers dropped this lossless observer (see `reason`), which goes on as a plain one.
   */
  kind: 'attached' | 'closed' | 'died' | 'lossless-dropped';
  /** The role the event is about (null for this observer's own events). */
  role: 'server' | 'client' | null;
  /** The process the event is about (0: unknown). */
  pid: number;
  /** The role's attach number (its session), 0 for this observer's own events. */
  session: number;
  /** When it happened: the attach, or when the observer noticed the departure. */
  timestamp: Date;
  timestampUs: number;
  /** lossless-dropped: why (it stopped copying for its stall timeout, its process died, or its record was invalid). */
  reason?: 'stalled' | 'died' | 'invalid';
}

export interface ObserveOptions {
  /** Bytes copied of each message (default 64 KiB); longer messages arrive truncated. */
  capacity?: number;
  /**
   * The peers never overwrite a message this observer has not copied yet (nothing is missed; the peers go at most at
   * the observer's pace). At most two lossless observers per channel (BUSY beyond). An observer that stops copying for
   * `stallTimeoutMs` while a peer waits for it is dropped and goes on as a plain observer ('event' lossless-dropped).
   */
  lossless?: boolean;
  /** Lossless: how long a peer waits for this observer before dropping it (default 1000, at most 10000). */
  stallTimeoutMs?: number;
}

/**
 * What an observer did and why it missed what it missed (the library's sipc_observer_stats, counted since observe(),
 * plus how JavaScript got the messages). A plain observer misses a message when a producer reuses its slot (queue
 * depth messages later) before the native thread copied it.
 */
export interface ObserverStats {
  /** Messages the native thread copied. */
  messages: number;
  /** Messages missed, each counted under what the native thread was doing: missedAsleep + missedAway + missedRunning. */
  missed: number;
  /** Gone when it looked first after a sleep: woken (or polling) too late. */
  missedAsleep: number;
  /** Gone when it came back from queueing the previous messages for JavaScript (or was descheduled there). */
  missedAway: number;
  /** Gone between two looks while copying or spinning for the next message (descheduled), or overwritten while copied. */
  missedRunning: number;
  /** Sleeps until a producer's wake-up, and how many a producer (not the time limit) ended. */
  sleeps: number;
  woken: number;
  /** Sleeps of the polling fallback (read-only mapping, an older producer). */
  polls: number;
  /** Waits that spun for the next message first, and those that found one. */
  spins: number;
  spinHits: number;
  /** From the send of the oldest message found after a sleep a producer ended to the thread looking at it: mean and
   * longest (µs; null: none timed). When messages were found gone, a lower bound (they were sent earlier). */
  wakeLatencyMeanUs: number | null;
  wakeLatencyMaxUs: number;
  /** The longest time between two looks at the channel that ended with messages gone (µs). */
  longestMissGapUs: number;
  /** The longest time the native thread spent outside the library between two messages (µs). */
  longestAwayUs: number;
  /** Lossless: wake-ups sent to producers waiting for this observer. */
  producerWakes: number;
  /** JavaScript: event-loop turns that handed out messages, and the most messages one turn handed out. */
  deliveries: number;
  largestDelivery: number;
}

/** Layout of sipc_observed_message: the array sipc_async_observer_take fills (in native byte order). */
const OBSERVED = structLayout('sipc_observed_message');
const OBSERVER_STATS_SIZE = structLayout('sipc_observer_stats').size;
/**
 * At most this many messages are emitted per event-loop turn; the rest follow in the next turns (setImmediate). The
 * native thread copies far ahead of JavaScript (up to 16 MiB), so a burst that piled up while the loop was busy is
 * handed out in slices that leave timers and I/O their turn instead of in one long run.
 */
const SLICE = 1024;
/** Descriptions taken at once: a whole slice, so that a turn's messages make one 'batch' unless events split it. */
const BATCH = SLICE;
/** The batch buffer of one take holds at most this much (unless one message is larger). */
const TAKE_BYTES = 1 << 20;
/** By default an observer copies as much of each message as a channel holds by default. */
const DEFAULT_CAPACITY = SIPC_DEFAULT_MAX_MESSAGE;
const LITTLE_ENDIAN = endianness() === 'LE';
const EVENT_KINDS: Readonly<Record<number, ObserverEvent['kind']>> = {
  [SIPC_EVENT_ATTACHED]: 'attached',
  [SIPC_EVENT_CLOSED]: 'closed',
  [SIPC_EVENT_DIED]: 'died',
  [SIPC_EVENT_LOSSLESS_DROPPED]: 'lossless-dropped',
};
const DROP_REASONS: Readonly<Record<number, NonNullable<ObserverEvent['reason']>>> = { 1: 'stalled', 2: 'died', 3: 'invalid' };

/** Nanoseconds since the epoch (a u64 field) as microseconds, exact in a number until the year 2255. */
function microseconds(view: DataView, at: number): number {
  // In 32-bit halves, without a BigInt per message: ns = high * 2^32 + low, and 2^32 / 1000 = 4294967 + 296 / 1000, so
  // µs = high * 4294967 + floor((high * 296 + low) / 1000), every term exact in a double while high < 2e9 (until 2242).
  const low = view.getUint32(at + (LITTLE_ENDIAN ? 0 : 4), LITTLE_ENDIAN);
  const high = view.getUint32(at + (LITTLE_ENDIAN ? 4 : 0), LITTLE_ENDIAN);
  return high < 2000000000 ? high * 4294967 + Math.floor((high * 296 + low) / 1000) : Number(view.getBigUint64(at, LITTLE_ENDIAN) / 1000n);
}

/** A u64 field that holds a count (below 2^53 in practice), without a BigInt per message. */
function count64(view: DataView, at: number): number {
  const low = view.getUint32(at + (LITTLE_ENDIAN ? 0 : 4), LITTLE_ENDIAN);
  const high = view.getUint32(at + (LITTLE_ENDIAN ? 4 : 0), LITTLE_ENDIAN);
  return high * 4294967296 + low;
}

export interface Observer {
  on(event: 'message', listener: (message: ObservedMessage) => void): this;
  on(event: 'batch', listener: (batch: ObservedBatch) => void): this;
  on(event: 'newListener' | 'removeListener', listener: (event: string | symbol) => void): this;
  on(event: 'gone', listener: () => void): this;
  on(event: 'error', listener: (error: SipcError) => void): this;
  on(event: 'event', listener: (event: ObserverEvent) => void): this;
  once(event: 'message', listener: (message: ObservedMessage) => void): this;
  once(event: 'batch', listener: (batch: ObservedBatch) => void): this;
  once(event: 'event', listener: (event: ObserverEvent) => void): this;
  once(event: 'gone', listener: () => void): this;
  once(event: 'error', listener: (error: SipcError) => void): this;
  off(event: 'message', listener: (message: ObservedMessage) => void): this;
  off(event: 'batch', listener: (batch: ObservedBatch) => void): this;
  off(event: 'event', listener: (event: ObserverEvent) => void): this;
  off(event: 'gone', listener: () => void): this;
  off(event: 'error', listener: (error: SipcError) => void): this;
}

/** The sipc_async_observer functions, for the life cycle NativeHandle runs; `capacity` bytes copied per message. */
function observerKind(capacity: number): AsyncHandleKind {
  return {
    start: (raw, notify, token, out) => native().sipc_async_observer_start(raw, capacity, notify, token, out),
    closeRaw: (raw) => native().sipc_observer_close(raw),
    arm: (handle, armed) => native().sipc_async_observer_arm(handle, armed),
    stop: (handle) => native().sipc_async_observer_stop(handle),
    // At process exit: waits at most SIPC_EXIT_LOCK_TIMEOUT_MS for the stopped threads (they wait for no other process
    // and end within one of the observer's sleeps); threads that have not ended by then are left to the exit.
    destroy: (handle) => native().sipc_async_observer_destroy_ex(handle, SIPC_EXIT_LOCK_TIMEOUT_MS),
    close: (handle, notify, token, out) => native().sipc_async_observer_close(handle, notify, token, out),
  };
}

export class Observer extends NativeHandle {
  readonly name: string;
  /** The sipc_observer, for stats() on this thread. */
  private readonly raw: Pointer;
  private ended = false;
  /** Bytes copied of each message at most (ObserveOptions.capacity). */
  private readonly messageCapacity: number;
  /** A later turn will emit what one turn's slice left (onNotify). */
  private sliceScheduled = false;
  /** sipc_observed_message[BATCH], filled by sipc_async_observer_take. */
  private readonly descriptions = Buffer.alloc(BATCH * OBSERVED.size);
  private readonly described = new DataView(this.descriptions.buffer, this.descriptions.byteOffset, this.descriptions.byteLength);
  private readonly count = new Uint32Array(1);
  private readonly status: RawAsyncObserverStatus = { status: 0, ready_count: 0, ready_bytes: 0, notifying: 0, reserved: 0 };
  /** ObserverStats.deliveries and largestDelivery. */
  private deliveries = 0;
  private largestDelivery = 0;

  /** Use observe(). Takes ownership of `observer`, a handle sipc_observe returned. @internal */
  constructor(name: string, observer: Pointer, capacity: number) {
    super(observerKind(capacity), observer, `observe channel '${name}'`);
    this.name = name;
    this.raw = observer;
    this.messageCapacity = capacity;
    this.on('newListener', () => queueMicrotask(() => this.update()));
    this.on('removeListener', () => this.update());
  }

  /** Snapshot of the observed channel's shared state. */
  info(): ChannelInfo {
    if (this.closed) throw new SipcError('CLOSED', `reading the state of channel '${this.name}' failed: the observer is closed`);
    const raw = emptyRawInfo();
    check(native().sipc_async_observer_info(this.handle, raw), `reading the state of channel '${this.name}' failed`);
    return infoFromRaw(raw);
  }

  /** What the observer did so far and why it missed what it missed (see ObserverStats). */
  stats(): ObserverStats {
    if (this.closed) throw new SipcError('CLOSED', `reading the statistics of the observer of '${this.name}' failed: the observer is closed`);
    const lib = native();
    const raw: RawObserverStats = {
      struct_size: OBSERVER_STATS_SIZE, reserved: 0, messages: 0, missed: 0, missed_asleep: 0, missed_away: 0, missed_running: 0,
      sleeps: 0, woken: 0, polls: 0, spins: 0, spin_hits: 0, wake_latency_count: 0, wake_latency_total_ns: 0,
      wake_latency_max_ns: 0, longest_miss_gap_ns: 0, longest_away_ns: 0, producer_wakes: 0,
    };
    check(lib.sipc_observer_get_stats(this.raw, raw), `reading the statistics of the observer of '${this.name}' failed`);
    const n = (value: number | bigint): number => toNumber(value);
    const timed = n(raw.wake_latency_count);
    return {
      messages: n(raw.messages), missed: n(raw.missed), missedAsleep: n(raw.missed_asleep), missedAway: n(raw.missed_away),
      missedRunning: n(raw.missed_running), sleeps: n(raw.sleeps), woken: n(raw.woken), polls: n(raw.polls), spins: n(raw.spins),
      spinHits: n(raw.spin_hits), wakeLatencyMeanUs: timed > 0 ? n(raw.wake_latency_total_ns) / timed / 1000 : null,
      wakeLatencyMaxUs: n(raw.wake_latency_max_ns) / 1000, longestMissGapUs: n(raw.longest_miss_gap_ns) / 1000,
      longestAwayUs: n(raw.longest_away_ns) / 1000, producerWakes: n(raw.producer_wakes),
      deliveries: this.deliveries, largestDelivery: this.largestDelivery,
    };
  }

  /** Stops observing: no 'message' after this; the native thread is cancelled and joined on a native thread. Safe to repeat. */
  close(): Promise<void> {
    return this.closeHandle(`closing the observer of channel '${this.name}'`, () => undefined, () => undefined);
  }

  protected onClosing(): void {
    // Nothing pending to settle: an observer only emits.
  }

  /** @internal */
  onNotify(): void {
    // Notifications are not coalesced (each queued one runs, back to back in one turn, under wine for one): while
    // a later turn is due to hand out the rest, this one must not, or the slices of a burst all land in one turn.
    // Once the observation ended ('gone', or an error) nothing more is taken.
    if (this.closed || this.sliceScheduled || this.ended) return;
    const lib = native();
    const status = this.status;
    lib.sipc_async_observer_poll(this.handle, status);
    let remaining = status.ready_count;
    let slice = SLICE;
    let handedOut = 0;
    let refused: SipcError | undefined;
    while (remaining > 0 && slice > 0 && !this.closed) {
      // Room for the ready bytes, at most a MiB (or one message of the largest size copied) per take.
      const capacity = Math.max(1, Math.min(toNumber(status.ready_bytes), Math.max(this.messageCapacity, TAKE_BYTES)));
      const buffer = Buffer.allocUnsafeSlow(capacity);
      const rc = lib.sipc_async_observer_take(this.handle, buffer, capacity, this.descriptions, Math.min(BATCH, slice), this.count);
      if (rc !== SIPC_OK) {
        // The library did not hand out what it reported ready (only a fault of its own can do that). Trying again would
        // fail again in every later turn (an 'error' per turn, a busy loop), and the messages behind it can no longer
        // come in order: the observation ends with that error, once, as when the native thread's observing fails.
        refused = errorFor(rc, `observing channel '${this.name}' failed`);
        break;
      }
      const taken = this.count[0];
      if (taken === 0) break;
      remaining -= Math.min(remaining, taken);
      slice -= taken;
      handedOut += this.handOut(buffer, taken);
    }
    if (handedOut > 0) {
      this.deliveries++;
      if (handedOut > this.largestDelivery) this.largestDelivery = handedOut;
    }
    if (refused && !this.closed) {
      this.end(refused);
      return;
    }
    if (remaining > 0 && !this.closed) {
      // The rest in a later turn; 'gone' or an error, if any, after them.
      if (!this.sliceScheduled) {
        this.sliceScheduled = true;
        setImmediate(() => {
          this.sliceScheduled = false;
          this.onNotify();
        });
      }
      return;
    }
    if (status.status !== SIPC_OK && !this.closed && status.status !== SIPC_ERR_CANCELLED) {
      this.end(lib.sipc_status_name(status.status) === 'NOT_FOUND' ? 'gone' : errorFor(status.status, `observing channel '${this.name}' failed`));
      return;
    }
    this.update();
  }

  /** Ends the observation ('gone', or an 'error'): nothing more is taken, and it no longer keeps the process alive. */
  private end(why: 'gone' | SipcError): void {
    this.ended = true;
    if (why === 'gone') this.emitSafely('gone');
    else this.emitError(why);
    this.update();
  }

  /**
   * Hands out the `taken` descriptions of one take, whose bytes are back to back in `buffer`: the messages between two
   * events as one 'batch' (when listened to) and one 'message' each (when listened to), each event in its place.
   * Returns the messages handed out.
   */
  private handOut(buffer: Buffer, taken: number): number {
    const described = this.described;
    const field = OBSERVED.offset;
    const columns = new BatchColumns(taken);
    let rows = 0;
    let runStart = 0;
    let offset = 0;
    let runOffset = 0;
    for (let i = 0; i < taken; i++) {
      const at = i * OBSERVED.size;
      const timestampUs = microseconds(described, at + field.timestamp_ns);
      if (described.getUint32(at + field.kind, LITTLE_ENDIAN) === SIPC_OBSERVED_EVENT) {
        this.emitRun(columns, runStart, rows, buffer.subarray(runOffset, offset));
        runStart = rows;
        runOffset = offset;
        if (this.closed) return rows;
        this.emitEvent(at, timestampUs);
        continue;
      }
      const copied = described.getUint32(at + field.copied, LITTLE_ENDIAN);
      columns.offsets[rows] = offset - runOffset;
      columns.copied[rows] = copied;
      columns.lengths[rows] = described.getUint32(at + field.length, LITTLE_ENDIAN);
      columns.directions[rows] = described.getInt32(at + field.direction, LITTLE_ENDIAN) === SIPC_DIR_TO_CLIENT ? TO_CLIENT : TO_SERVER;
      columns.sequences[rows] = count64(described, at + field.sequence);
      columns.timestampsUs[rows] = timestampUs;
      columns.missed[rows] = count64(described, at + field.missed);
      columns.discarded[rows] = count64(described, at + field.discarded);
      columns.undeliverable[rows] = described.getUint32(at + field.undeliverable, LITTLE_ENDIAN) !== 0 ? 1 : 0;
      offset += copied;
      rows++;
    }
    this.emitRun(columns, runStart, rows, buffer.subarray(runOffset, offset));
    return rows;
  }

  /** Emits rows [from, to) of a take's columns (their bytes: `data`, offsets from its start): as one 'batch', then as 'message's. */
  private emitRun(columns: BatchColumns, from: number, to: number, data: Buffer): void {
    if (to === from || this.closed) return;
    const batch = new ObservedBatch(columns, from, to, data);
    if (this.listenerCount('batch') > 0) this.emitSafely('batch', batch);
    if (this.listenerCount('message') === 0) return;
    for (let i = 0; i < batch.count && !this.closed; i++) this.emitSafely('message', batch.message(i));
  }

  /** Emits the event described at byte `at` of the descriptions. */
  private emitEvent(at: number, timestampUs: number): void {
    const field = OBSERVED.offset;
    const code = this.described.getInt32(at + field.event, LITTLE_ENDIAN);
    const kind = EVENT_KINDS[code];
    if (kind === undefined) return; // an event of a newer library this version does not know
    const role = this.described.getInt32(at + field.role, LITTLE_ENDIAN);
    const event: ObserverEvent = {
      kind,
      role: role === SIPC_ROLE_SERVER ? 'server' : role === SIPC_ROLE_CLIENT ? 'client' : null,
      pid: Number(this.described.getBigInt64(at + field.pid, LITTLE_ENDIAN)),
      session: this.described.getUint32(at + field.session, LITTLE_ENDIAN),
      timestamp: new Date(Math.floor(timestampUs / 1000)),
      timestampUs,
    };
    if (kind === 'lossless-dropped') event.reason = DROP_REASONS[Number(this.described.getBigUint64(at + field.count, LITTLE_ENDIAN))] ?? 'invalid';
    this.emitSafely('event', event);
  }

  private update(): void {
    if (this.closed) return;
    this.ensureArmed();
    this.setBusy(
      !this.ended && (this.listenerCount('message') > 0 || this.listenerCount('batch') > 0 || this.listenerCount('gone') > 0 ||
        this.listenerCount('event') > 0),
    );
  }

  private emitError(error: SipcError): void {
    if (this.listenerCount('error') > 0) this.emitSafely('error', error);
  }
}

/**
 * Starts observing a channel by name (it must exist: NOT_FOUND otherwise). Sees messages sent from the moment
 * the native attach succeeded. The attach runs on a native thread.
 */
export function observe(name: string, options: ObserveOptions = {}): Promise<Observer> {
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > SIPC_MAX_MESSAGE_LIMIT) {
    return Promise.reject(new SipcError('INVALID_ARGUMENT', `capacity must be an integer from 0 to ${SIPC_MAX_MESSAGE_LIMIT}`));
  }
  const stall = options.stallTimeoutMs ?? 0;
  if (!Number.isInteger(stall) || stall < 0 || stall > SIPC_OBSERVE_STALL_MAX_MS) {
    return Promise.reject(new SipcError('INVALID_ARGUMENT', `stallTimeoutMs must be an integer from 0 to ${SIPC_OBSERVE_STALL_MAX_MS}`));
  }
  const raw: RawObserveOptions = { struct_size: 0, flags: 0, stall_timeout_ms: 0, reserved: 0 };
  native().sipc_observe_options_init(raw);
  // Events are always asked for: they cost a look at the roles per wake-up, and 'event' listeners may come later.
  raw.flags = SIPC_OBSERVE_EVENTS | (options.lossless === true ? SIPC_OBSERVE_LOSSLESS : 0);
  raw.stall_timeout_ms = stall;
  const context = `observe channel '${name}' failed`;
  return runCall(
    context,
    (notify, token, out) => native().sipc_async_observe_ex(name, raw, notify, token, out),
    (call) => {
      const out: PointerCell = [null];
      const rc = native().sipc_async_call_take_observer(call, out);
      if (rc !== SIPC_OK || out[0] === null) throw errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, context);
      return new Observer(name, out[0], capacity);
    },
  );
}
