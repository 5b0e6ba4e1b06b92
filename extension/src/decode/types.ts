// The laid-out types of a C-struct schema: what the parser produces and the decoder reads. Sizes, alignments and
// offsets are final (computed as gcc does for the schema's target), so decoding never repeats layout work.

export type Endian = 'little' | 'big';

/** Stable codes of schema errors (the schema text or the mapping is wrong; nothing was decoded). */
export type SchemaErrorCode =
  | 'SYNTAX'
  | 'UNKNOWN_TYPE'
  | 'REDEFINED'
  | 'BAD_CONSTANT'
  | 'BAD_BITFIELD'
  | 'INCOMPLETE_TYPE'
  | 'UNSUPPORTED'
  | 'INCLUDE'
  | 'BAD_MAPPING'
  | 'BAD_VALUE';

export class SchemaError extends Error {
  constructor(
    readonly code: SchemaErrorCode,
    message: string,
    /** Where in the schema, "file:line" when known. */
    readonly where?: string,
  ) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'SchemaError';
  }
}

export interface IntType {
  readonly kind: 'int';
  /** The spelling shown to users: uint16_t, unsigned long, char, _Bool, enum color's base, ... */
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly signed: boolean;
  readonly bool?: boolean;
  /** Plain `char` (its arrays are shown as text). */
  readonly char?: boolean;
}

export interface FloatType {
  readonly kind: 'float';
  readonly name: string;
  /** 4 or 8 are decoded; other sizes (x87 long double) are laid out and shown as bytes. */
  readonly size: number;
  readonly align: number;
}

export interface PointerType {
  readonly kind: 'pointer';
  readonly name: string;
  readonly size: number;
  readonly align: number;
}

export interface EnumType {
  readonly kind: 'enum';
  readonly name: string;
  readonly base: IntType;
  readonly size: number;
  readonly align: number;
  /** Value -> name; several names may share a value (the first declared is shown). */
  readonly names: ReadonlyMap<bigint, string>;
  /** Name -> value, for filters and forms. */
  readonly values: ReadonlyMap<string, bigint>;
}

export interface ArrayType {
  readonly kind: 'array';
  readonly name: string;
  readonly element: CType;
  /** Element count; undefined for a flexible array member (it takes the rest of the message). */
  readonly length: number | undefined;
  readonly size: number;
  readonly align: number;
}

export interface Field {
  /** Empty for an anonymous struct/union member (its fields are reached as if they were the parent's). */
  readonly name: string;
  readonly type: CType;
  /** Byte offset from the start of the enclosing record; for bit-fields, the byte holding the first bit. */
  readonly offset: number;
  /** Bit-fields only: the first bit within `offset` (bit 0 = least significant) and the width in bits. */
  readonly bitOffset?: number;
  readonly bitWidth?: number;
}

export interface RecordType {
  readonly kind: 'struct' | 'union';
  /** "struct sample", "union value", or the typedef name of an untagged record. */
  readonly name: string;
  readonly fields: readonly Field[];
  readonly size: number;
  readonly align: number;
  /** Byte order of the record's own scalar fields when it sets one (scalar_storage_order); else the schema's. */
  readonly endian?: Endian;
}

export type CType = IntType | FloatType | PointerType | EnumType | ArrayType | RecordType;

/** Every type a schema declared, by the name a user writes: "struct sample", "sample_t", "enum color", "uint16_t". */
export interface CSchema {
  readonly types: ReadonlyMap<string, CType>;
  /** Constants from enums and object-like #defines. */
  readonly constants: ReadonlyMap<string, bigint>;
  readonly target: TargetName;
  readonly endian: Endian;
  /** Looks a type up by name; accepts "struct x" or "x" when only one of them exists. */
  lookup(name: string): CType | undefined;
}

export type TargetName = 'x86_64-linux' | 'aarch64-linux' | 'i386-linux' | 'arm-linux' | 'x86_64-windows';
