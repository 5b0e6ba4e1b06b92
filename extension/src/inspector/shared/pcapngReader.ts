// pcapng reader for the layout pcapng.ts writes (and `sipc record`, and other tools' captures): fed the chunks of a
// file as they are read, it hands back the entries. Both byte orders, any if_tsresol and if_tsoffset, several
// sections and interfaces; every length is checked before it is used, and a damaged file is a CaptureFormatError
// naming the byte offset. Pure.
import { decodeUtf8 } from './bytes';
import { channelDirection, isCaptureRole, isWindowDirection, type CaptureEntry, type CaptureRole, type Direction } from './model';
import {
  BLOCK_EPB, BLOCK_IDB, BLOCK_SHB, BLOCK_SPB, BYTE_ORDER_MAGIC, BYTE_ORDER_MAGIC_SWAPPED, EPB_FLAGS, EPB_FLAG_OUTBOUND, IF_NAME,
  IF_TSOFFSET, IF_TSRESOL, OPT_COMMENT, OPT_END, PCAPNG_EVENT_PREFIX, PCAPNG_MAX_BLOCK, PCAPNG_ROLE_PREFIX, SHB_USERAPPL, pad4, type Option,
} from './pcapng';

/** A model timestamp (milliseconds, microsecond resolution) from nanoseconds since the epoch. */
export function timestampMsOf(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

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
  /** The side the channel was recorded from (its "sipc role: …" comment); undefined when the file does not say. */
  readonly role: CaptureRole | undefined;
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
 * CaptureFormatError naming the byte offset of the first damaged block; the entries of the same chunk before it are
 * then in the array push() was given.
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
  /** The role each channel was recorded from, as its interface names it. */
  readonly roles = new Map<string, CaptureRole>();
  application: string | undefined;

  /** Appends the entries of the blocks that `chunk` completes to `entries`, and returns it. */
  push(chunk: Uint8Array, entries: CaptureEntry[] = []): CaptureEntry[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
    }
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
        // Only at offset 0: the first block is a section header, which either counts or throws.
        throw new CaptureFormatError('the file does not start with a pcapng section header');
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
      let role: CaptureRole | undefined;
      for (const o of this.options(body, 8)) {
        if (o.code === IF_NAME && o.value.length > 0) name = decodeUtf8(o.value);
        else if (o.code === OPT_COMMENT) {
          const comment = decodeUtf8(o.value);
          const named = comment.startsWith(PCAPNG_ROLE_PREFIX) ? comment.slice(PCAPNG_ROLE_PREFIX.length) : undefined;
          if (isCaptureRole(named)) role = named;
        }
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
      this.interfaces.push({ name, unitsPerSecond, offsetSeconds, role });
      if (!this.channels.includes(name)) this.channels.push(name);
      if (role) this.roles.set(name, role);
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
    const seen = directionOf(flags, comment ?? '');
    // A connection panel's sent/received, placed in the channel's direction by its window's role when the file names it.
    const direction = isWindowDirection(seen) && (iface.role === 'server' || iface.role === 'client') ? channelDirection(seen, iface.role) : seen;
    return { kind: 'message', seq: 0, direction, timestamp, length: Math.max(original, captured), data, channel };
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
