// What the messages panel keeps per connection: the last lines, bounded, numbered in arrival order. Pure.
import { preview } from '../inspector/shared/bytes';
import type { StreamLine } from './protocol';

/** Characters of a message the panel draws (the inspector shows the whole message). */
export const LINE_CHARS = 2000;

export interface LineSource {
  readonly direction: 'sent' | 'received';
  readonly data: Uint8Array;
  readonly timestamp: number;
}

export function toLine(seq: number, message: LineSource): StreamLine {
  const { kind, text } = preview(message.data, LINE_CHARS);
  return { seq, t: message.timestamp, dir: message.direction, len: message.data.byteLength, kind, text };
}

/** The last `limit` lines of one connection. */
export class LineLog {
  private lines: StreamLine[] = [];
  private nextSeq = 0;

  constructor(private readonly limit: number) {}

  add(message: LineSource): StreamLine {
    const line = toLine(this.nextSeq++, message);
    this.lines.push(line);
    // Trim in chunks so a flood does not shift the array on every message.
    if (this.lines.length > this.limit + Math.max(16, this.limit >> 3)) this.lines = this.lines.slice(-this.limit);
    return line;
  }

  get all(): readonly StreamLine[] {
    return this.lines.length > this.limit ? this.lines.slice(-this.limit) : this.lines;
  }

  clear(): void {
    this.lines = [];
  }
}
