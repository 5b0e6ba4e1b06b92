// JSON Lines export/import: a header line, then one line per message (base64 payload, byte-exact) or event.
import { fromBase64, toBase64 } from './bytes';
import { isDirection, type CaptureEntry, type CapturedEvent, type CapturedMessage } from './model';

export const JSONL_FORMAT = 'sipc-capture';
export const JSONL_VERSION = 1;

export interface JsonlHeader {
  readonly channel: string;
  readonly mode: string;
  readonly exported: number;
}

export function jsonlHeaderLine(header: JsonlHeader): string {
  return JSON.stringify({ type: 'header', format: JSONL_FORMAT, version: JSONL_VERSION, channel: header.channel,
    mode: header.mode, exported: new Date(header.exported).toISOString() });
}

export function jsonlEntryLine(entry: CaptureEntry): string {
  if (entry.kind === 'event') {
    return JSON.stringify({ type: 'event', seq: entry.seq, time: new Date(entry.timestamp).toISOString(),
      timestampMs: entry.timestamp, event: entry.event, detail: entry.detail });
  }
  const line: Record<string, unknown> = { type: 'message', seq: entry.seq, time: new Date(entry.timestamp).toISOString(),
    timestampMs: entry.timestamp, direction: entry.direction, length: entry.length, data: toBase64(entry.data) };
  if (entry.data.byteLength < entry.length) line.captured = entry.data.byteLength;
  return JSON.stringify(line);
}

/** Lines, each ending in "\n", so a large capture can be written as it is produced. */
export function* jsonlLines(entries: Iterable<CaptureEntry>, header: JsonlHeader): Generator<string> {
  yield jsonlHeaderLine(header) + '\n';
  for (const entry of entries) yield jsonlEntryLine(entry) + '\n';
}

export class JsonlParseError extends Error {
  readonly code = 'INVALID_CAPTURE';
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'JsonlParseError';
  }
}

/** Reads an export back; throws JsonlParseError naming the first bad line. */
export function parseJsonl(text: string): { header: JsonlHeader; entries: CaptureEntry[] } {
  const lines = text.split('\n');
  let header: JsonlHeader | undefined;
  const entries: CaptureEntry[] = [];
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new JsonlParseError('not JSON', lineNo);
    }
    if (typeof value !== 'object' || value === null) throw new JsonlParseError('not an object', lineNo);
    const v = value as Record<string, unknown>;
    const timestamp = typeof v.timestampMs === 'number' ? v.timestampMs : NaN;
    if (v.type === 'header') {
      if (v.format !== JSONL_FORMAT || v.version !== JSONL_VERSION) throw new JsonlParseError('unknown format or version', lineNo);
      header = { channel: String(v.channel), mode: String(v.mode), exported: Date.parse(String(v.exported)) };
    } else if (v.type === 'message') {
      if (!isDirection(v.direction) || typeof v.data !== 'string' || typeof v.seq !== 'number' || !Number.isFinite(timestamp)
        || typeof v.length !== 'number') throw new JsonlParseError('malformed message', lineNo);
      let data: Uint8Array;
      try {
        data = fromBase64(v.data);
      } catch (error) {
        throw new JsonlParseError(`malformed message data: ${error instanceof Error ? error.message : String(error)}`, lineNo);
      }
      const message: CapturedMessage = { kind: 'message', seq: v.seq, direction: v.direction, timestamp, length: v.length, data };
      entries.push(message);
    } else if (v.type === 'event') {
      if (typeof v.seq !== 'number' || typeof v.event !== 'string' || !Number.isFinite(timestamp)) throw new JsonlParseError('malformed event', lineNo);
      const event: CapturedEvent = { kind: 'event', seq: v.seq, timestamp, event: v.event, detail: String(v.detail ?? '') };
      entries.push(event);
    } else {
      throw new JsonlParseError(`unknown line type ${JSON.stringify(v.type)}`, lineNo);
    }
  });
  if (!header) throw new JsonlParseError('missing header line', 1);
  return { header, entries };
}
