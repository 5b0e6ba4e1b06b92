// Decodes a message's bytes with a laid-out C type into a field tree. Never throws on data: a message that does
// not fit is decoded as far as it goes and says why (too short, trailing bytes, a value that is not one of its
// enum's, a _Bool that is neither 0 nor 1, an unknown tag), so nothing is shown silently wrong.
import type { CType, Endian, FloatType, IntType, RecordType } from './types';

export type DecodeProblemCode = 'TOO_SHORT' | 'TRAILING_BYTES' | 'BAD_ENUM' | 'BAD_BOOL' | 'UNKNOWN_TAG' | 'BAD_ENCODING';

export interface DecodeProblem {
  readonly code: DecodeProblemCode;
  readonly message: string;
  /** The field it concerns ('' for the message as a whole). */
  readonly path: string;
}

export type FieldValue = number | bigint | string | boolean;

export interface DecodedField {
  /** "value", "[3]", or "" for the root. */
  readonly name: string;
  /** Dotted path as filters write it: "header.type", "values[3]", "point.x". */
  readonly path: string;
  readonly type: string;
  /** Offset from the start of the message and size in bytes (bit-fields: the bytes holding their bits). */
  readonly offset: number;
  readonly size: number;
  readonly bitOffset?: number;
  readonly bitWidth?: number;
  /** Scalars: the value (64-bit integers as bigint); char arrays: the text; enums: the number. */
  readonly value?: FieldValue;
  /** Enums: the name of the value, when it has one. */
  readonly enumName?: string;
  /** What a user reads: "42", "RED (1)", "\"hello\"", "0x7ffd…", "[4 items]". */
  readonly display: string;
  readonly children?: readonly DecodedField[];
  /** Set when this field's bytes are (partly) missing or its value is invalid. */
  readonly problem?: DecodeProblemCode;
  /** Formats decoded by a library (protobuf, MessagePack, CBOR, JSON): offset and size are not known. */
  readonly unlocated?: true;
}

export interface DecodedMessage {
  /** The type the message was decoded as (for a tagged union, the case chosen). */
  readonly type: string;
  readonly root: DecodedField;
  readonly problems: readonly DecodeProblem[];
}

/** Reads scalars from a message; every read is bounds-checked by the caller (fits()). */
class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fits(offset: number, size: number): boolean {
    return offset >= 0 && offset + size <= this.bytes.length;
  }
  int(offset: number, type: IntType, endian: Endian): bigint | number {
    const little = endian === 'little';
    switch (type.size) {
      case 1: return type.signed ? this.view.getInt8(offset) : this.view.getUint8(offset);
      case 2: return type.signed ? this.view.getInt16(offset, little) : this.view.getUint16(offset, little);
      case 4: return type.signed ? this.view.getInt32(offset, little) : this.view.getUint32(offset, little);
      case 8: return type.signed ? this.view.getBigInt64(offset, little) : this.view.getBigUint64(offset, little);
      default: {
        let v = 0n;
        for (let i = 0; i < type.size; i++) {
          const b = BigInt(this.bytes[offset + (little ? type.size - 1 - i : i)]);
          v = (v << 8n) | b;
        }
        return type.signed && v >= 1n << BigInt(type.size * 8 - 1) ? v - (1n << BigInt(type.size * 8)) : v;
      }
    }
  }
  /** Little-endian bit numbering: bit k of the record is bit k%8 of byte k/8 (System V on little-endian). */
  bits(offset: number, bitOffset: number, width: number, signed: boolean): bigint {
    let v = 0n;
    for (let i = width - 1; i >= 0; i--) {
      const bit = bitOffset + i;
      const byte = this.bytes[offset + (bit >> 3)];
      v = (v << 1n) | BigInt((byte >> (bit & 7)) & 1);
    }
    if (signed && width > 0 && (v >> BigInt(width - 1)) & 1n) v -= 1n << BigInt(width);
    return v;
  }
  float(offset: number, type: FloatType, endian: Endian): number | undefined {
    if (type.size === 4) return this.view.getFloat32(offset, endian === 'little');
    if (type.size === 8) return this.view.getFloat64(offset, endian === 'little');
    return undefined;
  }
}

/** Small integers as numbers (what filters and plots want); 64-bit ones stay exact as bigint. */
function normalInt(v: bigint | number, size: number): number | bigint {
  if (typeof v === 'number') return v;
  return size < 8 ? Number(v) : v;
}

export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A char array as C prints it with %s: up to the first NUL, bytes that are not printable ASCII escaped. */
export function charArrayText(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  let s = '';
  for (let i = 0; i < end; i++) {
    const b = bytes[i];
    if (b === 0x5c) s += '\\\\';
    else if (b === 0x22) s += '\\"';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** How many array children a node lists at most; the rest are summarised (the bytes are still in the hex view). */
export const MAX_ARRAY_CHILDREN = 4096;

class Decoder {
  readonly problems: DecodeProblem[] = [];
  constructor(
    private readonly reader: Reader,
    private readonly defaultEndian: Endian,
  ) {}

  private problem(code: DecodeProblemCode, path: string, message: string): DecodeProblemCode {
    this.problems.push({ code, path, message });
    return code;
  }

  private missing(name: string, path: string, type: CType, offset: number, size: number, extra: Partial<DecodedField> = {}): DecodedField {
    this.problem('TOO_SHORT', path, `${path || 'message'}: bytes ${offset}–${offset + size - 1} are missing`);
    return { name, path, type: type.name, offset, size, display: '(missing)', problem: 'TOO_SHORT', ...extra };
  }

  /** The last `absent` of an array's `length` elements (from byte `from` on) lie beyond the message. */
  private missingElements(path: string, from: number, absent: number, length: number, elementSize: number): void {
    this.problem('TOO_SHORT', path, `${path || 'message'}: bytes ${from}–${from + absent * elementSize - 1} are missing `
      + `(${absent} of its ${length} element${length === 1 ? '' : 's'})`);
  }

  field(name: string, path: string, type: CType, offset: number, endian: Endian, lengthOverride?: number): DecodedField {
    switch (type.kind) {
      case 'int': case 'enum': {
        const intType = type.kind === 'enum' ? type.base : type;
        if (!this.reader.fits(offset, type.size)) return this.missing(name, path, type, offset, type.size);
        const value = normalInt(this.reader.int(offset, intType, endian), type.size);
        return this.scalarInt(name, path, type, offset, type.size, value);
      }
      case 'float': {
        if (!this.reader.fits(offset, type.size)) return this.missing(name, path, type, offset, type.size);
        const value = this.reader.float(offset, type, endian);
        if (value === undefined) {
          return { name, path, type: type.name, offset, size: type.size, display: hex(this.reader.bytes.subarray(offset, offset + type.size)) };
        }
        return { name, path, type: type.name, offset, size: type.size, value, display: formatFloat(value) };
      }
      case 'pointer': {
        if (!this.reader.fits(offset, type.size)) return this.missing(name, path, type, offset, type.size);
        const v = this.reader.int(offset, { kind: 'int', name: 'uintptr_t', size: type.size, align: type.align, signed: false }, endian);
        const value = BigInt(v);
        return { name, path, type: type.name, offset, size: type.size, value, display: `0x${value.toString(16)}` };
      }
      case 'array': return this.array(name, path, type, offset, endian, lengthOverride);
      case 'struct': case 'union': return this.record(name, path, type, offset);
    }
  }

  private scalarInt(name: string, path: string, type: IntType | CType, offset: number, size: number, value: number | bigint,
    bits?: { bitOffset: number; bitWidth: number }): DecodedField {
    const base = { name, path, type: type.name, offset, size, value, ...(bits ?? {}) };
    if (type.kind === 'enum') {
      const enumName = type.names.get(BigInt(value));
      if (enumName === undefined) {
        const problem = this.problem('BAD_ENUM', path, `${path}: ${value} is not a value of ${type.name}`);
        return { ...base, display: `${value} (not in ${type.name})`, problem };
      }
      return { ...base, enumName, display: `${enumName} (${value})` };
    }
    if (type.kind === 'int' && type.bool) {
      if (value !== 0 && value !== 1) {
        const problem = this.problem('BAD_BOOL', path, `${path}: ${value} is not a valid _Bool (0 or 1)`);
        return { ...base, display: `${value} (not a bool)`, problem };
      }
      return { ...base, value: value === 1, display: value === 1 ? 'true' : 'false' };
    }
    return { ...base, display: String(value) };
  }

  private array(name: string, path: string, type: Extract<CType, { kind: 'array' }>, offset: number, endian: Endian,
    lengthOverride: number | undefined): DecodedField {
    const element = type.element;
    const length = lengthOverride ?? type.length ?? 0;
    const size = length * element.size;
    const typeName = type.length === undefined ? `${element.name}[${length}]` : type.name;
    if (element.kind === 'int' && element.char) {
      if (!this.reader.fits(offset, size)) return this.missing(name, path, type, offset, size, { type: typeName });
      const text = charArrayText(this.reader.bytes.subarray(offset, offset + size));
      return { name, path, type: typeName, offset, size, value: text, display: `"${text}"` };
    }
    // The elements that start beyond the message are one problem for the array, not one each (a large array in a
    // short message would list thousands); an element the message cuts in two reports its own missing parts.
    const present = element.size > 0 ? Math.min(length, Math.max(0, Math.ceil((this.reader.bytes.length - offset) / element.size))) : length;
    const absent = length - present;
    const absentFrom = offset + present * element.size;
    if (present === 0 && absent > 0) {
      this.missingElements(path, absentFrom, absent, length, element.size);
      return { name, path, type: typeName, offset, size, display: '(missing)', problem: 'TOO_SHORT' };
    }
    const children: DecodedField[] = [];
    const listed = Math.min(present, MAX_ARRAY_CHILDREN);
    for (let i = 0; i < listed; i++) {
      children.push(this.field(`[${i}]`, `${path}[${i}]`, element, offset + i * element.size, endian));
    }
    if (absent > 0) {
      this.missingElements(path, absentFrom, absent, length, element.size);
      if (present < MAX_ARRAY_CHILDREN) {
        children.push({
          name: `[${present}]–[${length - 1}]`, path: `${path}[${present}]`, type: `${element.name}[${absent}]`, offset: absentFrom,
          size: absent * element.size, display: `(missing: ${absent} element${absent === 1 ? '' : 's'})`, problem: 'TOO_SHORT',
        });
      }
    }
    const problem = absent > 0 || children.some((c) => c.problem === 'TOO_SHORT') ? 'TOO_SHORT' as const : undefined;
    const more = length > MAX_ARRAY_CHILDREN ? ` (first ${MAX_ARRAY_CHILDREN} listed)` : '';
    return {
      name, path, type: typeName, offset, size, children, display: `[${length} item${length === 1 ? '' : 's'}]${more}`,
      ...(problem ? { problem } : {}),
    };
  }

  record(name: string, path: string, type: RecordType, offset: number, messageLength?: number): DecodedField {
    const endian = type.endian ?? this.defaultEndian;
    const children: DecodedField[] = [];
    const join = (child: string) => (path ? `${path}.${child}` : child);
    const last = type.fields[type.fields.length - 1];
    for (const f of type.fields) {
      const at = offset + f.offset;
      if (f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union')) {
        // Anonymous member: its fields are the parent's (paths as C writes them), shown as one node.
        const inner = this.record('', path, f.type, at);
        children.push({ ...inner, name: `(anonymous ${f.type.kind})`, path: path });
        continue;
      }
      if (f.bitWidth !== undefined) {
        const bytes = Math.ceil(((f.bitOffset ?? 0) + f.bitWidth) / 8);
        if (!this.reader.fits(at, bytes)) { children.push(this.missing(f.name, join(f.name), f.type, at, bytes)); continue; }
        const intType = f.type.kind === 'enum' ? f.type.base : (f.type as IntType);
        const raw = this.reader.bits(at, f.bitOffset ?? 0, f.bitWidth, intType.signed);
        const value = normalInt(raw, intType.size);
        children.push(this.scalarInt(f.name, join(f.name), f.type, at, bytes, value, { bitOffset: f.bitOffset ?? 0, bitWidth: f.bitWidth }));
        continue;
      }
      let lengthOverride: number | undefined;
      if (f === last && f.type.kind === 'array' && f.type.length === undefined && messageLength !== undefined) {
        // Flexible array member: as many whole elements as the message holds.
        lengthOverride = Math.max(0, Math.floor((messageLength - at) / Math.max(1, f.type.element.size)));
      }
      children.push(this.field(f.name, join(f.name), f.type, at, endian, lengthOverride));
    }
    const problem = children.some((c) => c.problem === 'TOO_SHORT') ? 'TOO_SHORT' as const : undefined;
    return {
      name, path, type: type.name, offset, size: type.size, children, display: `{${type.fields.length} fields}`,
      ...(problem ? { problem } : {}),
    };
  }
}

function flexibleTail(type: CType): { elementSize: number } | undefined {
  if (type.kind !== 'struct' || type.fields.length === 0) return undefined;
  const last = type.fields[type.fields.length - 1];
  return last.type.kind === 'array' && last.type.length === undefined ? { elementSize: last.type.element.size } : undefined;
}

/**
 * Decodes `bytes` as `type`. Problems are listed in the result and marked on the fields; a message shorter than
 * the type decodes the fields it holds and marks the rest missing; extra bytes are reported (not decoded).
 */
export function decodeAs(type: CType, bytes: Uint8Array, endian: Endian = 'little'): DecodedMessage {
  const reader = new Reader(bytes);
  const decoder = new Decoder(reader, endian);
  const root = type.kind === 'struct' || type.kind === 'union'
    ? decoder.record('', '', type, 0, bytes.length)
    : decoder.field('', '', type, 0, endian);
  let used = type.size;
  const tail = flexibleTail(type);
  if (tail) used = Math.max(type.size, type.size + Math.floor((bytes.length - type.size) / Math.max(1, tail.elementSize)) * tail.elementSize);
  if (bytes.length < type.size && !decoder.problems.some((p) => p.code === 'TOO_SHORT' && p.path === '')) {
    decoder.problems.unshift({ code: 'TOO_SHORT', path: '', message: `the message has ${bytes.length} bytes; ${type.name} needs ${type.size}` });
  }
  if (bytes.length > used) {
    decoder.problems.push({ code: 'TRAILING_BYTES', path: '', message: `${bytes.length - used} bytes after ${type.name} (${type.size} bytes) are not part of it` });
  }
  return { type: type.name, root, problems: decoder.problems };
}

/** Every field of a tree in order (depth first), for lookups by path. */
export function* walkFields(field: DecodedField): Generator<DecodedField> {
  yield field;
  for (const child of field.children ?? []) yield* walkFields(child);
}

/** The field at a filter path ("sample.value", "values[2]"); anonymous members are looked through. */
export function fieldAt(message: DecodedMessage, path: string): DecodedField | undefined {
  for (const f of walkFields(message.root)) if (f.path === path && !f.name.startsWith('(anonymous')) return f;
  return undefined;
}
