// pcapng writer: one Section Header, one Interface (LINKTYPE_USER0 by default, since sipc messages have no
// registered link type), one Enhanced Packet Block per message with its direction in epb_flags and as a
// comment. Events (dead peer, reconnect) are not packets and are left out. Layout per the pcapng spec
// (draft-ietf-opsawg-pcapng), little-endian, microsecond timestamps (the default if_tsresol).
import { encodeUtf8 } from './bytes';
import { directionLabel, isOutbound, type CaptureEntry } from './model';

export const LINKTYPE_USER0 = 147;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const EPB_FLAGS = 2;
const EPB_FLAG_INBOUND = 1;
const EPB_FLAG_OUTBOUND = 2;

export interface PcapngOptions {
  /** Channel name, written as the interface name. */
  readonly interfaceName: string;
  readonly interfaceDescription?: string;
  readonly linkType?: number;
  readonly application?: string;
}

const pad4 = (n: number): number => (n + 3) & ~3;

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
  const options: Option[] = [{ code: SHB_USERAPPL, value: utf8(application) }];
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
  const opts: Option[] = [{ code: IF_NAME, value: utf8(options.interfaceName) }];
  if (options.interfaceDescription) opts.push({ code: IF_DESCRIPTION, value: utf8(options.interfaceDescription) });
  return block(BLOCK_IDB, 8 + optionsLength(opts), (w) => {
    w.u16(options.linkType ?? LINKTYPE_USER0);
    w.u16(0);
    w.u32(0); // snaplen: no limit
    w.options(opts);
  });
}

export function enhancedPacket(entry: CaptureEntry & { kind: 'message' }): Uint8Array {
  const micros = Math.round(entry.timestamp * 1000);
  const flags = new Uint8Array(4);
  new DataView(flags.buffer).setUint32(0, isOutbound(entry.direction) ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND, true);
  const options: Option[] = [
    { code: EPB_FLAGS, value: flags },
    { code: OPT_COMMENT, value: utf8(directionLabel(entry.direction)) },
  ];
  const data = entry.data;
  return block(BLOCK_EPB, 20 + pad4(data.length) + optionsLength(options), (w) => {
    w.u32(0); // interface id
    w.u32(Math.floor(micros / 0x100000000));
    w.u32(micros % 0x100000000);
    w.u32(data.length);
    w.u32(Math.max(entry.length, data.length));
    w.raw(data);
    w.options(options);
  });
}

/** The file as a list of chunks (write them in order), so large captures are never copied into one buffer. */
export function* pcapngChunks(entries: Iterable<CaptureEntry>, options: PcapngOptions): Generator<Uint8Array> {
  yield sectionHeader(options.application ?? 'sipc inspector');
  yield interfaceDescription(options);
  for (const entry of entries) if (entry.kind === 'message') yield enhancedPacket(entry);
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
