// pcapng writer, in the layout `sipc record` writes (helper/cli/capture.h is the reference):
//   - one Section Header Block (shb_userappl);
//   - one Interface Description Block per channel: LINKTYPE_USER0 (sipc messages have no registered link type),
//     snaplen 0, if_name = the channel, if_tsresol = 9 (timestamps in nanoseconds since the Unix epoch), and, when
//     known, an opt_comment "sipc role: server|client|observer" naming the side the channel was recorded from;
//   - one Enhanced Packet Block per message: the payload, epb_flags direction (2 outbound: client→server, 1 inbound:
//     server→client) and an opt_comment naming the direction. A connection panel's file names its window's role and
//     writes the channel's directions (CaptureEncoder places them); only a file without a role (the restore spill,
//     and connection panels of earlier versions) holds "sent" (outbound) / "received" (inbound): that window's view;
//   - an event is an Enhanced Packet Block with no payload, epb_flags direction 0 ("not available") and the comment
//     "sipc event <name>: <detail>"; readers tell it from an empty message by that direction.
// Little-endian. The reader of the same layout (any byte order and resolution) is pcapngReader.ts.
// Pure: the writer returns blocks, the host streams them to a file.
import { encodeUtf8 } from './bytes';
import { directionLabel, isOutbound, type CaptureEntry, type CaptureRole, type Direction } from './model';

export const LINKTYPE_USER0 = 147;

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
export const BLOCK_SPB = 0x00000003;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
export const OPT_END = 0;
export const OPT_COMMENT = 1;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
export const EPB_FLAGS = 2;
const EPB_FLAG_INBOUND = 1;
export const EPB_FLAG_OUTBOUND = 2;
/** The interface comment that names the side its channel was recorded from (capture.c's ROLE_PREFIX). */
export const PCAPNG_ROLE_PREFIX = 'sipc role: ';
/** The comment that marks an event block (capture.c's EVENT_PREFIX). */
export const PCAPNG_EVENT_PREFIX = 'sipc event ';
/** A block larger than this is refused: a message is at most 64 MiB (SIPC_MAX_MESSAGE_LIMIT), plus room for options. */
export const PCAPNG_MAX_BLOCK = 64 * 1024 * 1024 + 65536;

export interface PcapngOptions {
  /** Channel name, written as the first interface's name. */
  readonly interfaceName: string;
  readonly interfaceDescription?: string;
  readonly linkType?: number;
  readonly application?: string;
  /** The side the channel was recorded from (absent: unknown). */
  readonly role?: CaptureRole;
}

/** n rounded up to a multiple of 4 (arithmetic, not bitwise: lengths read from a file may exceed 31 bits). */
export const pad4 = (n: number): number => n + ((4 - (n % 4)) % 4);

export interface Option { readonly code: number; readonly value: Uint8Array }

function optionsLength(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  return options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
}

/** Writes blocks into `bytes` from `offset` on (one buffer may hold many blocks: see PcapngEncoder.entries). */
class BlockWriter {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, private offset = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(v: number): void { this.view.setUint16(this.offset, v, true); this.offset += 2; }
  u32(v: number): void { this.view.setUint32(this.offset, v >>> 0, true); this.offset += 4; }
  raw(data: Uint8Array): void { this.bytes.set(data, this.offset); this.offset = pad4(this.offset + data.length); }
  options(options: readonly Option[]): void {
    if (options.length === 0) return;
    for (const o of options) {
      this.u16(o.code);
      this.u16(o.value.length);
      this.raw(o.value);
    }
    this.u16(OPT_END);
    this.u16(0);
  }
  get position(): number { return this.offset; }
}

const utf8 = encodeUtf8;

/**
 * An option's text, cut to what the 16-bit option length can hold (65,520 bytes, at a character boundary: the bytes
 * of a character the cut would split go, a U+FFFD of the text itself before them stays).
 */
function textOption(code: number, text: string): Option {
  let value = utf8(text);
  if (value.length > 0xffff) {
    // UTF-8 of a JS string (a lone surrogate is U+FFFD's 3 bytes): a character starts at any byte but 10xxxxxx.
    let end = 0xfff0;
    while ((value[end] & 0xc0) === 0x80) end--;
    value = value.subarray(0, end);
  }
  return { code, value };
}

/** Writes one block at the writer's position: its type, length, body (`fill`) and length again. */
function writeBlock(w: BlockWriter, type: number, bodyLength: number, fill: (w: BlockWriter) => void): void {
  const start = w.position;
  const total = 12 + bodyLength;
  w.u32(type);
  w.u32(total);
  fill(w);
  if (w.position !== start + total - 4) throw new Error(`pcapng block ${type} body is ${w.position - start - 8} bytes, expected ${bodyLength}`);
  w.u32(total);
}

function block(type: number, bodyLength: number, fill: (w: BlockWriter) => void): Uint8Array {
  const w = new BlockWriter(new Uint8Array(12 + bodyLength));
  writeBlock(w, type, bodyLength, fill);
  return w.bytes;
}

export function sectionHeader(application: string): Uint8Array {
  const options: Option[] = [textOption(SHB_USERAPPL, application)];
  return block(BLOCK_SHB, 16 + optionsLength(options), (w) => {
    w.u32(BYTE_ORDER_MAGIC);
    w.u16(1);
    w.u16(0);
    w.u32(0xffffffff); // section length unknown (-1 as 64 bits)
    w.u32(0xffffffff);
    w.options(options);
  });
}

export function interfaceDescription(options: PcapngOptions): Uint8Array {
  const opts: Option[] = [textOption(IF_NAME, options.interfaceName)];
  if (options.interfaceDescription) opts.push(textOption(IF_DESCRIPTION, options.interfaceDescription));
  opts.push({ code: IF_TSRESOL, value: Uint8Array.of(9) });
  if (options.role) opts.push(textOption(OPT_COMMENT, `${PCAPNG_ROLE_PREFIX}${options.role}`));
  return block(BLOCK_IDB, 8 + optionsLength(opts), (w) => {
    w.u16(options.linkType ?? LINKTYPE_USER0);
    w.u16(0);
    w.u32(0); // snaplen: no limit
    w.options(opts);
  });
}

/**
 * Nanoseconds since the epoch of a model timestamp (milliseconds, a double). The model holds microseconds at best
 * (a double of today's milliseconds resolves about 0.2 µs), so the value is rounded to whole microseconds first:
 * ns = µs × 1000, exact in a BigInt where a double would not be.
 */
export function timestampNs(timestampMs: number): bigint {
  return BigInt(Math.round(timestampMs * 1000)) * 1000n;
}

/**
 * The high and low 32 bits of timestampNs(timestampMs), computed in doubles (no BigInt per packet: a recording
 * encodes every message of a busy channel). µs < 2^53 today; µs = hi·2^32 + lo, so ns = hi·1000·2^32 + lo·1000,
 * where lo·1000 < 2^42 and hi·1000 < 2^32 are exact.
 */
function timestampWords(timestampMs: number): [high: number, low: number] {
  const micros = Math.round(timestampMs * 1000);
  const hi = Math.floor(micros / 0x100000000);
  const lowProduct = (micros - hi * 0x100000000) * 1000;
  const carry = Math.floor(lowProduct / 0x100000000);
  return [hi * 1000 + carry, lowProduct - carry * 0x100000000];
}

const EMPTY = new Uint8Array(0);
/** Each direction's epb_flags and comment options, encoded once. */
const DIRECTION_OPTIONS = new Map<Direction, Option[]>();
function directionOptions(direction: Direction): Option[] {
  let options = DIRECTION_OPTIONS.get(direction);
  if (!options) {
    const flagBytes = new Uint8Array(4);
    new DataView(flagBytes.buffer).setUint32(0, isOutbound(direction) ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND, true);
    options = [{ code: EPB_FLAGS, value: flagBytes }, textOption(OPT_COMMENT, directionLabel(direction))];
    DIRECTION_OPTIONS.set(direction, options);
  }
  return options;
}

/** What an entry's Enhanced Packet Block holds besides its timestamp. */
interface PacketParts {
  readonly data: Uint8Array;
  readonly options: readonly Option[];
  readonly original: number;
  readonly bodyLength: number;
}

function packetParts(entry: CaptureEntry): PacketParts {
  const data = entry.kind === 'message' ? entry.data : EMPTY;
  const options = entry.kind === 'message' ? directionOptions(entry.direction)
    : [{ code: EPB_FLAGS, value: new Uint8Array(4) }, textOption(OPT_COMMENT, `${PCAPNG_EVENT_PREFIX}${entry.event}: ${entry.detail}`)];
  const original = entry.kind === 'message' ? Math.max(entry.length, data.length) : 0;
  return { data, options, original, bodyLength: 20 + pad4(data.length) + optionsLength(options) };
}

function writePacket(w: BlockWriter, entry: CaptureEntry, parts: PacketParts, interfaceId: number): void {
  const [high, low] = timestampWords(entry.timestamp);
  writeBlock(w, BLOCK_EPB, parts.bodyLength, () => {
    w.u32(interfaceId);
    w.u32(high);
    w.u32(low);
    w.u32(parts.data.length);
    w.u32(parts.original);
    w.raw(parts.data);
    w.options(parts.options);
  });
}

/** The Enhanced Packet Block of one entry on interface `interfaceId`: a message, or an event (no payload, direction 0). */
export function enhancedPacket(entry: CaptureEntry, interfaceId = 0): Uint8Array {
  const parts = packetParts(entry);
  const w = new BlockWriter(new Uint8Array(12 + parts.bodyLength));
  writePacket(w, entry, parts, interfaceId);
  return w.bytes;
}

/**
 * Encodes a capture as it is produced: the section header first, then each entry's block, with an interface block
 * before the first entry of each channel (an entry without a channel belongs to the first interface).
 */
export class PcapngEncoder {
  private readonly interfaces = new Map<string, number>();
  constructor(private readonly options: PcapngOptions) {}

  /** The section header and the first interface. */
  start(): Uint8Array[] {
    this.interfaces.set(this.options.interfaceName, 0);
    return [sectionHeader(this.options.application ?? 'sipc inspector'), interfaceDescription(this.options)];
  }

  /** The blocks of one entry (an interface block first when its channel is new). */
  entry(entry: CaptureEntry): Uint8Array[] {
    return [this.entries([entry])];
  }

  /**
   * The blocks of many entries, in one buffer: a recording or spill encodes a busy channel's messages a batch at a
   * time, one allocation per batch instead of a buffer, a view and a list per message.
   */
  entries(entries: readonly CaptureEntry[]): Uint8Array {
    const parts: PacketParts[] = [];
    const ids: number[] = [];
    /** Interface blocks of channels first seen in this batch, by the index of the entry they go before. */
    const newInterfaces = new Map<number, Uint8Array>();
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const channel = entry.channel ?? this.options.interfaceName;
      let id = this.interfaces.get(channel);
      if (id === undefined) {
        id = this.interfaces.size;
        this.interfaces.set(channel, id);
        // Another channel (of an opened recording): its role is not this capture's.
        const { role: _role, ...others } = this.options;
        const idb = interfaceDescription({ ...others, interfaceName: channel, interfaceDescription: `sipc channel ${channel}` });
        newInterfaces.set(i, idb);
        total += idb.length;
      }
      const packet = packetParts(entry);
      parts.push(packet);
      ids.push(id);
      total += 12 + packet.bodyLength;
    }
    const w = new BlockWriter(new Uint8Array(total));
    for (let i = 0; i < entries.length; i++) {
      const idb = newInterfaces.get(i);
      if (idb) w.raw(idb);
      writePacket(w, entries[i], parts[i], ids[i]);
    }
    return w.bytes;
  }
}

/** The file as a list of chunks (write them in order), so large captures are never copied into one buffer. */
export function* pcapngChunks(entries: Iterable<CaptureEntry>, options: PcapngOptions): Generator<Uint8Array> {
  const encoder = new PcapngEncoder(options);
  yield* encoder.start();
  for (const entry of entries) yield* encoder.entry(entry);
}

export function concatChunks(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of list) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
