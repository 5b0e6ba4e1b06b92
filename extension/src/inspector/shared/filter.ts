// Which captured entries the list shows. Pure; the extension host applies it to the capture so that the
// webview only ever receives the rows it displays.
import { encodeUtf8, parseHex, InspectorInputError } from './bytes';
import { indexOfBytes, indexOfBytesIgnoreCase } from './bytes';
import type { CaptureEntry, Direction } from './model';
import { compileFieldFilter } from '../../decode/fieldFilter';
import type { DecodedMessage } from '../../decode/decoder';

/** Decodes message payloads for the field filter (the channel's schema). */
export interface FieldDecoder {
  decode(data: Uint8Array): DecodedMessage;
  readonly constants: ReadonlyMap<string, bigint>;
}

export interface FilterSpec {
  /** Directions to show; empty or absent shows all. */
  readonly directions?: readonly Direction[];
  /** UTF-8 substring, ASCII case-insensitive. */
  readonly text?: string;
  /** Byte sequence in hex ("0d 0a", "0x7f"). */
  readonly hex?: string;
  readonly minSize?: number;
  readonly maxSize?: number;
  /** Event rows (dead peer, reconnect, missed messages) are shown unless this is false. */
  readonly events?: boolean;
  /** Show every row and mark the matching ones, instead of hiding the rest. */
  readonly highlight?: boolean;
  /** A field filter on decoded values (`type == 2 && sample.value > 10`); needs the channel's schema. */
  readonly fields?: string;
}

export type EntryPredicate = (entry: CaptureEntry) => boolean;

export interface CompiledFilter {
  readonly matches: EntryPredicate;
  /** True when every entry matches, so callers can skip the work. */
  readonly isEmpty: boolean;
}

function validSize(value: number | undefined, label: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isFinite(value) || value < 0) throw new InspectorInputError('INVALID_FORMAT', `${label} must be a number of bytes, 0 or more`);
  return Math.floor(value);
}

/** Compiles a spec; throws InspectorInputError for bad hex or sizes. */
export function compileFilter(spec: FilterSpec, decoder?: FieldDecoder): CompiledFilter {
  const directions = spec.directions && spec.directions.length > 0 ? new Set(spec.directions) : undefined;
  // Only ASCII letters fold: the byte search lower-cases ASCII alone (toLowerCase would turn 'Ü' into 'ü').
  const text = spec.text ? encodeUtf8(spec.text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())) : undefined;
  const hex = spec.hex && spec.hex.trim() !== '' ? parseHex(spec.hex) : undefined;
  const minSize = validSize(spec.minSize, 'Minimum size');
  const maxSize = validSize(spec.maxSize, 'Maximum size');
  const events = spec.events !== false;
  const fieldText = spec.fields?.trim();
  if (fieldText && !decoder) throw new InspectorInputError('INVALID_FORMAT', 'this channel has no schema to filter fields with (see .sipc/channels.json)');
  const fields = fieldText && decoder ? compileFieldFilter(fieldText, decoder.constants) : undefined;
  const hasMessageFilter = directions !== undefined || text !== undefined || (hex !== undefined && hex.length > 0)
    || minSize !== undefined || maxSize !== undefined || fields !== undefined;
  if (!hasMessageFilter && events) return { matches: () => true, isEmpty: true };
  const matches: EntryPredicate = (entry) => {
    if (entry.kind === 'event') return events;
    if (directions && !directions.has(entry.direction)) return false;
    if (minSize !== undefined && entry.length < minSize) return false;
    if (maxSize !== undefined && entry.length > maxSize) return false;
    if (hex && hex.length > 0 && indexOfBytes(entry.data, hex) < 0) return false;
    if (text && text.length > 0 && indexOfBytesIgnoreCase(entry.data, text) < 0) return false;
    if (fields && !fields(decoder!.decode(entry.data))) return false;
    return true;
  };
  return { matches, isEmpty: false };
}
