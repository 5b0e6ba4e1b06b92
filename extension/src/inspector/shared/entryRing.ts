// The capture's retained entries: a bounded FIFO that drops its oldest entries once either limit (entry count,
// retained bytes) is exceeded, addressed by a logical index from the oldest retained entry in O(1). Pure.
//
// Stored as columns (typed arrays), not as an object per entry: a capture keeps up to 100,000 entries (a million at
// most), and during a flood every kept object survives the young generation's scavenges, which copy it (twice) while
// the event loop waits; with an entry object and a view per message those copies were the extension host's longest
// tasks. A message's bytes are a copy in a shared block (blocks.ts) or, if large, the message itself; an entry object
// is made when one is asked for and dies young.
import { BlockCopier } from './blocks';
import { DIRECTIONS, retainedSize, type CaptureEntry, type CapturedEvent, type Direction } from './model';

/** `kinds` value of an event; a message's is the index of its direction in DIRECTIONS. */
const EVENT = 255;
const INITIAL_SLOTS = 1024;

export class EntryRing {
  private slots = 0;
  private head = 0;
  private count = 0;
  private retainedBytes = 0;
  private droppedTotal = 0;
  private readonly blocks = new BlockCopier();
  // One column per field, indexed by slot.
  private kinds = new Uint8Array(0);
  private seqs = new Float64Array(0);
  private times = new Float64Array(0);
  /** A message's length as sent (its captured bytes may be fewer). */
  private lengths = new Float64Array(0);
  /** What each entry counts against the byte limit (retainedSize). */
  private sizes = new Float64Array(0);
  private offsets = new Uint32Array(0);
  private captured = new Uint32Array(0);
  /** A message's block (or its own buffer), an event's entry (events are few: kept whole). */
  private refs: (ArrayBufferLike | CapturedEvent | undefined)[] = [];
  /** The channel of an entry that names one (opened recordings of several channels). */
  private channels: (string | undefined)[] = [];

  constructor(private maxItems: number, private maxBytes: number) {
    checkLimits(maxItems, maxBytes);
    this.allocate(Math.min(maxItems, INITIAL_SLOTS));
  }

  get length(): number { return this.count; }
  get bytes(): number { return this.retainedBytes; }
  /** Entries dropped to respect the limits since construction or the last clear(). */
  get dropped(): number { return this.droppedTotal; }
  get limits(): { maxItems: number; maxBytes: number } { return { maxItems: this.maxItems, maxBytes: this.maxBytes }; }

  /**
   * Appends; returns the entry as kept (a small message's bytes are then a copy in a shared block) and how many old
   * entries were dropped to make room. The newest entry is kept even if it alone is over the byte limit: dropping it
   * would lose data silently.
   */
  push(entry: CaptureEntry): { kept: CaptureEntry; dropped: number } {
    if (this.count === this.slots && this.count < this.maxItems) this.grow();
    let dropped = 0;
    if (this.count === this.maxItems) {
      this.dropOldest();
      dropped++;
    }
    const slot = (this.head + this.count) % this.slots;
    let kept: CaptureEntry = entry;
    this.seqs[slot] = entry.seq;
    this.times[slot] = entry.timestamp;
    this.channels[slot] = entry.channel;
    if (entry.kind === 'message') {
      const data = this.blocks.keep(entry.data);
      kept = data === entry.data ? entry : { ...entry, data };
      this.kinds[slot] = DIRECTIONS.indexOf(entry.direction);
      this.lengths[slot] = entry.length;
      this.refs[slot] = data.buffer;
      this.offsets[slot] = data.byteOffset;
      this.captured[slot] = data.byteLength;
    } else {
      this.kinds[slot] = EVENT;
      this.refs[slot] = entry;
    }
    const size = retainedSize(kept);
    this.sizes[slot] = size;
    this.count++;
    this.retainedBytes += size;
    while (this.retainedBytes > this.maxBytes && this.count > 1) {
      this.dropOldest();
      dropped++;
    }
    return { kept, dropped };
  }

  /** The entry at a logical index (0 = the oldest retained), made anew on each call. */
  at(index: number): CaptureEntry | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    const slot = (this.head + index) % this.slots;
    const kind = this.kinds[slot];
    if (kind === EVENT) return this.refs[slot] as CapturedEvent;
    const channel = this.channels[slot];
    return {
      kind: 'message', seq: this.seqs[slot], direction: DIRECTIONS[kind] as Direction, timestamp: this.times[slot],
      length: this.lengths[slot], data: new Uint8Array(this.refs[slot] as ArrayBufferLike, this.offsets[slot], this.captured[slot]),
      ...(channel !== undefined ? { channel } : {}),
    };
  }

  *[Symbol.iterator](): IterableIterator<CaptureEntry> {
    for (let i = 0; i < this.count; i++) yield this.at(i) as CaptureEntry;
  }

  clear(): void {
    this.allocate(Math.min(this.maxItems, INITIAL_SLOTS));
    this.head = 0;
    this.count = 0;
    this.retainedBytes = 0;
    this.droppedTotal = 0;
  }

  /** Changes the limits, dropping the oldest entries that no longer fit; returns how many were dropped. */
  setLimits(maxItems: number, maxBytes: number): number {
    checkLimits(maxItems, maxBytes);
    const entries = [...this];
    const droppedBefore = this.droppedTotal;
    this.maxItems = maxItems;
    this.maxBytes = maxBytes;
    const keepFrom = Math.max(0, entries.length - maxItems);
    this.clear();
    let dropped = keepFrom;
    for (let i = keepFrom; i < entries.length; i++) dropped += this.push(entries[i]).dropped;
    this.droppedTotal = droppedBefore + dropped;
    return dropped;
  }

  private allocate(slots: number): void {
    this.slots = slots;
    this.kinds = new Uint8Array(slots);
    this.seqs = new Float64Array(slots);
    this.times = new Float64Array(slots);
    this.lengths = new Float64Array(slots);
    this.sizes = new Float64Array(slots);
    this.offsets = new Uint32Array(slots);
    this.captured = new Uint32Array(slots);
    this.refs = new Array<ArrayBufferLike | CapturedEvent | undefined>(slots).fill(undefined);
    this.channels = new Array<string | undefined>(slots).fill(undefined);
  }

  private grow(): void {
    const { slots, head, count } = this;
    const old = {
      kinds: this.kinds, seqs: this.seqs, times: this.times, lengths: this.lengths, sizes: this.sizes,
      offsets: this.offsets, captured: this.captured, refs: this.refs, channels: this.channels,
    };
    this.allocate(Math.min(this.maxItems, Math.max(16, slots * 2)));
    // In logical order from slot 0: the part from head to the end, then the part that wrapped.
    const firstPart = Math.min(count, slots - head);
    for (const [to, from] of [[this.kinds, old.kinds], [this.seqs, old.seqs], [this.times, old.times], [this.lengths, old.lengths],
      [this.sizes, old.sizes], [this.offsets, old.offsets], [this.captured, old.captured]] as [NumberColumn, NumberColumn][]) {
      to.set(from.subarray(head, head + firstPart), 0);
      to.set(from.subarray(0, count - firstPart), firstPart);
    }
    for (let i = 0; i < count; i++) {
      this.refs[i] = old.refs[(head + i) % slots];
      this.channels[i] = old.channels[(head + i) % slots];
    }
    this.head = 0;
  }

  private dropOldest(): void {
    const slot = this.head;
    // The block stays alive while a later entry still points into it.
    this.refs[slot] = undefined;
    this.channels[slot] = undefined;
    this.head = (this.head + 1) % this.slots;
    this.count--;
    this.retainedBytes -= this.sizes[slot];
    this.droppedTotal++;
  }
}

/** What grow() needs of a typed array, whichever its element type. */
interface NumberColumn {
  set(source: ArrayLike<number>, offset: number): void;
  subarray(begin: number, end: number): ArrayLike<number>;
}

function checkLimits(maxItems: number, maxBytes: number): void {
  if (!(maxItems >= 1) || !(maxBytes >= 1)) throw new RangeError('retention limits must be at least 1');
}
