// A capture file in either format, as a stream of bytes: the encoder turns entries into the chunks to write (the
// host's file writer streams them to disk, for exports, Record to File… and the restore spill), the decoder turns the
// chunks of a file back into entries (Open Capture…). Pure: no file system here.
import { encodeUtf8 } from './bytes';
import { JsonlParseError, JsonlReader, jsonlEntryLine, jsonlHeaderLine } from './jsonl';
import { channelDirection, isWindowDirection, type CaptureEntry, type CaptureRole } from './model';
import { PcapngEncoder, concatChunks } from './pcapng';
import { CaptureFormatError, PcapngReader } from './pcapngReader';
import type { ExportFormat } from './protocol';

export type CaptureFormat = ExportFormat;

export interface CaptureFileMeta {
  /** The capture's own channel: the pcapng's first interface, the JSON Lines header's channel. */
  readonly channel: string;
  /** 'peer', 'observer' or 'file': what the panel was. */
  readonly mode: string;
  readonly application?: string;
  /**
   * The side the capture is taken from, written into the file (pcapng: the first interface's "sipc role: …" comment;
   * JSON Lines: the header's `role`). A function for a connection panel, whose window may connect, or reconnect in the
   * other role, while a recording runs: it is asked at the start for the file's role and for each sent/received entry,
   * which is written in the channel's direction (client→server / server→client), as `sipc record` writes it, so that
   * `sipc replay`, Wireshark and Open Capture… read it the same whichever side the window was. Absent (or undefined
   * when asked): entries are written as they are; only the restore spill does that on purpose, since the same panel
   * reads it back.
   */
  readonly role?: CaptureRole | (() => CaptureRole | undefined);
}

/** The format a file name suggests: .jsonl/.json/.ndjson are JSON Lines, anything else pcapng. */
export function formatOfFileName(name: string): CaptureFormat {
  return /\.(jsonl|ndjson|json)$/i.test(name) ? 'jsonl' : 'pcapng';
}

export class CaptureEncoder {
  private pcapng: PcapngEncoder | undefined;

  constructor(readonly format: CaptureFormat, private readonly meta: CaptureFileMeta) {}

  /** What the file starts with. */
  start(now = Date.now()): Uint8Array[] {
    const role = this.role();
    if (this.format === 'pcapng') {
      this.pcapng = new PcapngEncoder({ interfaceName: this.meta.channel, interfaceDescription: `sipc channel (${this.meta.mode})`,
        application: this.meta.application ?? 'sipc inspector', ...(role ? { role } : {}) });
      return this.pcapng.start();
    }
    return [encodeUtf8(`${jsonlHeaderLine({ channel: this.meta.channel, mode: this.meta.mode, exported: now, application: this.meta.application,
      ...(role ? { role } : {}) })}\n`)];
  }

  /** One entry's chunks (after start()). */
  entry(entry: CaptureEntry): Uint8Array[] {
    const placed = this.placed(entry);
    if (this.format === 'pcapng') {
      if (!this.pcapng) throw new Error('CaptureEncoder.entry() before start()');
      return this.pcapng.entry(placed);
    }
    return [encodeUtf8(`${jsonlEntryLine(placed, this.meta.channel)}\n`)];
  }

  /** Many entries' bytes at once (after start()): for pcapng one buffer, without a buffer per entry. */
  entries(entries: readonly CaptureEntry[]): Uint8Array {
    if (this.format === 'pcapng') {
      if (!this.pcapng) throw new Error('CaptureEncoder.entries() before start()');
      return this.pcapng.entries(entries.map((entry) => this.placed(entry)));
    }
    return encodeUtf8(entries.map((entry) => `${jsonlEntryLine(this.placed(entry), this.meta.channel)}\n`).join(''));
  }

  private role(): CaptureRole | undefined {
    return typeof this.meta.role === 'function' ? this.meta.role() : this.meta.role;
  }

  /** A sent/received row of the capture's own channel in the channel's direction, when the window's role is known. */
  private placed(entry: CaptureEntry): CaptureEntry {
    if (entry.kind !== 'message' || entry.channel !== undefined || !isWindowDirection(entry.direction) || this.meta.role === undefined) return entry;
    const role = this.role();
    return role === 'server' || role === 'client' ? { ...entry, direction: channelDirection(entry.direction, role) } : entry;
  }
}

/** The longest JSON Lines line read (a 64 MiB message is about 90 MiB of base64, plus its text). */
export const MAX_JSONL_LINE_CHARS = 256 * 1024 * 1024;

/**
 * Reads a capture file as its chunks arrive. The format is told by the first bytes (a pcapng section header, or a
 * JSON object). Errors are CaptureFormatError / JsonlParseError (code INVALID_CAPTURE) saying where; every entry
 * before the damage is handed out first (the error comes with the next push() or end()).
 */
export class CaptureDecoder {
  private format: CaptureFormat | undefined;
  private pcapng: PcapngReader | undefined;
  private jsonl: JsonlReader | undefined;
  private readonly text = new TextDecoder('utf-8');
  private partialLine = '';
  /** The first bytes, while fewer than four arrived. */
  private head: Uint8Array | undefined;
  /** The damage found after entries that were handed out with it kept back (see upToDamage). */
  private damage: { readonly error: unknown } | undefined;

  /** maxLineChars: the longest JSON Lines line taken (a test gives a small one). */
  constructor(private readonly maxLineChars = MAX_JSONL_LINE_CHARS) {}

  /** The detected format (after the first chunk). */
  get detectedFormat(): CaptureFormat | undefined { return this.format; }

  /** The capture's own channel (the first named), once known. */
  get channel(): string | undefined { return this.channels[0]; }

  /**
   * The side the file says its own channel was recorded from (undefined: it does not say, e.g. a connection panel's
   * file of an earlier version, whose sent/received rows are that window's view). Its sent/received rows come back
   * in the channel's directions when it names a server or client.
   */
  get role(): CaptureRole | undefined {
    const channel = this.channel;
    return this.pcapng ? (channel === undefined ? undefined : this.pcapng.roles.get(channel)) : this.jsonl?.header?.role;
  }

  /** The channels the file named so far. */
  get channels(): readonly string[] {
    return this.pcapng?.channels ?? this.jsonl?.channels ?? [];
  }

  push(chunk: Uint8Array): CaptureEntry[] {
    this.throwDamage();
    if (chunk.length === 0) return [];
    if (this.format === undefined) {
      // The format is told by the first four bytes: gather them first.
      this.head = this.head ? concatChunks([this.head, chunk]) : chunk;
      if (this.head.length < 4) return [];
      chunk = this.head;
      this.head = undefined;
      this.detect(chunk);
    }
    const pcapng = this.pcapng;
    if (pcapng) return this.mainChannelless(this.upToDamage((entries) => pcapng.push(chunk, entries)));
    return this.lines(this.text.decode(chunk, { stream: true }));
  }

  /** The file ended; throws if it ended inside a block or has no header. */
  end(): CaptureEntry[] {
    this.throwDamage();
    if (this.format === undefined && this.head) {
      const head = this.head;
      this.head = undefined;
      this.detect(head);
      const entries = this.push(head);
      return [...entries, ...this.end()];
    }
    if (this.format === undefined) throw new CaptureFormatError('the file is empty');
    if (this.pcapng) {
      this.pcapng.end();
      return [];
    }
    const entries = this.lines(`${this.text.decode()}\n`);
    this.jsonl?.end();
    return entries;
  }

  private detect(chunk: Uint8Array): void {
    const first = chunk[0];
    if (chunk.length >= 4 && new DataView(chunk.buffer, chunk.byteOffset, 4).getUint32(0, true) === 0x0a0d0d0a) {
      this.format = 'pcapng';
      this.pcapng = new PcapngReader();
    } else if (first === 0x7b /* { */ || first === 0xef /* a UTF-8 byte-order mark */) {
      this.format = 'jsonl';
      this.jsonl = new JsonlReader();
    } else if (chunk.length >= 4 && [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(new DataView(chunk.buffer, chunk.byteOffset, 4).getUint32(0, false))) {
      throw new CaptureFormatError('this is a classic pcap file, not pcapng: convert it with `editcap -F pcapng IN OUT`');
    } else {
      throw new CaptureFormatError('this is neither pcapng nor JSON Lines (unknown first bytes)');
    }
  }

  /** pcapng entries of the first interface's channel carry no channel (as in a live panel). */
  private mainChannelless(entries: CaptureEntry[]): CaptureEntry[] {
    const main = this.channel;
    return entries.map((e) => (e.channel === main ? withoutChannel(e) : e));
  }

  private lines(text: string): CaptureEntry[] {
    const jsonl = this.jsonl;
    if (!jsonl) return [];
    const parts = (this.partialLine + text).split('\n');
    this.partialLine = parts.pop() ?? '';
    return this.upToDamage((entries) => {
      for (const raw of parts) {
        const entry = jsonl.line(raw); // (the TextDecoder drops a byte-order mark)
        if (entry) entries.push(entry);
      }
      if (this.partialLine.length > this.maxLineChars) {
        throw new JsonlParseError(`longer than ${this.maxLineChars} characters (is this a sipc capture?)`, jsonl.linesRead + 1);
      }
    });
  }

  /**
   * The entries `read` appends before it throws: a damage found after some entries is kept and thrown by the next
   * push() or end(), so that the entries before it reach the caller (a chunk of a file is a megabyte of entries).
   */
  private upToDamage(read: (entries: CaptureEntry[]) => void): CaptureEntry[] {
    const entries: CaptureEntry[] = [];
    try {
      read(entries);
    } catch (error) {
      if (entries.length === 0) throw error;
      this.damage = { error };
    }
    return entries;
  }

  private throwDamage(): void {
    if (this.damage) throw this.damage.error;
  }
}

function withoutChannel(entry: CaptureEntry): CaptureEntry {
  const { channel: _channel, ...rest } = entry;
  return rest;
}
