// The other way round: a C type and the values a user typed into the send form -> the message's bytes, with the
// layout the decoder reads (padding zero, scalars in the record's byte order, bit-fields in place). Values are
// text as typed; anything that does not fit its field (out of range, not a number, an unknown enum name, text too
// long) is refused with the field's path, never truncated silently.
import { SchemaError, type CType, type Endian, type IntType, type RecordType } from './types';

/** One input of the form: a scalar, a bit-field, an enum or a char array. */
export interface FormField {
  readonly path: string;
  readonly type: string;
  readonly kind: 'int' | 'float' | 'enum' | 'bool' | 'text' | 'pointer';
  /** Enums: the names offered. */
  readonly enumNames?: readonly string[];
  /** Text: the bytes available (including room for no terminating NUL). */
  readonly maxBytes?: number;
}

interface Leaf {
  readonly field: FormField;
  readonly type: CType;
  readonly offset: number;
  readonly bitOffset?: number;
  readonly bitWidth?: number;
  readonly endian: Endian;
}

/** Arrays list at most this many items in a form (the rest stay zero). */
export const FORM_ARRAY_LIMIT = 64;

function leaves(type: CType, path: string, offset: number, endian: Endian, out: Leaf[]): Leaf[] {
  switch (type.kind) {
    case 'struct': case 'union': {
      const own = type.endian ?? endian;
      for (const f of type.fields) {
        const p = f.name === '' ? path : path ? `${path}.${f.name}` : f.name;
        if (f.bitWidth !== undefined) {
          out.push({ field: fieldOf(p, f.type), type: f.type, offset: offset + f.offset, bitOffset: f.bitOffset ?? 0, bitWidth: f.bitWidth, endian: own });
        } else {
          leaves(f.type, p, offset + f.offset, own, out);
        }
      }
      return out;
    }
    case 'array': {
      if (type.element.kind === 'int' && type.element.char) {
        out.push({ field: { path, type: type.name, kind: 'text', maxBytes: type.size }, type, offset, endian });
        return out;
      }
      const n = Math.min(type.length ?? 0, FORM_ARRAY_LIMIT);
      for (let i = 0; i < n; i++) leaves(type.element, `${path}[${i}]`, offset + i * type.element.size, endian, out);
      return out;
    }
    default:
      out.push({ field: fieldOf(path, type), type, offset, endian });
      return out;
  }
}

function fieldOf(path: string, type: CType): FormField {
  if (type.kind === 'enum') return { path, type: type.name, kind: 'enum', enumNames: [...type.values.keys()] };
  if (type.kind === 'int') return { path, type: type.name, kind: type.bool ? 'bool' : 'int' };
  if (type.kind === 'float') return { path, type: type.name, kind: 'float' };
  return { path, type: type.name, kind: 'pointer' };
}

/** The form's inputs for a type, in layout order. */
export function formFields(type: CType): FormField[] {
  return leaves(type, '', 0, 'little', []).map((l) => l.field);
}

function bad(path: string, message: string): never {
  throw new SchemaError('BAD_VALUE', `${path || 'value'}: ${message}`);
}

function parseInteger(path: string, text: string): bigint {
  const t = text.trim().replace(/_/g, '');
  if (!/^[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)$/.test(t)) bad(path, `"${text}" is not a whole number`);
  const negative = t.startsWith('-');
  const digits = t.replace(/^[-+]/, '');
  const v = BigInt(digits);
  return negative ? -v : v;
}

function checkRange(path: string, v: bigint, bits: number, signed: boolean): void {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (v < min || v > max) bad(path, `${v} does not fit ${bits} bits ${signed ? 'signed' : 'unsigned'} (${min}…${max})`);
}

function writeInt(bytes: Uint8Array, offset: number, size: number, value: bigint, endian: Endian): void {
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) {
    bytes[offset + (endian === 'little' ? i : size - 1 - i)] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function writeBits(bytes: Uint8Array, offset: number, bitOffset: number, width: number, value: bigint): void {
  const v = BigInt.asUintN(width, value);
  for (let i = 0; i < width; i++) {
    const bit = bitOffset + i;
    const index = offset + (bit >> 3);
    const mask = 1 << (bit & 7);
    if ((v >> BigInt(i)) & 1n) bytes[index] |= mask;
    else bytes[index] &= ~mask;
  }
}

function integerValue(leaf: Leaf, text: string): bigint {
  const { path } = leaf.field;
  if (leaf.type.kind === 'enum') {
    const named = leaf.type.values.get(text.trim());
    if (named !== undefined) return named;
    const v = parseInteger(path, text);
    if (!leaf.type.names.has(v)) bad(path, `${v} is not a value of ${leaf.type.name} (${[...leaf.type.values.keys()].join(', ')})`);
    return v;
  }
  if (leaf.type.kind === 'int' && leaf.type.bool) {
    const t = text.trim().toLowerCase();
    if (t === 'true' || t === '1') return 1n;
    if (t === 'false' || t === '0' || t === '') return 0n;
    bad(path, `"${text}" is not true or false`);
  }
  return parseInteger(path, text);
}

/**
 * Encodes `values` (path -> text; absent fields are zero) as `type`. A union's members are written in declaration
 * order, so a later member given a value overwrites the bytes it shares with an earlier one.
 */
export function encodeAs(type: CType, values: Readonly<Record<string, string>>, endian: Endian = 'little'): Uint8Array {
  const bytes = new Uint8Array(type.kind === 'array' && type.length === undefined ? 0 : type.size);
  const all = leaves(type, '', 0, endian, []);
  const known = new Set(all.map((l) => l.field.path));
  for (const path of Object.keys(values)) if (!known.has(path)) bad(path, `${type.name} has no such field`);
  for (const leaf of all) {
    const text = values[leaf.field.path];
    if (text === undefined || (text.trim() === '' && leaf.field.kind !== 'text')) continue;
    const { path } = leaf.field;
    const t = leaf.type;
    if (t.kind === 'array') {
      const encoded = new TextEncoder().encode(text);
      if (encoded.length > t.size) bad(path, `${encoded.length} bytes of text do not fit ${t.size}`);
      bytes.fill(0, leaf.offset, leaf.offset + t.size);
      bytes.set(encoded, leaf.offset);
      continue;
    }
    if (t.kind === 'float') {
      const v = Number(text.trim());
      if (text.trim() === '' || (Number.isNaN(v) && !/^nan$/i.test(text.trim()))) bad(path, `"${text}" is not a number`);
      const view = new DataView(bytes.buffer, bytes.byteOffset + leaf.offset, t.size);
      if (t.size === 4) view.setFloat32(0, v, leaf.endian === 'little');
      else if (t.size === 8) view.setFloat64(0, v, leaf.endian === 'little');
      else bad(path, `${t.name} cannot be entered (only 4- and 8-byte floats)`);
      continue;
    }
    const intType: IntType = t.kind === 'enum' ? t.base : t.kind === 'int' ? t : { kind: 'int', name: t.name, size: t.size, align: t.align, signed: false };
    const v = integerValue(leaf, text);
    if (leaf.bitWidth !== undefined) {
      checkRange(path, v, leaf.bitWidth, intType.signed);
      writeBits(bytes, leaf.offset, leaf.bitOffset ?? 0, leaf.bitWidth, v);
    } else {
      checkRange(path, v, intType.size * 8, intType.signed);
      writeInt(bytes, leaf.offset, intType.size, v, leaf.endian);
    }
  }
  return bytes;
}

/** The record types a form can encode (structs and unions). */
export function isRecord(type: CType): type is RecordType {
  return type.kind === 'struct' || type.kind === 'union';
}
