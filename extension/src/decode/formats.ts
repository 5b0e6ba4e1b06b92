// Self-describing and schema'd formats other than C structs: Protocol Buffers (a .proto file and one message type,
// protobufjs), MessagePack (@msgpack/msgpack), CBOR (cbor2) and JSON. Each decodes into the same field tree as a
// C struct, so the inspector's tree, filter and problems work alike. These libraries do not report where a value
// sits in the message, so the fields carry no byte range (`unlocated`); a message that is not valid in its format
// is reported as BAD_ENCODING with the library's reason, never thrown.
import { decode as decodeMsgpack } from '@msgpack/msgpack';
import { decode as decodeCbor } from 'cbor2';
import * as protobuf from 'protobufjs';
import type { DecodedField, DecodedMessage, FieldValue } from './decoder';
import { formatFloat } from './decoder';
import { dirnameOf, joinPath, type TextReader } from './mapping';
import type { MessageSchema } from './messages';
import { SchemaError } from './types';

export type DataFormat = 'protobuf' | 'msgpack' | 'cbor' | 'json';
export const DATA_FORMATS: readonly DataFormat[] = ['protobuf', 'msgpack', 'cbor', 'json'];

/** How many items of one array or map the tree lists at most (the rest are summarised). */
const MAX_ITEMS = 4096;

function typeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof Map) return 'map';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  return typeof value;
}

function bytesDisplay(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 32), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${bytes.length} bytes: ${shown}${bytes.length > 32 ? ' …' : ''}`;
}

/** A decoded value as a field-tree node (`path` as filters write it: a.b[2].c). */
export function valueTree(name: string, path: string, value: unknown, typeName?: string): DecodedField {
  const base = { name, path, type: typeName ?? typeOf(value), offset: 0, size: 0, unlocated: true as const };
  const child = (key: string, v: unknown) => {
    const safeKey = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
    return valueTree(key, path ? `${path}.${safeKey}` : safeKey, v);
  };
  if (Array.isArray(value)) {
    const children = value.slice(0, MAX_ITEMS).map((v, i) => valueTree(`[${i}]`, `${path}[${i}]`, v));
    return { ...base, children, display: `[${value.length} item${value.length === 1 ? '' : 's'}]` };
  }
  if (value instanceof Uint8Array) return { ...base, display: bytesDisplay(value) };
  if (value instanceof Map) {
    const entries = [...value.entries()].slice(0, MAX_ITEMS);
    return { ...base, children: entries.map(([k, v]) => child(typeof k === 'string' ? k : String(k), v)), display: `{${value.size} entries}` };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).slice(0, MAX_ITEMS);
    return { ...base, children: entries.map(([k, v]) => child(k, v)), display: `{${entries.length} fields}` };
  }
  if (typeof value === 'number') return { ...base, value, display: Number.isInteger(value) ? String(value) : formatFloat(value) };
  if (typeof value === 'bigint' || typeof value === 'boolean') return { ...base, value: value as FieldValue, display: String(value) };
  if (typeof value === 'string') return { ...base, value, display: JSON.stringify(value) };
  return { ...base, display: value === null ? 'null' : 'undefined' };
}

function badEncoding(format: string, bytes: Uint8Array, error: unknown): DecodedMessage {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    type: format,
    root: { name: '', path: '', type: format, offset: 0, size: bytes.length, display: `(not valid ${format})`, problem: 'BAD_ENCODING', unlocated: true },
    problems: [{ code: 'BAD_ENCODING', path: '', message: `not valid ${format}: ${reason}` }],
  };
}

function formatSchema(format: string, decode: (bytes: Uint8Array) => unknown, typeName = format): MessageSchema {
  return {
    description: typeName === format ? format : `${format} ${typeName}`,
    types: [],
    constants: new Map(),
    decode(bytes: Uint8Array): DecodedMessage {
      let value: unknown;
      try {
        value = decode(bytes);
      } catch (error) {
        return badEncoding(format, bytes, error);
      }
      return { type: typeName, root: valueTree('', '', value, typeName), problems: [] };
    },
  };
}

/** The text of a message: UTF-8 that must be valid (a wrong byte is a BAD_ENCODING, not a replacement character). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function jsonSchema(): MessageSchema {
  return formatSchema('json', (bytes) => JSON.parse(strictUtf8.decode(bytes)) as unknown);
}

export function msgpackSchema(): MessageSchema {
  // 64-bit integers stay exact (bigint) rather than rounding to the nearest double.
  return formatSchema('msgpack', (bytes) => decodeMsgpack(bytes, { useBigInt64: true }));
}

export function cborSchema(): MessageSchema {
  return formatSchema('cbor', (bytes) => decodeCbor(bytes));
}

/**
 * A .proto file (its `import`s read through `read`, relative to the importing file) and the message type every
 * message is. 64-bit integers stay exact; enums are shown by name; bytes fields as bytes.
 */
export function protobufSchema(protoFile: string, typeName: string, read: TextReader): MessageSchema {
  const root = new protobuf.Root();
  const loaded = new Set<string>();
  const load = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const text = read(file);
    if (text === undefined) throw new SchemaError('INCLUDE', `cannot read ${file}`);
    let parsed: protobuf.IParserResult;
    try {
      parsed = protobuf.parse(text, root, { keepCase: true });
    } catch (error) {
      throw new SchemaError('SYNTAX', error instanceof Error ? error.message : String(error), file);
    }
    for (const imported of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      // google/protobuf/*.proto well-known types are built into protobufjs.
      if (imported.startsWith('google/protobuf/')) continue;
      load(joinPath(dirnameOf(file), imported));
    }
  };
  load(protoFile);
  let type: protobuf.Type;
  try {
    root.resolveAll();
    type = root.lookupType(typeName);
  } catch (error) {
    throw new SchemaError('BAD_MAPPING', error instanceof Error ? error.message : String(error), protoFile);
  }
  return formatSchema('protobuf', (bytes) => {
    const message = type.decode(bytes);
    return type.toObject(message, { longs: BigInt, enums: String, defaults: true, arrays: true, oneofs: true });
  }, type.fullName.replace(/^\./, ''));
}
