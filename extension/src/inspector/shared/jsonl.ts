// JSON Lines export/import in the layout `sipc record` writes (helper/cli/capture.h is the reference): a header line,
// then one line per message (base64 payload, byte-exact, and a `text` field when the payload is UTF-8) or event.
// The reader takes the inspector's exports (older ones without `channel`/`text` too) and recordings of several
// channels; it is fed one line at a time, so a file of any size can be read as it streams in.
import { decodeUtf8, fromBase64, isValidUtf8, toBase64 } from './bytes';
import { channelDirection, isCaptureRole, isDirection, isWindowDirection, type CaptureEntry, type CaptureRole, type CapturedEvent,
  type CapturedMessage } from './model';
import { timestampNs } from './pcapng';

export const JSONL_FORMAT = 'sipc-capture';
export const JSONL_VERSION = 1;

export interface JsonlHeader {
  /** The capture's own channel (the first of `channels`). */
  readonly channel: string;
  readonly mode: string;
  /** When the file was started, milliseconds since the epoch. */
  readonly exported: number;
  /** Every channel of the file, when it names them (recordings of several channels). */
  readonly channels?: readonly string[];
  readonly application?: string;
  /**
   * The side the capture was taken from (absent: unknown). A file with a server/client role may still hold a message
   * as "sent"/"received" (its window's view): the reader places it in the channel's direction.
   */
  readonly role?: CaptureRole;
}

export function jsonlHeaderLine(header: JsonlHeader): string {
  return JSON.stringify({ type: 'header', format: JSONL_FORMAT, version: JSONL_VERSION, channel: header.channel,
    channels: header.channels ?? [header.channel], mode: header.mode, ...(header.role ? { role: header.role } : {}), exported: new Date(header.exported).toISOString(),
    application: header.application ?? 'sipc inspector' });
}

/** The time fields of a line: ISO time, milliseconds (fractional) and nanoseconds (an exact integer, beyond a double). */
function timeFields(timestamp: number): string {
  return `"time":${JSON.stringify(new Date(timestamp).toISOString())},"timestampMs":${timestamp},"timestampNs":${timestampNs(timestamp)}`;
}

/** One entry's line (without the newline); `channel` is the capture's own channel, for entries that name none. */
export function jsonlEntryLine(entry: CaptureEntry, channel = ''): string {
  const head = `{"type":"${entry.kind}","channel":${JSON.stringify(entry.channel ?? channel)},"seq":${entry.seq},${timeFields(entry.timestamp)}`;
  if (entry.kind === 'event') return `${head},"event":${JSON.stringify(entry.event)},"detail":${JSON.stringify(entry.detail)}}`;
  let line = `${head},"direction":"${entry.direction}","length":${entry.length}`;
  if (entry.data.byteLength < entry.length) line += `,"captured":${entry.data.byteLength}`;
  line += `,"data":"${toBase64(entry.data)}"`;
  if (isValidUtf8(entry.data)) line += `,"text":${JSON.stringify(decodeUtf8(entry.data))}`;
  return `${line}}`;
}

/** Lines, each ending in "\n", so a large capture can be written as it is produced. */
export function* jsonlLines(entries: Iterable<CaptureEntry>, header: JsonlHeader): Generator<string> {
  yield jsonlHeaderLine(header) + '\n';
  for (const entry of entries) yield jsonlEntryLine(entry, header.channel) + '\n';
}

export class JsonlParseError extends Error {
  readonly code = 'INVALID_CAPTURE';
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'JsonlParseError';
  }
}

/**
 * Reads JSON Lines one line at a time (line numbers from 1). The header must come first; entries of the header's
 * channel come back without `channel`, others with it. Throws JsonlParseError naming the first bad line.
 */
export class JsonlReader {
  private lineNo = 0;
  private headerLine: JsonlHeader | undefined;
  /** Channels named by the header or by lines, in order of first appearance. */
  readonly channels: string[] = [];

  get header(): JsonlHeader | undefined { return this.headerLine; }
  /** Lines read so far. */
  get linesRead(): number { return this.lineNo; }

  line(raw: string): CaptureEntry | undefined {
    const lineNo = ++this.lineNo;
    if (raw.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new JsonlParseError('not JSON', lineNo);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JsonlParseError('not an object', lineNo);
    const v = value as Record<string, unknown>;
    if (v.type === 'header') {
      if (this.headerLine) throw new JsonlParseError('a second header line', lineNo);
      if (v.format !== JSONL_FORMAT || v.version !== JSONL_VERSION) throw new JsonlParseError('unknown format or version', lineNo);
      if (typeof v.channel !== 'string') throw new JsonlParseError('the header names no channel', lineNo);
      const channels = Array.isArray(v.channels) ? v.channels.filter((c): c is string => typeof c === 'string') : [];
      for (const c of [v.channel, ...channels]) if (!this.channels.includes(c)) this.channels.push(c);
      this.headerLine = { channel: v.channel, mode: String(v.mode ?? ''), exported: Date.parse(String(v.exported)), channels: [...this.channels],
        ...(typeof v.application === 'string' ? { application: v.application } : {}), ...(isCaptureRole(v.role) ? { role: v.role } : {}) };
      return undefined;
    }
    if (!this.headerLine) throw new JsonlParseError('missing header line', lineNo);
    const timestamp = typeof v.timestampMs === 'number' ? v.timestampMs : typeof v.timestampNs === 'number' ? v.timestampNs / 1e6 : NaN;
    if (v.channel !== undefined && typeof v.channel !== 'string') throw new JsonlParseError('the channel is not a string', lineNo);
    const channel = typeof v.channel === 'string' && v.channel !== this.headerLine.channel ? v.channel : undefined;
    if (channel !== undefined && !this.channels.includes(channel)) this.channels.push(channel);
    const seq = typeof v.seq === 'number' ? v.seq : NaN;
    if (v.type === 'message') {
      if (!isDirection(v.direction) || typeof v.data !== 'string' || !Number.isFinite(seq) || !Number.isFinite(timestamp)
        || typeof v.length !== 'number') throw new JsonlParseError('malformed message', lineNo);
      let data: Uint8Array;
      try {
        data = fromBase64(v.data);
      } catch (error) {
        throw new JsonlParseError(`malformed message data: ${error instanceof Error ? error.message : String(error)}`, lineNo);
      }
      // The header's role is its own channel's (as a pcapng interface's role is its interface's): another channel's rows stay.
      const role = channel === undefined ? this.headerLine.role : undefined;
      const direction = isWindowDirection(v.direction) && (role === 'server' || role === 'client') ? channelDirection(v.direction, role) : v.direction;
      const message: CapturedMessage = { kind: 'message', seq, direction, timestamp, length: Math.max(v.length, data.length), data,
        ...(channel !== undefined ? { channel } : {}) };
      return message;
    }
    if (v.type === 'event') {
      if (!Number.isFinite(seq) || typeof v.event !== 'string' || !Number.isFinite(timestamp)) throw new JsonlParseError('malformed event', lineNo);
      const event: CapturedEvent = { kind: 'event', seq, timestamp, event: v.event, detail: String(v.detail ?? ''),
        ...(channel !== undefined ? { channel } : {}) };
      return event;
    }
    throw new JsonlParseError(`unknown line type ${JSON.stringify(v.type)}`, lineNo);
  }

  /** The file ended: throws when it had no header. */
  end(): JsonlHeader {
    if (!this.headerLine) throw new JsonlParseError('missing header line (is this a sipc capture?)', 1);
    return this.headerLine;
  }
}

/** Reads a whole export held in memory; throws JsonlParseError naming the first bad line. */
export function parseJsonl(text: string): { header: JsonlHeader; entries: CaptureEntry[] } {
  const reader = new JsonlReader();
  const entries: CaptureEntry[] = [];
  for (const raw of text.split('\n')) {
    const entry = reader.line(raw);
    if (entry) entries.push(entry);
  }
  return { header: reader.end(), entries };
}
