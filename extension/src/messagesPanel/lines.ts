// What the messages panel keeps per connection: the last messages, bounded, numbered in arrival order, each drawn
// as a line only when it is first shown. Pure.
import { preview } from '../inspector/shared/bytes';
import type { StreamLine } from './protocol';

/** Characters of a message the panel draws (the inspector shows the whole message). */
export const LINE_CHARS = 2000;
/**
 * Bytes of a message a line can show: preview() reads at most 4 bytes per character, and one byte more tells it the
 * message goes on (so it ends the line with an ellipsis).
 */
const LINE_BYTES = LINE_CHARS * 4 + 1;

export interface LineSource {
  readonly direction: 'sent' | 'received';
  readonly data: Uint8Array;
  readonly timestamp: number;
}

interface KeptMessage {
  readonly seq: number;
  readonly t: number;
  readonly dir: 'sent' | 'received';
  /** The message's length. */
  readonly len: number;
  /** The message, or its first LINE_BYTES bytes. */
  readonly bytes: Uint8Array;
  line?: StreamLine;
}

/**
 * The last `limit` messages of one connection. A message is drawn (preview) when its line is first asked for, not
 * when it arrives: a flood into a hidden panel costs no previews, and a visible one only those of the lines sent.
 */
export class LineLog {
  private kept: KeptMessage[] = [];
  private nextSeq = 0;

  constructor(private readonly limit: number) {}

  /** Keeps the message (at most LINE_BYTES of it: a big message is not held whole for its line). */
  add(message: LineSource): void {
    const { data } = message;
    const bytes = data.byteLength <= LINE_BYTES ? data : new Uint8Array(data.subarray(0, LINE_BYTES));
    this.kept.push({ seq: this.nextSeq++, t: message.timestamp, dir: message.direction, len: data.byteLength, bytes });
    // Trim in chunks so a flood does not shift the array on every message.
    if (this.kept.length > this.limit + Math.max(16, this.limit >> 3)) this.kept = this.kept.slice(-this.limit);
  }

  /** The line of the newest message. */
  get last(): StreamLine | undefined {
    const newest = this.kept[this.kept.length - 1];
    return newest ? this.lineOf(newest) : undefined;
  }

  get all(): readonly StreamLine[] {
    const kept = this.kept.length > this.limit ? this.kept.slice(-this.limit) : this.kept;
    return kept.map((message) => this.lineOf(message));
  }

  clear(): void {
    this.kept = [];
  }

  private lineOf(message: KeptMessage): StreamLine {
    if (!message.line) {
      const { kind, text } = preview(message.bytes, LINE_CHARS);
      message.line = { seq: message.seq, t: message.t, dir: message.dir, len: message.len, kind, text };
    }
    return message.line;
  }
}
