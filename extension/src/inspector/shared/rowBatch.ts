// The list's rows as they cross to the webview: column by column in one ArrayBuffer, the previews joined into one
// string. A webview post is serialised on the extension host's main thread (JSON.stringify with a replacer that
// VS Code calls for every key and value, then, in code-server, zlib), so an array of row objects cost there per row
// and per field; a batch costs a handful of keys, and its ArrayBuffer crosses as bytes. Pure: both sides import it.
import { DIRECTIONS, type Direction } from './model';
import type { RowSummary } from './protocol';

/** What a row has beyond the columns (events, decoded columns, another channel): rare, so kept aside by index. */
export interface RowExtra {
  readonly index: number;
  readonly event?: string;
  readonly fields?: readonly string[];
  readonly channel?: string;
}

export interface RowBatch {
  readonly count: number;
  /** NUMBER_COLUMNS doubles per row: seq, t, delta (NaN: none), len, captured. A view of `buffer`. */
  readonly numbers: Float64Array;
  /** Where each row's preview ends in `previews` (UTF-16 units). A view of `buffer`. */
  readonly previewEnds: Uint32Array;
  /** Per row: the direction's index + 1 (0: none) in bits 0–2, an event in bit 3, a match in bit 4 (its value in
   *  bit 5). A view of `buffer`. */
  readonly flags: Uint8Array;
  readonly previews: string;
  readonly extras: readonly RowExtra[];
}

const NUMBER_COLUMNS = 5;
const EVENT = 1 << 3;
const HAS_MATCH = 1 << 4;
const MATCHES = 1 << 5;

/** The rows as one batch (the host's side). */
export function encodeRows(rows: readonly RowSummary[]): RowBatch {
  const count = rows.length;
  // One buffer for every column: VS Code sends each distinct ArrayBuffer of a message once, as bytes.
  const buffer = new ArrayBuffer(count * (NUMBER_COLUMNS * 8 + 4 + 1));
  const numbers = new Float64Array(buffer, 0, count * NUMBER_COLUMNS);
  const previewEnds = new Uint32Array(buffer, count * NUMBER_COLUMNS * 8, count);
  const flags = new Uint8Array(buffer, count * (NUMBER_COLUMNS * 8 + 4), count);
  const previews: string[] = [];
  const extras: RowExtra[] = [];
  let end = 0;
  for (let i = 0; i < count; i++) {
    const row = rows[i];
    const at = i * NUMBER_COLUMNS;
    numbers[at] = row.seq;
    numbers[at + 1] = row.t;
    numbers[at + 2] = row.delta ?? NaN;
    numbers[at + 3] = row.len;
    numbers[at + 4] = row.captured;
    end += row.preview.length;
    previewEnds[i] = end;
    previews.push(row.preview);
    flags[i] = (row.dir !== undefined ? DIRECTIONS.indexOf(row.dir) + 1 : 0) | (row.kind === 'event' ? EVENT : 0)
      | (row.match !== undefined ? HAS_MATCH | (row.match ? MATCHES : 0) : 0);
    if (row.event !== undefined || row.fields !== undefined || row.channel !== undefined) {
      extras.push({ index: i, ...(row.event !== undefined ? { event: row.event } : {}), ...(row.fields !== undefined ? { fields: row.fields } : {}),
        ...(row.channel !== undefined ? { channel: row.channel } : {}) });
    }
  }
  return { count, numbers, previewEnds, flags, previews: previews.join(''), extras };
}

/** The rows of a batch (the webview's side, and the tests'). */
export function decodeRows(batch: RowBatch): RowSummary[] {
  const rows: RowSummary[] = [];
  const extras = new Map(batch.extras.map((extra) => [extra.index, extra]));
  let start = 0;
  for (let i = 0; i < batch.count; i++) {
    const at = i * NUMBER_COLUMNS;
    const flags = batch.flags[i];
    const direction: Direction | undefined = DIRECTIONS[(flags & 7) - 1];
    const delta = batch.numbers[at + 2];
    const extra = extras.get(i);
    const end = batch.previewEnds[i];
    rows.push({
      seq: batch.numbers[at], t: batch.numbers[at + 1], delta: Number.isNaN(delta) ? undefined : delta,
      kind: flags & EVENT ? 'event' : 'message', ...(direction !== undefined ? { dir: direction } : {}),
      len: batch.numbers[at + 3], captured: batch.numbers[at + 4], preview: batch.previews.slice(start, end),
      ...(flags & HAS_MATCH ? { match: (flags & MATCHES) !== 0 } : {}),
      ...(extra?.event !== undefined ? { event: extra.event } : {}),
      ...(extra?.fields !== undefined ? { fields: extra.fields } : {}),
      ...(extra?.channel !== undefined ? { channel: extra.channel } : {}),
    });
    start = end;
  }
  return rows;
}
