// Bounded FIFO that drops its oldest items once either limit (item count, retained bytes) is exceeded.
// Items are addressed by a logical index from the oldest retained item, in O(1).

export class RetentionRing<T> {
  private slots: (T | undefined)[];
  private head = 0;
  private count = 0;
  private retainedBytes = 0;
  private droppedTotal = 0;

  constructor(
    private maxItems: number,
    private maxBytes: number,
    private readonly sizeOf: (item: T) => number,
  ) {
    if (!(maxItems >= 1) || !(maxBytes >= 1)) throw new RangeError('retention limits must be at least 1');
    this.slots = new Array<T | undefined>(Math.min(maxItems, 1024));
  }

  get length(): number { return this.count; }
  get bytes(): number { return this.retainedBytes; }
  /** Items dropped to respect the limits since construction or the last clear(). */
  get dropped(): number { return this.droppedTotal; }
  get limits(): { maxItems: number; maxBytes: number } { return { maxItems: this.maxItems, maxBytes: this.maxBytes }; }

  /** Appends; returns how many old items were dropped to make room. */
  push(item: T): number {
    if (this.count === this.slots.length && this.count < this.maxItems) this.grow();
    let dropped = 0;
    if (this.count === this.maxItems) {
      this.dropOldest();
      dropped++;
    }
    this.slots[(this.head + this.count) % this.slots.length] = item;
    this.count++;
    this.retainedBytes += this.sizeOf(item);
    // Keep at least the newest item even if it alone is over the byte limit: dropping it would lose data silently.
    while (this.retainedBytes > this.maxBytes && this.count > 1) {
      this.dropOldest();
      dropped++;
    }
    return dropped;
  }

  at(index: number): T | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    return this.slots[(this.head + index) % this.slots.length];
  }

  oldest(): T | undefined { return this.at(0); }
  newest(): T | undefined { return this.at(this.count - 1); }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.slots[(this.head + i) % this.slots.length] as T;
  }

  clear(): void {
    this.slots = new Array<T | undefined>(Math.min(this.maxItems, 1024));
    this.head = 0;
    this.count = 0;
    this.retainedBytes = 0;
    this.droppedTotal = 0;
  }

  /** Changes the limits, dropping the oldest items that no longer fit; returns how many were dropped. */
  setLimits(maxItems: number, maxBytes: number): number {
    if (!(maxItems >= 1) || !(maxBytes >= 1)) throw new RangeError('retention limits must be at least 1');
    const items = [...this];
    this.maxItems = maxItems;
    this.maxBytes = maxBytes;
    const keepFrom = Math.max(0, items.length - maxItems);
    this.slots = new Array<T | undefined>(Math.max(Math.min(maxItems, 1024), items.length - keepFrom));
    this.head = 0;
    this.count = 0;
    this.retainedBytes = 0;
    const droppedBefore = this.droppedTotal + keepFrom;
    let dropped = keepFrom;
    for (let i = keepFrom; i < items.length; i++) dropped += this.push(items[i]);
    this.droppedTotal = droppedBefore + (dropped - keepFrom);
    return dropped;
  }

  private grow(): void {
    const next = new Array<T | undefined>(Math.min(this.maxItems, Math.max(16, this.slots.length * 2)));
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) % this.slots.length];
    this.slots = next;
    this.head = 0;
  }

  private dropOldest(): void {
    const item = this.slots[this.head] as T;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.retainedBytes -= this.sizeOf(item);
    this.droppedTotal++;
  }
}
