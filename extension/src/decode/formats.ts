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
import { builtinTypes, TARGETS } from './targets';
import { SchemaError, type Endian } from './types';

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
  const type = lookupProtoType(loadProto(protoFile, read), typeName, protoFile);
  return formatSchema('protobuf', (bytes) => protoObject(type, bytes), type.fullName.replace(/^\./, ''));
}

function protoObject(type: protobuf.Type, bytes: Uint8Array): unknown {
  return type.toObject(type.decode(bytes), { longs: BigInt, enums: String, defaults: true, arrays: true, oneofs: true });
}

function lookupProtoType(root: protobuf.Root, typeName: string, protoFile: string): protobuf.Type {
  try {
    root.resolveAll();
    return root.lookupType(typeName);
  } catch (error) {
    throw new SchemaError('BAD_MAPPING', error instanceof Error ? error.message : String(error), protoFile);
  }
}

export interface ProtoTag {
  /** Where the tag sits and its integer type (a fixed-width name such as uint8_t or uint16_t). */
  readonly offset: number;
  readonly type: string;
  readonly endian?: Endian;
  /** Tag value -> message type. */
  readonly cases: ReadonlyMap<bigint, string>;
  /** Where the protobuf payload starts (after the header that holds the tag). */
  readonly payloadOffset: number;
}

/** A .proto and a header field choosing the message type: [header with the tag][protobuf payload]. */
export function taggedProtobufSchema(protoFile: string, tag: ProtoTag, read: TextReader): MessageSchema {
  const root = loadProto(protoFile, read);
  const tagType = builtinTypes(TARGETS['x86_64-linux']).get(tag.type);
  if (!tagType || tagType.kind !== 'int') throw new SchemaError('BAD_MAPPING', `the tag type ${tag.type} is not a fixed-width integer type`, protoFile);
  if (tag.payloadOffset < tag.offset + tagType.size) throw new SchemaError('BAD_MAPPING', 'the protobuf payload must start after the tag', protoFile);
  const types = new Map([...tag.cases].map(([v, name]) => [v, lookupProtoType(root, name, protoFile)] as const));
  const description = `protobuf tagged by ${tag.type} at offset ${tag.offset}, payload at ${tag.payloadOffset}: `
    + [...types].map(([v, t]) => `${v} ${t.fullName.replace(/^\./, '')}`).join(', ');
  return {
    description, types: [], constants: new Map(),
    decode(bytes: Uint8Array): DecodedMessage {
      if (bytes.length < tag.payloadOffset) {
        return {
          type: 'protobuf', root: { name: '', path: '', type: 'protobuf', offset: 0, size: bytes.length, display: '(too short)', problem: 'TOO_SHORT', unlocated: true },
          problems: [{ code: 'TOO_SHORT', path: '', message: `the message has ${bytes.length} bytes; its header (tag and payload offset) needs ${tag.payloadOffset}` }],
        };
      }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const little = (tag.endian ?? 'little') === 'little';
      const raw = tagType.size === 1 ? view.getUint8(tag.offset) : tagType.size === 2 ? view.getUint16(tag.offset, little)
        : tagType.size === 4 ? view.getUint32(tag.offset, little) : view.getBigUint64(tag.offset, little);
      const value = tagType.signed ? BigInt.asIntN(tagType.size * 8, BigInt(raw)) : BigInt(raw);
      const type = types.get(value);
      if (!type) {
        return {
          type: 'protobuf', root: { name: '', path: '', type: 'protobuf', offset: 0, size: bytes.length, display: `(unknown tag ${value})`, problem: 'UNKNOWN_TAG', unlocated: true },
          problems: [{ code: 'UNKNOWN_TAG', path: '', message: `tag ${value} (${tag.type} at offset ${tag.offset}) names no message type` }],
        };
      }
      const name = type.fullName.replace(/^\./, '');
      try {
        return { type: name, root: valueTree('', '', protoObject(type, bytes.subarray(tag.payloadOffset)), name), problems: [] };
      } catch (error) {
        return badEncoding('protobuf', bytes, error);
      }
    },
  };
}

function loadProto(protoFile: string, read: TextReader): protobuf.Root {
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
  return root;
}
