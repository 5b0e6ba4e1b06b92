// Capture files on disk, streamed: the writer behind exports, Record to File… and the restore spill, and the reader
// behind Open Capture…. Everything is asynchronous (fs streams): the extension host never waits for the disk, and
// no file is ever built in memory as a whole.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import type { CaptureDecoder, CaptureEncoder } from '../shared/captureFormat';
import type { CaptureEntry } from '../shared/model';

export interface CaptureFileProgress {
  /** Messages written (events are not counted). */
  readonly messages: number;
  /** Bytes handed to the file so far. */
  readonly bytes: number;
  /** Entries left out because the disk fell behind by more than the writer's bound (Record to File… only). */
  readonly dropped: number;
}

/** Bytes gathered before one write: fewer, larger writes than one per message. */
const BATCH_BYTES = 256 * 1024;
/** Entries encoded in one go at most: a flood's batch is encoded in steps of about a millisecond, not in one long task. */
const BATCH_ENTRIES = 1000;
/**
 * How long written entries wait for more before they go to the file (unless BATCH_BYTES gathered first): a busy
 * channel then costs one encoding and one write per interval, not one per event-loop turn.
 */
const FLUSH_INTERVAL_MS = 50;
/** About what a block adds to an entry's bytes (pcapng: 32 bytes of frame and 24 of direction options). */
const ENTRY_OVERHEAD_BYTES = 56;

export interface CaptureFileWriterOptions {
  /**
   * Recording: bytes that may wait for the disk before entries are dropped (and counted in an event row of the file),
   * so a disk slower than the channel cannot fill the extension host's memory. Absent: never drop (exports, which
   * wait for the disk instead: see drained()).
   */
  readonly maxBacklogBytes?: number;
  /**
   * Bytes gathered before one write (default BATCH_BYTES) and how long entries wait for more (default
   * FLUSH_INTERVAL_MS). Each write is an fs call that the extension host's main thread posts to libuv's thread pool,
   * and a post can hold that thread until a pool thread gets a CPU (see the README's extension-host bench): a writer
   * nobody watches live (the restore spill) writes less often.
   */
  readonly batchBytes?: number;
  readonly flushIntervalMs?: number;
}

/** Writes one capture file: create it with open(), write() entries, close() it. */
export class CaptureFileWriter {
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  /** Entries written since the last flush, encoded all at once then (CaptureEncoder.entries). */
  private entries: CaptureEntry[] = [];
  /** What the stream holds, as of the last flush or finished write (read then, not per entry). */
  private streamBacklog = 0;
  private flushScheduled = false;
  private messageCount = 0;
  private byteCount = 0;
  private droppedCount = 0;
  /** Dropped since the last entry that was written: said in an event row before the next one. */
  private droppedUnreported = 0;
  private failure: Error | undefined;
  private closed = false;
  /** Settles when the last chunk handed to the stream was written (or failed). */
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly errorListeners = new Set<(error: Error) => void>();

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
    private readonly encoder: CaptureEncoder,
    private readonly options: CaptureFileWriterOptions,
  ) {
    stream.on('error', (error: Error) => this.fail(error));
  }

  /** Creates (or truncates) the file and writes the format's header; rejects when the file cannot be created. */
  static async open(path: string, encoder: CaptureEncoder, options: CaptureFileWriterOptions = {}): Promise<CaptureFileWriter> {
    const stream = createWriteStream(path, { flags: 'w', mode: 0o644, highWaterMark: 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    const writer = new CaptureFileWriter(path, stream, encoder, options);
    writer.enqueue(encoder.start());
    return writer;
  }

  /** progress.bytes without making an object (the spill asks after every entry). */
  get bytes(): number {
    return this.byteCount;
  }

  get progress(): CaptureFileProgress {
    return { messages: this.messageCount, bytes: this.byteCount, dropped: this.droppedCount };
  }

  /** The first write error, if any (the writer then ignores further entries). */
  get error(): Error | undefined { return this.failure; }

  onError(listener: (error: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Queues one entry; false when it was dropped (the disk is too far behind) or the file failed or is closed. */
  write(entry: CaptureEntry): boolean {
    if (this.failure || this.closed) return false;
    const max = this.options.maxBacklogBytes;
    if (max !== undefined && this.streamBacklog + this.batchBytes > max) {
      this.droppedCount++;
      this.droppedUnreported++;
      return false;
    }
    if (this.droppedUnreported > 0) {
      this.queueEntry({ kind: 'event', seq: entry.seq, timestamp: entry.timestamp, event: 'not-recorded',
        detail: `${this.droppedUnreported === 1 ? '1 entry before this one was' : `${this.droppedUnreported} entries before this one were`} not recorded: the disk fell behind` });
      this.droppedUnreported = 0;
    }
    this.queueEntry(entry);
    if (entry.kind === 'message') this.messageCount++;
    return true;
  }

  /** Keeps an entry for the next flush; its size is counted roughly (its bytes and a block's frame) until then. */
  private queueEntry(entry: CaptureEntry): void {
    this.entries.push(entry);
    if (this.entries.length >= BATCH_ENTRIES) this.batch.push(this.encoder.entries(this.entries.splice(0)));
    this.enqueue([], entry.kind === 'message' ? entry.data.byteLength + ENTRY_OVERHEAD_BYTES : ENTRY_OVERHEAD_BYTES);
  }

  /**
   * True while the stream holds more than it wants: an export should await drained() before writing on. The batch
   * needs no test of its own: it is handed to the stream as soon as it reaches the writer's batch size.
   */
  get needsDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  /** Resolves once everything queued so far is in the file (rejects with a write error). */
  async drained(): Promise<void> {
    this.flush();
    await this.lastWrite;
    if (this.failure) throw this.failure;
  }

  /** Writes what is queued and closes the file; rejects with the first write error. */
  async close(): Promise<CaptureFileProgress> {
    if (!this.closed) {
      this.closed = true;
      this.flush();
      await new Promise<void>((resolve) => {
        if (this.stream.destroyed) {
          resolve();
          return;
        }
        this.stream.end(() => resolve());
        this.stream.once('error', () => resolve());
      });
    }
    if (this.failure) throw this.failure;
    return this.progress;
  }

  /** Closes without waiting for anything; queued bytes may be lost (the extension is going away). */
  destroy(): void {
    this.closed = true;
    this.stream.destroy();
  }

  private enqueue(chunks: readonly Uint8Array[], pendingBytes = 0): void {
    this.batchBytes += pendingBytes;
    for (const chunk of chunks) {
      this.batch.push(chunk);
      this.batchBytes += chunk.length;
    }
    if (this.batchBytes >= (this.options.batchBytes ?? BATCH_BYTES)) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => {
        this.flushScheduled = false;
        this.flush();
      }, this.options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    }
  }

  private flush(): void {
    if (this.entries.length > 0 && !this.failure) this.batch.push(this.encoder.entries(this.entries.splice(0)));
    if (this.batch.length === 0 || this.failure || this.stream.destroyed) return;
    const data = this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch);
    this.byteCount += data.length;
    this.batch = [];
    this.batchBytes = 0;
    // The write's own error, not the stream's 'error' event, which comes a tick after this callback: drained() must
    // see the failure of the write it waited for.
    this.lastWrite = new Promise<void>((resolve) => this.stream.write(data, (error) => {
      if (error) this.fail(error);
      this.streamBacklog = this.stream.writableLength;
      resolve();
    }));
    this.streamBacklog = this.stream.writableLength;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.batch = [];
    this.entries = [];
    this.batchBytes = 0;
    for (const listener of this.errorListeners) listener(error);
  }
}

/** Turns of the event loop an export gives back between batches of this many entries. */
export const ENTRIES_PER_TURN = 2000;

/**
 * Writes `entries` to a new file at `path`, waiting for the disk rather than holding the file in memory, and giving
 * the event loop a turn every few thousand entries. `onProgress` is told the entries done so far.
 */
export async function writeCaptureFile(path: string, encoder: CaptureEncoder, entries: Iterable<CaptureEntry>,
  onProgress?: (done: number) => void, isCancelled?: () => boolean): Promise<CaptureFileProgress> {
  const writer = await CaptureFileWriter.open(path, encoder);
  let done = 0;
  try {
    for (const entry of entries) {
      writer.write(entry);
      done++;
      if (writer.needsDrain) await writer.drained();
      if (done % ENTRIES_PER_TURN === 0) {
        onProgress?.(done);
        if (isCancelled?.()) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    return await writer.close();
  } catch (error) {
    writer.destroy();
    throw error;
  }
}

/**
 * Reads a capture file chunk by chunk into `onEntries`; resolves when the whole file was read. A damaged file rejects
 * with the decoder's error, after the entries before the damage were handed out.
 */
export async function readCaptureFile(path: string, decoder: CaptureDecoder, onEntries: (entries: CaptureEntry[]) => void,
  isCancelled?: () => boolean): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (isCancelled?.()) return;
      const entries = decoder.push(chunk);
      if (entries.length > 0) onEntries(entries);
    }
    const last = decoder.end();
    if (last.length > 0) onEntries(last);
  } finally {
    stream.destroy();
  }
}
