// Byte formatting and parsing used by both the extension host and the webview: hex, base64, UTF-8 with
// invalid bytes made visible, hex dumps, previews and substring search. Pure: runs in Node and in a browser.

export type InputErrorCode = 'INVALID_HEX' | 'INVALID_BASE64' | 'INVALID_FORMAT';

/** Bad user input (send box, hex filter): carries a stable code and the offending position for the message. */
export class InspectorInputError extends Error {
  constructor(readonly code: InputErrorCode, message: string, readonly position?: number) {
    super(message);
    this.name = 'InspectorInputError';
  }
}

const HEX_DIGITS = '0123456789abcdef';
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15]);

export function byteHex(byte: number): string {
  return BYTE_HEX[byte & 255];
}

export function toHex(bytes: Uint8Array, separator = ' '): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = BYTE_HEX[bytes[i]];
  return parts.join(separator);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Parses hex as people type it: "48 65 6c", "48656c", "0x48,0x65", "48:65". Pairs may be separated by
 * whitespace, commas, colons or dashes; a "0x" prefix per byte is allowed. Odd digit counts are refused
 * rather than guessed.
 */
export function parseHex(input: string): Uint8Array {
  const out: number[] = [];
  let pending = -1;
  let pendingAt = 0;
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    if (code === 48 && (input[i + 1] === 'x' || input[i + 1] === 'X') && pending < 0) {
      i++;
      continue;
    }
    const value = hexValue(code);
    if (value >= 0) {
      if (pending < 0) {
        pending = value;
        pendingAt = i;
      } else {
        out.push((pending << 4) | value);
        pending = -1;
      }
      continue;
    }
    if (code === 32 || code === 9 || code === 10 || code === 13 || code === 44 || code === 58 || code === 45) {
      if (pending >= 0) throw new InspectorInputError('INVALID_HEX', `odd hex digit at position ${pendingAt + 1}: bytes need two digits`, pendingAt);
      continue;
    }
    throw new InspectorInputError('INVALID_HEX', `'${input[i]}' at position ${i + 1} is not a hex digit`, i);
  }
  if (pending >= 0) throw new InspectorInputError('INVALID_HEX', `odd hex digit at position ${pendingAt + 1}: bytes need two digits`, pendingAt);
  return Uint8Array.from(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;
B64_VALUE['-'.charCodeAt(0)] = 62; // base64url is accepted on input
B64_VALUE['_'.charCodeAt(0)] = 63;

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >> 18] + B64[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + '=';
  }
  return out;
}

/** Strict base64 (standard or url alphabet, whitespace ignored, padding optional but never misplaced). */
export function fromBase64(input: string): Uint8Array {
  const values: number[] = [];
  let padding = 0;
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    if (code === 32 || code === 9 || code === 10 || code === 13) continue;
    if (code === 61) {
      padding++;
      continue;
    }
    const value = code < 128 ? B64_VALUE[code] : -1;
    if (value < 0 || padding > 0) {
      throw new InspectorInputError('INVALID_BASE64', `'${input[i]}' at position ${i + 1} is not valid base64 here`, i);
    }
    values.push(value);
  }
  if (values.length % 4 === 1 || padding > 2 || (padding > 0 && (values.length + padding) % 4 !== 0)) {
    throw new InspectorInputError('INVALID_BASE64', 'base64 input has a wrong length or padding');
  }
  const out = new Uint8Array(Math.floor((values.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < values.length; i += 4) {
    const n = (values[i] << 18) | (values[i + 1] << 12) | ((values[i + 2] ?? 0) << 6) | (values[i + 3] ?? 0);
    out[o++] = n >> 16;
    if (i + 2 < values.length) out[o++] = (n >> 8) & 255;
    if (i + 3 < values.length) out[o++] = n & 255;
  }
  return out;
}

// One of each for the module: constructing a decoder per message costs more than decoding a short one.
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8');

export function encodeUtf8(text: string): Uint8Array {
  return UTF8_ENCODER.encode(text);
}

/** UTF-8 to a string, invalid sequences replaced by U+FFFD (for display and copying, never for export). */
export function decodeUtf8(bytes: Uint8Array): string {
  return UTF8_DECODER.decode(bytes);
}

/** A piece of decoded text: valid characters, a byte that is not UTF-8, a control character, or a line ending. */
export interface TextSegment {
  readonly kind: 'text' | 'invalid' | 'control' | 'eol';
  readonly text: string;
  /** Offset of the segment's first byte in the message. */
  readonly offset: number;
}

/** Length of the valid UTF-8 sequence starting at i, or 0 if the byte there does not start one. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  let need: number;
  let min: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) { need = 1; min = 0x80; }
  else if (b0 >= 0xe0 && b0 <= 0xef) { need = 2; min = 0x800; }
  else if (b0 >= 0xf0 && b0 <= 0xf4) { need = 3; min = 0x10000; }
  else return 0;
  if (i + need >= bytes.length) return 0;
  let cp = b0 & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const b = bytes[i + k];
    if (b === undefined || (b & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
}

/**
 * Decodes UTF-8 keeping every byte accounted for: invalid bytes become `\xNN` segments, C0 controls become
 * their Unicode control pictures (U+2400 block), and with showLineEndings CR/LF are drawn as ␍/␊ before the
 * real line break. Tab stays a tab.
 */
export function decodeUtf8Visible(bytes: Uint8Array, showLineEndings: boolean): TextSegment[] {
  const segments: TextSegment[] = [];
  const decoder = UTF8_DECODER;
  let runStart = -1;
  const flushRun = (end: number): void => {
    if (runStart >= 0 && end > runStart) segments.push({ kind: 'text', text: decoder.decode(bytes.subarray(runStart, end)), offset: runStart });
    runStart = -1;
  };
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b === 0x0a || b === 0x0d) {
      flushRun(i);
      if (b === 0x0d && bytes[i + 1] === 0x0a) {
        segments.push({ kind: 'eol', text: showLineEndings ? '␍␊\n' : '\n', offset: i });
        i += 2;
      } else {
        segments.push({ kind: 'eol', text: showLineEndings ? (b === 0x0d ? '␍\n' : '␊\n') : '\n', offset: i });
        i += 1;
      }
      continue;
    }
    if ((b < 0x20 && b !== 0x09) || b === 0x7f) {
      flushRun(i);
      segments.push({ kind: 'control', text: b === 0x7f ? '␡' : String.fromCharCode(0x2400 + b), offset: i });
      i += 1;
      continue;
    }
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      flushRun(i);
      segments.push({ kind: 'invalid', text: `\\x${BYTE_HEX[b]}`, offset: i });
      i += 1;
      continue;
    }
    if (runStart < 0) runStart = i;
    i += n;
  }
  flushRun(bytes.length);
  return segments;
}

/** True if the whole buffer is valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length;) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

/** Pretty-printed JSON if the bytes are valid UTF-8 holding a JSON object or array, else undefined. */
export function prettyJson(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0 || bytes.length > 8 * 1024 * 1024 || !isValidUtf8(bytes)) return undefined;
  const text = UTF8_DECODER.decode(bytes).trim();
  if (!(text.startsWith('{') || text.startsWith('['))) return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}

export function asciiChar(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
}

/** Classic 16-byte-wide dump: `00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 0a              |Hello world.|`. */
export function hexDumpText(bytes: Uint8Array, width = 16): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += width) {
    const row = bytes.subarray(offset, Math.min(offset + width, bytes.length));
    let hex = '';
    let ascii = '';
    for (let k = 0; k < width; k++) {
      if (k > 0) hex += k === width / 2 ? '  ' : ' ';
      hex += k < row.length ? BYTE_HEX[row[k]] : '  ';
      if (k < row.length) ascii += asciiChar(row[k]);
    }
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex}  |${ascii}|`);
  }
  return lines.join('\n');
}

/**
 * One-line preview for the message list: text when the prefix is printable UTF-8 (line breaks as ↵), else
 * spaced hex. Never longer than maxChars characters plus an ellipsis.
 */
export function previewOf(bytes: Uint8Array, maxChars = 64): string {
  return preview(bytes, maxChars).text;
}

/** previewOf, saying whether the line is text or hex (the messages panel styles them apart). */
export function preview(bytes: Uint8Array, maxChars = 64): { readonly kind: 'text' | 'hex'; readonly text: string } {
  if (bytes.length === 0) return { kind: 'text', text: '' };
  const plain = plainAsciiPreview(bytes, maxChars);
  if (plain !== undefined) return { kind: 'text', text: plain };
  const prefix = bytes.subarray(0, Math.min(bytes.length, maxChars * 4));
  let printable = 0;
  for (const b of prefix) if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09 || b >= 0x80) printable++;
  const asText = printable === prefix.length && isValidUtf8Prefix(prefix, prefix.length < bytes.length);
  if (asText) {
    const text = UTF8_DECODER.decode(prefix).replace(/\r\n|\n|\r/g, '↵').replace(/\t/g, '→');
    const chars = Array.from(text);
    return { kind: 'text', text: chars.length > maxChars || prefix.length < bytes.length ? chars.slice(0, maxChars).join('') + '…' : text };
  }
  const shown = Math.min(bytes.length, Math.floor(maxChars / 3));
  return { kind: 'hex', text: toHex(bytes.subarray(0, shown)) + (shown < bytes.length ? ' …' : '') };
}

/**
 * The preview of a message whose first bytes are printable ASCII (no line endings, tabs or UTF-8), the common case
 * of a busy text channel, without decoding or splitting into characters; undefined for any other.
 */
function plainAsciiPreview(bytes: Uint8Array, maxChars: number): string | undefined {
  // The same bytes as preview() looks at to choose between text and hex.
  const looked = Math.min(bytes.length, maxChars * 4);
  for (let i = 0; i < looked; i++) if (bytes[i] < 0x20 || bytes[i] >= 0x7f) return undefined;
  const shown = Math.min(bytes.length, maxChars);
  const text = String.fromCharCode.apply(null, bytes.subarray(0, shown) as unknown as number[]);
  return shown < bytes.length ? `${text}…` : text;
}

/** Valid UTF-8 except possibly, when `cut`, a sequence cut off by the end of the prefix. */
function isValidUtf8Prefix(bytes: Uint8Array, cut: boolean): boolean {
  for (let i = 0; i < bytes.length;) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) return cut && isCutOffSequence(bytes, i);
    i += n;
  }
  return true;
}

/**
 * True if bytes[i..] is the start of a UTF-8 sequence that the end of `bytes` cut short and that later bytes could
 * still make valid. A whole sequence there is invalid (a surrogate `ed a0 80`, say), and so is one whose second byte
 * already rules out every valid end, as decodeUtf8Visible shows them: an overlong `e0 80`/`f0 80`, a surrogate's
 * `ed a0`, `f4 90` beyond U+10FFFF.
 */
function isCutOffSequence(bytes: Uint8Array, i: number): boolean {
  const b0 = bytes[i];
  const length = b0 >= 0xc2 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 && b0 <= 0xf4 ? 4 : 0;
  if (bytes.length - i >= length) return false;
  for (let k = i + 1; k < bytes.length; k++) if ((bytes[k] & 0xc0) !== 0x80) return false;
  // The second byte's range where it is narrower than any continuation byte's (RFC 3629's table).
  const b1 = bytes[i + 1];
  if (b1 === undefined) return true;
  if (b0 === 0xe0) return b1 >= 0xa0;
  if (b0 === 0xed) return b1 <= 0x9f;
  if (b0 === 0xf0) return b1 >= 0x90;
  if (b0 === 0xf4) return b1 <= 0x8f;
  return true;
}

/** Index of needle in haystack, or -1. An empty needle matches at 0. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return 0;
  const first = needle[0];
  const last = haystack.length - needle.length;
  let i = haystack.indexOf(first, from);
  while (i >= 0 && i <= last) {
    let k = 1;
    while (k < needle.length && haystack[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

/** ASCII-case-insensitive search; needle must already be lower-cased ASCII where it has letters. */
export function indexOfBytesIgnoreCase(haystack: Uint8Array, lowerNeedle: Uint8Array): number {
  if (lowerNeedle.length === 0) return 0;
  const last = haystack.length - lowerNeedle.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let k = 0; k < lowerNeedle.length; k++) {
      let b = haystack[i + k];
      if (b >= 65 && b <= 90) b += 32;
      if (b !== lowerNeedle[k]) continue outer;
    }
    return i;
  }
  return -1;
}
