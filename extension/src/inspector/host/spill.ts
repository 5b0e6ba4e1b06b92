// The restore spill: what a live inspector panel shows is also streamed to a bounded file in the extension's storage,
// so that after a window reload the restored panel gets its earlier messages back. The messages are kept out of the
// webview state (VS Code keeps that in memory and in its own storage as JSON); the state only names the spill.
//
// Layout: <storage>/inspector-spill/<id>-<n>.pcapng, where n counts up. When the current part exceeds half the
// budget a new part starts and the one before the previous is removed, so at most two parts (one budget) exist.
// A restored panel reads the parts of its old id, oldest first, and starts a spill of a new id (which begins with
// what it restored) before removing the old parts: a second reload still finds everything.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { CaptureDecoder, CaptureEncoder } from '../shared/captureFormat';
import type { CaptureEntry } from '../shared/model';
import { CaptureFileWriter } from './captureFile';
import { readCaptureFile } from './captureFile';

export const SPILL_FOLDER = 'inspector-spill';
/** Bytes of spill per panel at most (two parts of half of it). */
export const SPILL_BUDGET_BYTES = 128 * 1024 * 1024;
/** Spills older than this are removed at start-up (their panel was never restored). */
export const SPILL_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * The spill's writes: 1 MiB at a time and at most every 250 ms (a flood of 100k small messages is about 7 MB of
 * pcapng: 7 writes instead of about 30 for the thread pool). A reload closes the spill, which writes what waits.
 */
export const SPILL_WRITES = { batchBytes: 1024 * 1024, flushIntervalMs: 250 } as const;

/** Entries held while the next part is being opened, at most. */
const MAX_QUEUED_ENTRIES = 100_000;

const ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** A spill id from the webview state, or undefined when it is not one (the state is not trusted). */
export function spillIdOf(value: unknown): string | undefined {
  return typeof value === 'string' && ID_PATTERN.test(value) ? value : undefined;
}

function partName(id: string, part: number): string {
  return `${id}-${part}.pcapng`;
}

/** The parts of a spill, oldest first. */
async function partsOf(folder: string, id: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(folder);
  } catch {
    return [];
  }
  const pattern = new RegExp(`^${id}-(\\d+)\\.pcapng$`);
  return names.map((name) => ({ name, part: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((p) => Number.isInteger(p.part)).sort((a, b) => a.part - b.part).map((p) => join(folder, p.name));
}

/**
 * Reads a spill back, oldest entry first. `keep` bounds what is kept in memory while reading (the newest entries win).
 * A part that ends mid-block (the window went away while it was written) gives what was complete.
 */
export async function readSpill(folder: string, id: string, keep: number): Promise<CaptureEntry[]> {
  const entries: CaptureEntry[] = [];
  for (const path of await partsOf(folder, id)) {
    try {
      await readCaptureFile(path, new CaptureDecoder(), (batch) => {
        entries.push(...batch);
        if (entries.length > 2 * keep) entries.splice(0, entries.length - keep);
      });
    } catch {
      // A torn last block: the entries before it were taken.
    }
  }
  return entries.length > keep ? entries.slice(entries.length - keep) : entries;
}

/** Removes every part of a spill. */
export async function removeSpill(folder: string, id: string): Promise<void> {
  await Promise.all((await partsOf(folder, id)).map((path) => fsp.rm(path, { force: true })));
}

/** Removes spills whose newest write is older than SPILL_MAX_AGE_MS. */
export async function removeOldSpills(folder: string, now = Date.now()): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(folder);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.endsWith('.pcapng')).map(async (name) => {
    const path = join(folder, name);
    const stat = await fsp.stat(path).catch(() => undefined);
    if (stat && now - stat.mtimeMs > SPILL_MAX_AGE_MS) await fsp.rm(path, { force: true });
  }));
}

/** The spill of one panel: write() every entry; rotates by itself; dispose() keeps the files, remove() deletes them. */
export class SpillFile {
  private writer: CaptureFileWriter | undefined;
  private part = 0;
  /** Entries that arrived while a part was being opened. */
  private queued: CaptureEntry[] = [];
  private opening = false;
  private pendingOpen: Promise<void> = Promise.resolve();
  private stopped = false;
  private failed = false;

  constructor(readonly folder: string, readonly id: string, private readonly channel: string, private readonly mode: string,
    private readonly budgetBytes = SPILL_BUDGET_BYTES, private readonly onFailure: (error: Error) => void = () => undefined) {}

  write(entry: CaptureEntry): void {
    if (this.stopped || this.failed) return;
    const writer = this.writer;
    if (!writer || this.opening) {
      // Best effort: a disk that does not open the next part in time costs entries, never unbounded memory.
      if (this.queued.length >= MAX_QUEUED_ENTRIES) return;
      this.queued.push(entry);
      if (!this.opening) this.startPart();
      return;
    }
    writer.write(entry);
    if (writer.bytes > this.budgetBytes / 2) this.startPart();
  }

  private startPart(): void {
    this.opening = true;
    this.pendingOpen = this.openPart();
  }

  /** Resolves once everything written so far is in the files. */
  async flushed(): Promise<void> {
    await this.pendingOpen;
    await this.writer?.drained().catch(() => undefined);
  }

  /** Closes the current part, keeping the files (the extension is going away; the panel may be restored). */
  async close(): Promise<void> {
    this.stopped = true;
    await this.pendingOpen;
    await this.writer?.close().catch(() => undefined);
  }

  /** Closes and deletes the spill (the user closed the panel). */
  async remove(): Promise<void> {
    await this.close();
    await removeSpill(this.folder, this.id);
  }

  private async openPart(): Promise<void> {
    const previous = this.writer;
    try {
      await fsp.mkdir(this.folder, { recursive: true });
      const next = await CaptureFileWriter.open(join(this.folder, partName(this.id, this.part)),
        new CaptureEncoder('pcapng', { channel: this.channel, mode: this.mode, application: 'sipc inspector (restore spill)' }),
        { maxBacklogBytes: 16 * 1024 * 1024, ...SPILL_WRITES });
      next.onError((error) => this.fail(error));
      this.part++;
      this.writer = next;
      for (const entry of this.queued.splice(0)) next.write(entry);
      this.opening = false; // new entries go straight to the new part while the previous one closes
      if (previous) {
        await previous.close().catch(() => undefined);
        // Two parts at most: the one before the previous goes.
        if (this.part >= 3) await fsp.rm(join(this.folder, partName(this.id, this.part - 3)), { force: true });
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.opening = false;
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.queued = [];
    this.onFailure(error);
  }
}
