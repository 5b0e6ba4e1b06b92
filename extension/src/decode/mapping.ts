// The workspace's mapping from channel names to schemas: `.sipc/channels.json` (the setting
// `sipc.decode.mappingFile` may point elsewhere), kept in git beside the programs. Pure: the caller reads files.
//
//   { "channels": [
//       { "match": "sensor.*", "schema": "sample.h", "type": "struct sample" },
//       { "match": "proto",    "schema": "../include/proto.h", "target": "x86_64-linux", "endian": "little",
//         "tag": { "offset": 0, "type": "uint16_t" },
//         "cases": { "MSG_HELLO": "struct hello", "2": "struct sample" } } ] }
//
// The first entry whose pattern matches a channel's name wins. Schema paths are relative to the mapping file.
import { parseCSchema } from './cparser';
import { compileMessageSchema, type MessageSchema, type MessageSpec } from './messages';
import { DATA_FORMATS, cborSchema, jsonSchema, msgpackSchema, protobufSchema, taggedProtobufSchema, type DataFormat } from './formats';
import { isTargetName } from './targets';
import { SchemaError, type CSchema, type Endian, type TargetName } from './types';

export interface MappingEntry {
  /** Channel-name pattern: `*` any run of characters, `?` one character; anything else literal. */
  readonly match: string;
  /** `c` (default): C structs; or a format decoded by a library. */
  readonly format: 'c' | DataFormat;
  /** Path of the C header or .proto file, relative to the mapping file's folder ('' for msgpack, cbor, json). */
  readonly schema: string;
  readonly target: TargetName;
  readonly endian: Endian;
  readonly message: MessageSpec;
  /** protobuf with a tag: where the protobuf payload starts (after the header holding the tag). */
  readonly payloadOffset?: number;
}

export interface Mapping {
  readonly entries: readonly MappingEntry[];
}

function fail(file: string, message: string): never {
  throw new SchemaError('BAD_MAPPING', message, file);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and validates the mapping file's JSON; throws SchemaError BAD_MAPPING naming the entry at fault. */
export function parseMapping(text: string, file = '.sipc/channels.json'): Mapping {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(file, `not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json) || !Array.isArray(json.channels)) fail(file, 'expected { "channels": [ ... ] }');
  const entries = json.channels.map((raw, i): MappingEntry => {
    const at = `channels[${i}]`;
    if (!isRecord(raw)) fail(file, `${at} must be an object`);
    const str = (key: string, required: boolean): string | undefined => {
      const v = raw[key];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || v === '') fail(file, `${at}.${key} must be a non-empty string`);
      return v;
    };
    const match = str('match', true)!;
    const format = str('format', false) ?? 'c';
    if (format !== 'c' && !(DATA_FORMATS as readonly string[]).includes(format)) fail(file, `${at}.format "${format}" is not one of c, ${DATA_FORMATS.join(', ')}`);
    const selfDescribing = format === 'msgpack' || format === 'cbor' || format === 'json';
    const schema = str('schema', !selfDescribing) ?? '';
    if (selfDescribing) return { match, format: format as DataFormat, schema, target: 'x86_64-linux', endian: 'little', message: { type: format } };
    const target = str('target', false) ?? 'x86_64-linux';
    if (!isTargetName(target)) fail(file, `${at}.target "${target}" is not one of x86_64-linux, aarch64-linux, i386-linux, arm-linux, x86_64-windows`);
    const endian = str('endian', false) ?? 'little';
    if (endian !== 'little' && endian !== 'big') fail(file, `${at}.endian must be "little" or "big"`);
    let message: MessageSpec;
    if (raw.tag !== undefined) {
      if (raw.type !== undefined) fail(file, `${at} has both "type" and "tag": a channel has one or the other`);
      const tag = raw.tag;
      if (!isRecord(tag) || typeof tag.offset !== 'number' || typeof tag.type !== 'string') fail(file, `${at}.tag must be { "offset": N, "type": "uint16_t" }`);
      if (tag.endian !== undefined && tag.endian !== 'little' && tag.endian !== 'big') fail(file, `${at}.tag.endian must be "little" or "big"`);
      if (!isRecord(raw.cases) || Object.keys(raw.cases).length === 0) fail(file, `${at}.cases must map tag values to type names`);
      const cases: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw.cases)) {
        if (typeof v !== 'string') fail(file, `${at}.cases["${k}"] must be a type name`);
        cases[k] = v;
      }
      const fallback = str('default', false);
      message = {
        tag: { offset: tag.offset, type: tag.type, ...(tag.endian ? { endian: tag.endian as Endian } : {}) },
        cases, ...(fallback !== undefined ? { default: fallback } : {}),
      };
    } else {
      message = { type: str('type', true)! };
    }
    let payloadOffset: number | undefined;
    if (format === 'protobuf' && !('type' in message)) {
      if (typeof raw.payloadOffset !== 'number' || !Number.isInteger(raw.payloadOffset) || raw.payloadOffset < 0) {
        fail(file, `${at}: a protobuf channel names one message "type", or a "tag", its "cases" and the "payloadOffset" where the protobuf bytes start`);
      }
      payloadOffset = raw.payloadOffset;
    }
    return { match, format: format as 'c' | 'protobuf', schema, target, endian, message, ...(payloadOffset !== undefined ? { payloadOffset } : {}) };
  });
  return { entries };
}

/** Glob to RegExp: `*` and `?` only; the whole name must match. */
export function patternMatches(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('') + '$', 's');
  return re.test(name);
}

export function findEntry(mapping: Mapping, channel: string): MappingEntry | undefined {
  return mapping.entries.find((e) => patternMatches(e.match, channel));
}

/** Joins a relative path onto a folder with '/' separators (paths inside a workspace; '..' allowed). */
export function joinPath(folder: string, relative: string): string {
  if (relative.startsWith('/')) return relative;
  const parts = folder.split('/').filter((p, i) => p !== '' || i === 0);
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') { if (parts.length > 1) parts.pop(); continue; }
    parts.push(part);
  }
  return parts.join('/') || '/';
}

export function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

/** Reads a file's text, or undefined when it does not exist (callers give a workspace or node:fs reader). */
export type TextReader = (path: string) => string | undefined;

/**
 * Builds the message schema of a mapping entry: reads the header (and its #include "..." files) through `read`,
 * parses and lays it out for the entry's target, and checks every type name the entry uses.
 */
export function loadEntry(entry: MappingEntry, mappingFile: string, read: TextReader): MessageSchema {
  if (entry.format === 'json') return jsonSchema();
  if (entry.format === 'msgpack') return msgpackSchema();
  if (entry.format === 'cbor') return cborSchema();
  const schemaPath = joinPath(dirnameOf(mappingFile), entry.schema);
  if (entry.format === 'protobuf' && 'type' in entry.message) return protobufSchema(schemaPath, entry.message.type, read);
  if (entry.format === 'protobuf' && 'tag' in entry.message) {
    const cases = new Map<bigint, string>();
    for (const [key, name] of Object.entries(entry.message.cases)) {
      if (!/^-?(0[xX][0-9a-fA-F]+|\d+)$/.test(key.trim())) throw new SchemaError('BAD_MAPPING', `${entry.match}: protobuf case "${key}" must be a number`, mappingFile);
      const k = key.trim();
      cases.set(k.startsWith('-') ? -BigInt(k.slice(1)) : BigInt(k), name);
    }
    return taggedProtobufSchema(schemaPath, { offset: entry.message.tag.offset, type: entry.message.tag.type, endian: entry.message.tag.endian,
      cases, payloadOffset: entry.payloadOffset ?? 0 }, read);
  }
  return compileMessageSchema(loadCSchema(entry, mappingFile, read), entry.message);
}

/** Reads and lays out the C header of a `c` entry (with its #include "..." files) for the entry's target. */
export function loadCSchema(entry: MappingEntry, mappingFile: string, read: TextReader): CSchema {
  if (entry.format !== 'c') throw new SchemaError('BAD_MAPPING', `${entry.match}: a ${entry.format} channel has no C schema`, mappingFile);
  const schemaPath = joinPath(dirnameOf(mappingFile), entry.schema);
  const text = read(schemaPath);
  if (text === undefined) throw new SchemaError('INCLUDE', `cannot read the schema ${entry.schema}`, mappingFile);
  return parseCSchema(text, {
    file: schemaPath,
    target: entry.target,
    endian: entry.endian,
    readInclude: (name, from) => {
      const file = joinPath(dirnameOf(from), name);
      const included = read(file);
      return included === undefined ? undefined : { file, text: included };
    },
  });
}
