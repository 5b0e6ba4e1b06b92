// pcapng writer and reader, in the layout `sipc record` writes (helper/cli/capture.h is the reference):
//   - one Section Header Block (shb_userappl);
//   - one Interface Description Block per channel: LINKTYPE_USER0 (sipc messages have no registered link type),
//     snaplen 0, if_name = the channel, if_tsresol = 9 (timestamps in nanoseconds since the Unix epoch);
//   - one Enhanced Packet Block per message: the payload, epb_flags direction (2 outbound: sent / client→server,
//     1 inbound: received / server→client) and an opt_comment naming the direction;
//   - an event is an Enhanced Packet Block with no payload, epb_flags direction 0 ("not available") and the comment
//     "sipc event <name>: <detail>"; readers tell it from an empty message by that direction.
// Little-endian on write; the reader takes both byte orders, any if_tsresol and if_tsoffset, several sections.
// Pure: the writer returns blocks (the host streams them to a file), the reader is fed chunks as a file is read.
import { decodeUtf8, encodeUtf8 } from './bytes';
import { directionLabel, isOutbound, type CaptureEntry, type Direction } from './model';

export const LINKTYPE_USER0 = 147;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_EPB = 0x00000006;
const BLOCK_SPB = 0x00000003;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const EPB_FLAGS = 2;
const EPB_FLAG_INBOUND = 1;
const EPB_FLAG_OUTBOUND = 2;
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
}

/** n rounded up to a multiple of 4 (arithmetic, not bitwise: lengths read from a file may exceed 31 bits). */
const pad4 = (n: number): number => n + ((4 - (n % 4)) % 4);

interface Option { readonly code: number; readonly value: Uint8Array }

function optionsLength(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  return options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
}

class BlockWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
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

/** An option's text, cut to what the 16-bit option length can hold (at a character boundary). */
function textOption(code: number, text: string): Option {
  let value = utf8(text);
  if (value.length > 0xffff) value = utf8(decodeUtf8(value.subarray(0, 0xfff0)).replace(/\uFFFD+$/, ''));
  return { code, value };
}

function block(type: number, bodyLength: number, fill: (w: BlockWriter) => void): Uint8Array {
  const total = 12 + bodyLength;
  const w = new BlockWriter(total);
  w.u32(type);
  w.u32(total);
  fill(w);
  if (w.position !== total - 4) throw new Error(`pcapng block ${type} body is ${w.position - 8} bytes, expected ${bodyLength}`);
  w.u32(total);
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

/** A model timestamp (milliseconds, microsecond resolution) from nanoseconds since the epoch. */
export function timestampMsOf(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
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

/** The Enhanced Packet Block of one entry on interface `interfaceId`: a message, or an event (no payload, direction 0). */
export function enhancedPacket(entry: CaptureEntry, interfaceId = 0): Uint8Array {
  const [high, low] = timestampWords(entry.timestamp);
  const data = entry.kind === 'message' ? entry.data : EMPTY;
  const options = entry.kind === 'message' ? directionOptions(entry.direction)
    : [{ code: EPB_FLAGS, value: new Uint8Array(4) }, textOption(OPT_COMMENT, `${PCAPNG_EVENT_PREFIX}${entry.event}: ${entry.detail}`)];
  const original = entry.kind === 'message' ? Math.max(entry.length, data.length) : 0;
  return block(BLOCK_EPB, 20 + pad4(data.length) + optionsLength(options), (w) => {
    w.u32(interfaceId);
    w.u32(high);
    w.u32(low);
    w.u32(data.length);
    w.u32(original);
    w.raw(data);
    w.options(options);
  });
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
    const channel = entry.channel ?? this.options.interfaceName;
    let id = this.interfaces.get(channel);
    const blocks: Uint8Array[] = [];
    if (id === undefined) {
      id = this.interfaces.size;
      this.interfaces.set(channel, id);
      blocks.push(interfaceDescription({ ...this.options, interfaceName: channel, interfaceDescription: `sipc channel ${channel}` }));
    }
    blocks.push(enhancedPacket(entry, id));
    return blocks;
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

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** A damaged or foreign file; the message names where (a byte offset or a line). */
export class CaptureFormatError extends Error {
  readonly code = 'INVALID_CAPTURE';
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFormatError';
  }
}

interface InterfaceInfo {
  readonly name: string;
  /** Timestamp units per second, as a BigInt: 10^n or 2^n. */
  readonly unitsPerSecond: bigint;
  readonly offsetSeconds: bigint;
}

/** Which of the model's directions a packet is: its comment names it when the inspector or sipc wrote it, else its flags. */
function directionOf(flags: number, comment: string): Direction {
  if (comment === 'sent' || comment.startsWith('sent,')) return 'sent';
  if (comment === 'received' || comment.startsWith('received,')) return 'received';
  if (comment.startsWith('client→server')) return 'to-server';
  if (comment.startsWith('server→client')) return 'to-client';
  return (flags & 3) === EPB_FLAG_OUTBOUND ? 'to-server' : 'to-client';
}

/**
 * Reads pcapng as it arrives: push() each chunk of the file in order, end() at its end. Entries come back with
 * `channel` set to their interface's name; the caller drops it when the file has a single channel. Throws
 * CaptureFormatError naming the byte offset of the first damaged block.
 */
export class PcapngReader {
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  /** File offset of the first pending byte. */
  private offset = 0;
  private littleEndian = true;
  private sectionSeen = false;
  private interfaces: InterfaceInfo[] = [];
  /** Every channel named by an interface, in order of first appearance. */
  readonly channels: string[] = [];
  application: string | undefined;

  push(chunk: Uint8Array): CaptureEntry[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
    }
    const entries: CaptureEntry[] = [];
    for (;;) {
      if (this.pendingLength < 12) break;
      const head = this.peek(12);
      const view = new DataView(head.buffer, head.byteOffset, 12);
      // The section header's type reads the same in both byte orders; every other block's is in the section's.
      const type = view.getUint32(0, this.littleEndian);
      if (type === BLOCK_SHB) {
        const magic = view.getUint32(8, true);
        if (magic !== BYTE_ORDER_MAGIC && magic !== BYTE_ORDER_MAGIC_SWAPPED) {
          throw new CaptureFormatError(`the section header at offset ${this.offset} has no valid byte-order magic`);
        }
        this.littleEndian = magic === BYTE_ORDER_MAGIC;
      } else if (!this.sectionSeen) {
        throw new CaptureFormatError(this.offset === 0 ? 'the file does not start with a pcapng section header' : `the block at offset ${this.offset} comes before any section header`);
      }
      const total = view.getUint32(4, this.littleEndian);
      if (total < 12 || total % 4 !== 0 || (type === BLOCK_SHB && total < 28)) {
        throw new CaptureFormatError(`the block at offset ${this.offset} has an invalid length ${total}`);
      }
      if (total > PCAPNG_MAX_BLOCK) {
        throw new CaptureFormatError(`the block at offset ${this.offset} claims ${total} bytes (more than the ${PCAPNG_MAX_BLOCK} a recording can hold)`);
      }
      if (this.pendingLength < total) break;
      const bytes = this.take(total);
      const blockView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (blockView.getUint32(total - 4, this.littleEndian) !== total) {
        throw new CaptureFormatError(`the block at offset ${this.offset} ends with a length that differs from its start`);
      }
      const entry = this.block(type, bytes);
      if (entry) entries.push(entry);
      this.offset += total;
    }
    return entries;
  }

  /** The file ended: throws when it ended inside a block (a truncated recording). */
  end(): void {
    if (this.pendingLength > 0) {
      throw new CaptureFormatError(`the file ends inside the block at offset ${this.offset} (truncated recording?)`);
    }
    if (!this.sectionSeen) throw new CaptureFormatError('the file is empty');
  }

  private block(type: number, bytes: Uint8Array): CaptureEntry | undefined {
    const body = bytes.subarray(8, bytes.length - 4);
    const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (type === BLOCK_SHB) {
      const major = bodyView.getUint16(4, this.littleEndian);
      if (major !== 1) throw new CaptureFormatError(`the section at offset ${this.offset} has pcapng major version ${major} (only 1 is known)`);
      this.sectionSeen = true;
      this.interfaces = []; // a new section has its own interfaces
      for (const o of this.options(body, 16)) if (o.code === SHB_USERAPPL) this.application = decodeUtf8(o.value);
      return undefined;
    }
    if (type === BLOCK_IDB) {
      if (body.length < 8) throw new CaptureFormatError(`the interface block at offset ${this.offset} is too short`);
      let name = `interface ${this.interfaces.length}`;
      let unitsPerSecond = 1_000_000n;
      let offsetSeconds = 0n;
      for (const o of this.options(body, 8)) {
        if (o.code === IF_NAME && o.value.length > 0) name = decodeUtf8(o.value);
        else if (o.code === IF_TSRESOL) {
          if (o.value.length !== 1) throw new CaptureFormatError(`the interface block at offset ${this.offset} has a malformed if_tsresol`);
          const exponent = o.value[0] & 0x7f;
          const binary = (o.value[0] & 0x80) !== 0;
          if (binary ? exponent > 63 : exponent > 19) throw new CaptureFormatError(`the interface block at offset ${this.offset} has an unusable if_tsresol`);
          unitsPerSecond = binary ? 1n << BigInt(exponent) : 10n ** BigInt(exponent);
        } else if (o.code === IF_TSOFFSET) {
          if (o.value.length !== 8) throw new CaptureFormatError(`the interface block at offset ${this.offset} has a malformed if_tsoffset`);
          offsetSeconds = new DataView(o.value.buffer, o.value.byteOffset, 8).getBigInt64(0, this.littleEndian);
        }
      }
      this.interfaces.push({ name, unitsPerSecond, offsetSeconds });
      if (!this.channels.includes(name)) this.channels.push(name);
      return undefined;
    }
    if (type === BLOCK_EPB) return this.packet(body, bodyView);
    if (type === BLOCK_SPB) {
      // A Simple Packet Block has no timestamp, flags or interface choice: a message of interface 0 at time 0.
      if (body.length < 4 || this.interfaces.length === 0) throw new CaptureFormatError(`the simple packet block at offset ${this.offset} is malformed`);
      const original = bodyView.getUint32(0, this.littleEndian);
      const data = new Uint8Array(body.subarray(4, 4 + Math.min(original, body.length - 4)));
      return { kind: 'message', seq: 0, direction: 'received', timestamp: 0, length: Math.max(original, data.length), data, channel: this.interfaces[0].name };
    }
    return undefined; // statistics, name resolution, custom blocks: nothing the inspector shows
  }

  private packet(body: Uint8Array, view: DataView): CaptureEntry {
    if (body.length < 20) throw new CaptureFormatError(`the packet block at offset ${this.offset} is too short`);
    const interfaceId = view.getUint32(0, this.littleEndian);
    const iface = this.interfaces[interfaceId];
    if (!iface) {
      throw new CaptureFormatError(`the packet block at offset ${this.offset} names interface ${interfaceId}, but the section has ${this.interfaces.length}`);
    }
    const units = (BigInt(view.getUint32(4, this.littleEndian)) << 32n) | BigInt(view.getUint32(8, this.littleEndian));
    const captured = view.getUint32(12, this.littleEndian);
    const original = view.getUint32(16, this.littleEndian);
    if (pad4(captured) > body.length - 20) {
      throw new CaptureFormatError(`the packet block at offset ${this.offset} claims ${captured} captured bytes but holds at most ${body.length - 20}`);
    }
    let flags = 0;
    let comment: string | undefined;
    for (const o of this.options(body, 20 + pad4(captured))) {
      if (o.code === EPB_FLAGS) {
        if (o.value.length !== 4) throw new CaptureFormatError(`the packet block at offset ${this.offset} has malformed flags`);
        flags = new DataView(o.value.buffer, o.value.byteOffset, 4).getUint32(0, this.littleEndian);
      } else if (o.code === OPT_COMMENT && comment === undefined) {
        comment = decodeUtf8(o.value);
      }
    }
    const ns = (units * 1_000_000_000n) / iface.unitsPerSecond + iface.offsetSeconds * 1_000_000_000n;
    const timestamp = timestampMsOf(ns);
    const channel = iface.name;
    if ((flags & 3) === 0 && captured === 0 && comment !== undefined && comment.startsWith(PCAPNG_EVENT_PREFIX)) {
      const rest = comment.slice(PCAPNG_EVENT_PREFIX.length);
      const colon = rest.indexOf(':');
      const event = colon < 0 ? rest : rest.slice(0, colon);
      const detail = colon < 0 ? '' : rest.slice(colon + 1).trimStart();
      return { kind: 'event', seq: 0, timestamp, event, detail, channel };
    }
    // A copy: a retained message must not pin the chunk of the file it was read from.
    const data = new Uint8Array(body.subarray(20, 20 + captured));
    return { kind: 'message', seq: 0, direction: directionOf(flags, comment ?? ''), timestamp, length: Math.max(original, captured), data, channel };
  }

  /** A block's options from `start` within its body; throws when one runs past the block. */
  private options(body: Uint8Array, start: number): Option[] {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const found: Option[] = [];
    for (let at = start; at + 4 <= body.length;) {
      const code = view.getUint16(at, this.littleEndian);
      const length = view.getUint16(at + 2, this.littleEndian);
      at += 4;
      if (code === OPT_END) break;
      if (pad4(length) > body.length - at) throw new CaptureFormatError(`option ${code} of the block at offset ${this.offset} runs past the block's end`);
      found.push({ code, value: body.subarray(at, at + length) });
      at += pad4(length);
    }
    return found;
  }

  /** The first n pending bytes (copied only when they span chunks). */
  private peek(n: number): Uint8Array {
    const first = this.pending[0];
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let filled = 0;
    for (const chunk of this.pending) {
      const part = chunk.subarray(0, Math.min(chunk.length, n - filled));
      out.set(part, filled);
      filled += part.length;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first n pending bytes. */
  private take(n: number): Uint8Array {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const first = this.pending[0];
      if (first.length <= left) {
        this.pending.shift();
        left -= first.length;
      } else {
        this.pending[0] = first.subarray(left);
        left = 0;
      }
    }
    this.pendingLength -= n;
    return out;
  }
}
