// The capture (every retained message and event of one inspected channel) and the feed that batches it to
// the webview. Pure: the extension host drives it, the unit tests and the benchmark drive it directly.
import { previewOf } from './bytes';
import { EntryRing } from './entryRing';
import { compileFilter, type CompiledFilter, type FieldDecoder, type FilterSpec } from './filter';
import { fieldAt } from '../../decode/decoder';
import { type CaptureEntry, type CapturedEvent, type CapturedMessage, type Direction } from './model';
import type { HostToWebview, RowSummary } from './protocol';
import { encodeRows } from './rowBatch';

export interface RetentionLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

export const DEFAULT_RETENTION: RetentionLimits = { maxMessages: 100_000, maxBytes: 256 * 1024 * 1024 };

export interface DirectionTotals {
  messages: number;
  bytes: number;
}

export class Capture {
  private readonly ring: EntryRing;
  private nextSeq = 0;
  private readonly totals = new Map<Direction, DirectionTotals>();
  private readonly appendListeners = new Set<(entry: CaptureEntry) => void>();
  private readonly clearListeners = new Set<() => void>();

  constructor(limits: RetentionLimits = DEFAULT_RETENTION) {
    this.ring = new EntryRing(limits.maxMessages, limits.maxBytes);
  }

  get length(): number { return this.ring.length; }
  get retainedBytes(): number { return this.ring.bytes; }
  /** Entries dropped (oldest first) to stay within the retention limits since the last clear. */
  get dropped(): number { return this.ring.dropped; }
  /** Seq of the oldest retained entry (equals endSeq when empty). */
  get firstSeq(): number { return this.nextSeq - this.ring.length; }
  /** Seq the next entry gets: one past the newest retained entry. */
  get endSeq(): number { return this.nextSeq; }
  get limits(): RetentionLimits {
    const { maxItems, maxBytes } = this.ring.limits;
    return { maxMessages: maxItems, maxBytes };
  }

  /** Messages and bytes seen per direction since the last clear, including dropped ones. */
  totalsFor(direction: Direction): DirectionTotals {
    return { ...(this.totals.get(direction) ?? { messages: 0, bytes: 0 }) };
  }

  /**
   * Keeps a small message as a copy in a shared block (blocks.ts), a large one as it is when it is in memory of its
   * own (what the Node API hands out and Connection records are), else as a copy. Returns the entry as kept.
   */
  addMessage(direction: Direction, data: Uint8Array, timestamp: number, length = data.byteLength): CapturedMessage {
    const entry: CapturedMessage = { kind: 'message', seq: this.nextSeq++, direction, timestamp, length, data };
    const totals = this.totals.get(direction) ?? { messages: 0, bytes: 0 };
    totals.messages++;
    totals.bytes += length;
    this.totals.set(direction, totals);
    return this.append(entry) as CapturedMessage;
  }

  addEvent(event: string, detail: string, timestamp: number): CapturedEvent {
    const entry: CapturedEvent = { kind: 'event', seq: this.nextSeq++, event, detail, timestamp };
    return this.append(entry) as CapturedEvent;
  }

  /** An entry read from a file (Open Capture…, a restored panel): numbered anew, counted like a live one. */
  addEntry(entry: CaptureEntry): CaptureEntry {
    const added: CaptureEntry = { ...entry, seq: this.nextSeq++ };
    if (added.kind === 'message') {
      const totals = this.totals.get(added.direction) ?? { messages: 0, bytes: 0 };
      totals.messages++;
      totals.bytes += added.length;
      this.totals.set(added.direction, totals);
    }
    return this.append(added);
  }

  get(seq: number): CaptureEntry | undefined {
    return this.ring.at(seq - this.firstSeq);
  }

  *entries(): IterableIterator<CaptureEntry> {
    yield* this.ring;
  }

  clear(): void {
    this.ring.clear();
    this.totals.clear();
    for (const listener of this.clearListeners) listener();
  }

  setLimits(limits: RetentionLimits): void {
    this.ring.setLimits(limits.maxMessages, limits.maxBytes);
  }

  onAppend(listener: (entry: CaptureEntry) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  onClear(listener: () => void): () => void {
    this.clearListeners.add(listener);
    return () => this.clearListeners.delete(listener);
  }

  summarize(entry: CaptureEntry): RowSummary {
    const previous = this.get(entry.seq - 1);
    // Δ is the time since an earlier row: a row stamped before the one above it (a holder's attach an observer
    // reports after the fact, a file of another tool) shows none rather than a negative one.
    const delta = previous && entry.timestamp >= previous.timestamp ? entry.timestamp - previous.timestamp : undefined;
    const channel = entry.channel !== undefined ? { channel: entry.channel } : {};
    if (entry.kind === 'event') {
      return { seq: entry.seq, t: entry.timestamp, delta, kind: 'event', len: 0, captured: 0, preview: entry.detail, event: entry.event, ...channel };
    }
    let preview = previewOf(entry.data);
    if (entry.data.byteLength < entry.length && !preview.endsWith('…')) preview += '…';
    return {
      seq: entry.seq, t: entry.timestamp, delta, kind: 'message', dir: entry.direction,
      len: entry.length, captured: entry.data.byteLength, preview, ...channel,
    };
  }

  /** Keeps the entry and tells the listeners; returns it as kept (see EntryRing.push). */
  private append(entry: CaptureEntry): CaptureEntry {
    const { kept } = this.ring.push(entry);
    for (const listener of this.appendListeners) listener(kept);
    return kept;
  }
}

/** Timer functions, injected so tests and the benchmark control time. */
export interface Scheduler {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Rows in one post at most: summarising and sending 100,000 rows at once would stall the extension host. A post's rows
 * go as one batch (rowBatch.ts), whose serialisation on the extension host's thread costs little per row; the
 * summaries themselves cost about 1-2 µs a row. During a flood the event loop is busy all the time, and its delay is
 * the longest single task: 1,000 rows keep a post near 2 ms (5,000 gave the longest tasks of a flood on a loaded
 * machine).
 */
export const MAX_ROWS_PER_POST = 1000;

/**
 * Sends the rows of a capture that pass the filter to one webview: a 'reset' when the view (re)attaches or the
 * filter changes, then 'append' batches at most once per interval, however fast messages arrive. No post carries
 * more than MAX_ROWS_PER_POST rows: a reset of a large capture sends its first rows and the rest as appends, one
 * per turn of the event loop, before the new messages. While detached (panel hidden) or paused nothing is posted;
 * the next attach or resume sends a reset.
 */
export class ViewFeed {
  private filter: CompiledFilter = compileFilter({});
  private filterSpec: FilterSpec = {};
  private decoder: FieldDecoder | undefined;
  private columns: readonly string[] = [];
  /**
   * Rows still to post, oldest first. While the list shows every entry (no filter, or one that highlights), they are
   * every retained entry from `pendingFrom` on, so a reset over a full capture costs nothing per entry; otherwise
   * `pendingFrom` is undefined and `pendingSeqs` lists them.
   */
  private pendingFrom: number | undefined;
  private pendingSeqs: number[] = [];
  private timer: unknown;
  private lastFlush = -Infinity;
  private attached = false;
  private paused = false;
  private readonly disposers: (() => void)[] = [];
  /** Post counts, for the benchmark and the tests. */
  readonly posted = { resets: 0, appends: 0, rows: 0 };

  constructor(
    private readonly capture: Capture,
    private readonly post: (message: HostToWebview) => void,
    private readonly scheduler: Scheduler = realScheduler,
    private readonly intervalMs = 50,
  ) {
    this.disposers.push(capture.onAppend((entry) => this.onAppend(entry)));
    this.disposers.push(capture.onClear(() => this.reset()));
  }

  get filterInEffect(): FilterSpec { return this.filterSpec; }
  get isPaused(): boolean { return this.paused; }

  /** Throws InspectorInputError if the spec is invalid; the previous filter then stays in effect. */
  setFilter(spec: FilterSpec): void {
    this.filter = compileFilter(spec, this.decoder);
    this.filterSpec = spec;
    this.reset();
  }

  /** The channel's schema changed: a field filter now decodes with the new one (or, without one, is dropped). */
  setDecoder(decoder: FieldDecoder | undefined): void {
    this.decoder = decoder;
    try {
      this.filter = compileFilter(this.filterSpec, decoder);
    } catch {
      this.filterSpec = { ...this.filterSpec, fields: undefined };
      this.filter = compileFilter(this.filterSpec, decoder);
    }
    this.reset();
  }

  attach(): void {
    this.attached = true;
    this.reset();
  }

  detach(): void {
    this.attached = false;
    this.cancelTimer();
    this.clearPending();
  }

  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) {
      this.cancelTimer();
      this.clearPending();
    } else {
      this.reset();
    }
  }

  /** Seqs of the retained entries passing the current filter, oldest first. */
  matchingSeqs(): number[] {
    const seqs: number[] = [];
    for (const entry of this.capture.entries()) if (this.filter.matches(entry)) seqs.push(entry.seq);
    return seqs;
  }

  reset(): void {
    this.cancelTimer();
    this.clearPending();
    if (!this.attached || this.paused) return;
    if (this.showsAll) this.pendingFrom = this.capture.firstSeq;
    else for (const entry of this.capture.entries()) if (this.shows(entry)) this.pendingSeqs.push(entry.seq);
    const rows = this.takeRows();
    this.posted.resets++;
    this.posted.rows += rows.length;
    this.lastFlush = this.scheduler.now();
    this.post({ type: 'reset', rows: encodeRows(rows), ...this.window() });
    this.scheduleBacklog();
  }

  flush(): void {
    this.cancelTimer();
    if (!this.attached || this.paused) return;
    const rows = this.takeRows();
    this.lastFlush = this.scheduler.now();
    this.posted.appends++;
    this.posted.rows += rows.length;
    this.post({ type: 'append', rows: encodeRows(rows), ...this.window() });
    this.scheduleBacklog();
  }

  dispose(): void {
    this.cancelTimer();
    for (const dispose of this.disposers) dispose();
  }

  /** A row as the list shows it: with its filter match when highlighting, and the decoded column when one is picked. */
  private summary(entry: CaptureEntry): RowSummary {
    let row = this.capture.summarize(entry);
    if (this.highlighting) row = { ...row, match: this.filter.matches(entry) };
    if (this.columns.length > 0 && this.decoder && entry.kind === 'message') {
      const message = this.decoder.decode(entry.data);
      row = { ...row, fields: this.columns.map((path) => fieldAt(message, path)?.display ?? '—') };
    }
    return row;
  }

  /** Decoded fields shown in the list's Fields column (none: no column); the rows are sent again. */
  setColumns(paths: readonly string[]): void {
    this.columns = [...paths];
    this.reset();
  }

  /** Summaries of the oldest pending rows still retained, at most MAX_ROWS_PER_POST; they leave the pending list. */
  private takeRows(): RowSummary[] {
    const firstSeq = this.capture.firstSeq;
    const rows: RowSummary[] = [];
    if (this.pendingFrom !== undefined) {
      const from = Math.max(this.pendingFrom, firstSeq);
      const to = Math.min(this.capture.endSeq, from + MAX_ROWS_PER_POST);
      for (let seq = from; seq < to; seq++) {
        const entry = this.capture.get(seq);
        if (entry) rows.push(this.summary(entry));
      }
      this.pendingFrom = to;
      return rows;
    }
    let taken = 0;
    while (taken < this.pendingSeqs.length && rows.length < MAX_ROWS_PER_POST) {
      const seq = this.pendingSeqs[taken++];
      if (seq < firstSeq) continue;
      const entry = this.capture.get(seq);
      if (entry) rows.push(this.summary(entry));
    }
    this.pendingSeqs = taken === this.pendingSeqs.length ? [] : this.pendingSeqs.slice(taken);
    return rows;
  }

  private get hasPending(): boolean {
    return this.pendingFrom !== undefined ? this.pendingFrom < this.capture.endSeq : this.pendingSeqs.length > 0;
  }

  private clearPending(): void {
    this.pendingFrom = undefined;
    this.pendingSeqs = [];
  }

  /** Rows left over from a full post go out on the next turn, without waiting for the interval. */
  private scheduleBacklog(): void {
    if (!this.hasPending || this.timer !== undefined) return;
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, 0);
  }

  private window(): { firstSeq: number; dropped: number; retained: number } {
    return { firstSeq: this.capture.firstSeq, dropped: this.capture.dropped, retained: this.capture.length };
  }

  private onAppend(entry: CaptureEntry): void {
    if (!this.attached || this.paused) return;
    // While every entry shows, the new one is pending already (pendingFrom is at or before it).
    if (this.pendingFrom === undefined && this.shows(entry)) this.pendingSeqs.push(entry.seq);
    // Everything older than the retention window is gone anyway: keep the pending list bounded by it too.
    if (this.pendingSeqs.length > 2 * this.capture.limits.maxMessages) {
      const firstSeq = this.capture.firstSeq;
      this.pendingSeqs = this.pendingSeqs.filter((seq) => seq >= firstSeq);
    }
    if (this.timer === undefined) {
      const wait = Math.max(0, this.lastFlush + this.intervalMs - this.scheduler.now());
      this.timer = this.scheduler.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
    }
  }

  /** A filter that highlights (and is not empty) marks rows instead of hiding them. */
  private get highlighting(): boolean {
    return this.filterSpec.highlight === true && !this.filter.isEmpty;
  }

  /** Whether the list gets every entry's row: when highlighting, or when the filter is empty. */
  private get showsAll(): boolean {
    return this.highlighting || this.filter.isEmpty;
  }

  /** Whether the list gets this entry's row: all rows when highlighting, else the matching ones. */
  private shows(entry: CaptureEntry): boolean {
    return this.highlighting || this.filter.matches(entry);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
