// What a channel's messages are: one C type, or a tagged union of types chosen by an integer at a fixed offset
// ("the type is the uint16_t at offset 0; 1 is struct hello, 2 is struct sample"), which is how real protocols
// over sipc look. Compiling checks every name once, so decoding a message cannot fail on the schema.
import { decodeAs, type DecodedMessage } from './decoder';
import { encodeAs, formFields, type FormField } from './encoder';
import { SchemaError, type CSchema, type CType, type Endian, type IntType } from './types';

export interface TagSpec {
  /** Byte offset of the tag in every message. */
  readonly offset: number;
  /** An integer or enum type of the schema: "uint16_t", "enum msg_type". */
  readonly type: string;
  readonly endian?: Endian;
}

export type MessageSpec =
  | { readonly type: string }
  | {
    readonly tag: TagSpec;
    /** Tag value (decimal, 0x hex, or a constant of the schema such as MSG_HELLO) -> type name. */
    readonly cases: Readonly<Record<string, string>>;
    /** Type for tag values not listed; without it they are reported as UNKNOWN_TAG. */
    readonly default?: string;
  };

export interface MessageSchema {
  /** "struct sample" or "tagged by uint16_t at 0: 1 struct hello, 2 struct sample". */
  readonly description: string;
  /** The C types messages may decode as (for columns, filters and forms). */
  readonly types: readonly CType[];
  /** The schema's named constants (enum values, #defines), for field filters and forms. */
  readonly constants: ReadonlyMap<string, bigint>;
  decode(bytes: Uint8Array): DecodedMessage;
  /** C schemas: the send form (the types a message may be, their inputs, and the encoder). */
  readonly form?: MessageForm;
}

export interface MessageForm {
  /** Type names the form offers (a tagged union: one per case). */
  readonly types: readonly string[];
  fields(typeName: string): FormField[];
  /** Values filled in for a new message: a tagged union's tag field. */
  defaults(typeName: string): Record<string, string>;
  encode(typeName: string, values: Readonly<Record<string, string>>): Uint8Array;
}

function formFor(schema: CSchema, types: readonly CType[], tagValue?: (type: CType) => { offset: number; size: number; value: bigint } | undefined): MessageForm {
  const byName = (name: string): CType => {
    const type = types.find((t) => t.name === name);
    if (!type) throw new SchemaError('BAD_VALUE', `${name} is not a message type of this channel`);
    return type;
  };
  return {
    types: types.map((t) => t.name),
    fields: (name) => formFields(byName(name)),
    defaults: (name) => {
      const type = byName(name);
      const tag = tagValue?.(type);
      if (!tag || (type.kind !== 'struct' && type.kind !== 'union')) return {};
      const field = type.fields.find((f) => f.offset === tag.offset && f.bitWidth === undefined && f.type.size === tag.size && f.name !== '');
      return field ? { [field.name]: String(tag.value) } : {};
    },
    encode: (name, values) => encodeAs(byName(name), values, schema.endian),
  };
}

function resolveType(schema: CSchema, name: string, what: string): CType {
  const type = schema.lookup(name);
  if (!type) throw new SchemaError('BAD_MAPPING', `${what} "${name}" is not declared in the schema`);
  return type;
}

function caseValue(schema: CSchema, key: string): bigint {
  const trimmed = key.trim();
  if (/^-?(0[xX][0-9a-fA-F]+|\d+)$/.test(trimmed)) return trimmed.startsWith('-') ? -BigInt(trimmed.slice(1)) : BigInt(trimmed);
  const constant = schema.constants.get(trimmed);
  if (constant === undefined) throw new SchemaError('BAD_MAPPING', `case "${key}" is neither a number nor a constant of the schema`);
  return constant;
}

export function compileMessageSchema(schema: CSchema, spec: MessageSpec): MessageSchema {
  if ('type' in spec) {
    const type = resolveType(schema, spec.type, 'type');
    return { description: type.name, types: [type], constants: schema.constants, decode: (bytes) => decodeAs(type, bytes, schema.endian), form: formFor(schema, [type]) };
  }
  const tagType = resolveType(schema, spec.tag.type, 'tag type');
  if (tagType.kind !== 'int' && tagType.kind !== 'enum') throw new SchemaError('BAD_MAPPING', `the tag type ${tagType.name} is not an integer or enum type`);
  if (!Number.isInteger(spec.tag.offset) || spec.tag.offset < 0) throw new SchemaError('BAD_MAPPING', 'the tag offset must be a whole number of bytes, 0 or more');
  const tagEndian = spec.tag.endian ?? schema.endian;
  const cases = new Map<bigint, CType>();
  for (const [key, name] of Object.entries(spec.cases)) {
    const value = caseValue(schema, key);
    if (cases.has(value)) throw new SchemaError('BAD_MAPPING', `tag value ${value} is listed twice`);
    cases.set(value, resolveType(schema, name, `case ${key}`));
  }
  const fallback = spec.default !== undefined ? resolveType(schema, spec.default, 'default') : undefined;
  const tagInt: IntType = tagType.kind === 'enum' ? tagType.base : tagType;
  const tagField = { offset: spec.tag.offset, type: tagType };
  const description = `tagged by ${tagType.name} at offset ${spec.tag.offset}: `
    + [...cases].map(([v, t]) => `${v} ${t.name}`).join(', ') + (fallback ? `, otherwise ${fallback.name}` : '');
  const types = [...new Set([...cases.values(), ...(fallback ? [fallback] : [])])];

  return {
    description,
    types,
    constants: schema.constants,
    form: formFor(schema, types, (type) => {
      for (const [value, t] of cases) if (t === type) return { offset: tagField.offset, size: tagInt.size, value };
      return undefined;
    }),
    decode(bytes: Uint8Array): DecodedMessage {
      // The tag alone, decoded as its own type (this also reports a message too short to hold it).
      const tagOnly = decodeAs(tagType, bytes.subarray(Math.min(tagField.offset, bytes.length), tagField.offset + tagInt.size), tagEndian);
      const tagDecoded = { ...tagOnly.root, name: 'tag', path: 'tag', offset: tagField.offset };
      if (bytes.length < tagField.offset + tagInt.size) {
        return {
          type: 'tag', root: { name: '', path: '', type: 'message', offset: 0, size: bytes.length, display: '(too short for the tag)', children: [tagDecoded], problem: 'TOO_SHORT' },
          problems: [{ code: 'TOO_SHORT', path: '', message: `the message has ${bytes.length} bytes; its tag (${tagType.name} at offset ${tagField.offset}) needs ${tagField.offset + tagInt.size}` }],
        };
      }
      const tagValue = BigInt(tagOnly.root.value as number | bigint);
      const chosen = cases.get(tagValue) ?? fallback;
      if (!chosen) {
        return {
          type: 'tag', root: { name: '', path: '', type: 'message', offset: 0, size: bytes.length, display: `(unknown tag ${tagValue})`, children: [{ ...tagDecoded, problem: 'UNKNOWN_TAG' }], problem: 'UNKNOWN_TAG' },
          problems: [{ code: 'UNKNOWN_TAG', path: 'tag', message: `tag ${tagValue} (${tagType.name} at offset ${tagField.offset}) names no message type` }],
        };
      }
      return decodeAs(chosen, bytes, schema.endian);
    },
  };
}
