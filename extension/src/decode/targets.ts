// The C data models sipc's schemas can be laid out for. Sizes and *field* alignments (what a struct member gets,
// which on i386 differs from _Alignof for 8-byte types) as gcc/clang give them; test/decode checks each one with
// static assertions compiled for that target.
import type { FloatType, IntType, PointerType, TargetName } from './types';

export interface TargetModel {
  readonly name: TargetName;
  readonly charSigned: boolean;
  readonly short: number;
  readonly int: number;
  readonly long: number;
  readonly longLong: number;
  readonly longLongAlign: number;
  readonly pointer: number;
  readonly double: number;
  readonly doubleAlign: number;
  readonly longDouble: number;
  readonly longDoubleAlign: number;
  readonly wcharSize: number;
  readonly wcharSigned: boolean;
  /** Microsoft bit-field layout (mingw's default): not supported yet, schemas with bit-fields are refused. */
  readonly msBitfields: boolean;
  /**
   * AAPCS: an unnamed bit-field, zero-width or not, also gives the record its type's alignment (System V x86: it
   * does not; clang and gcc agree, checked by decode-layout.test.mjs).
   */
  readonly zeroWidthBitfieldAligns: boolean;
}

export const TARGETS: Readonly<Record<TargetName, TargetModel>> = {
  'x86_64-linux': {
    name: 'x86_64-linux', charSigned: true, short: 2, int: 4, long: 8, longLong: 8, longLongAlign: 8, pointer: 8,
    double: 8, doubleAlign: 8, longDouble: 16, longDoubleAlign: 16, wcharSize: 4, wcharSigned: true, msBitfields: false, zeroWidthBitfieldAligns: false,
  },
  'aarch64-linux': {
    name: 'aarch64-linux', charSigned: false, short: 2, int: 4, long: 8, longLong: 8, longLongAlign: 8, pointer: 8,
    double: 8, doubleAlign: 8, longDouble: 16, longDoubleAlign: 16, wcharSize: 4, wcharSigned: false, msBitfields: false, zeroWidthBitfieldAligns: true,
  },
  'i386-linux': {
    name: 'i386-linux', charSigned: true, short: 2, int: 4, long: 4, longLong: 8, longLongAlign: 4, pointer: 4,
    double: 8, doubleAlign: 4, longDouble: 12, longDoubleAlign: 4, wcharSize: 4, wcharSigned: true, msBitfields: false, zeroWidthBitfieldAligns: false,
  },
  'arm-linux': {
    name: 'arm-linux', charSigned: false, short: 2, int: 4, long: 4, longLong: 8, longLongAlign: 8, pointer: 4,
    double: 8, doubleAlign: 8, longDouble: 8, longDoubleAlign: 8, wcharSize: 4, wcharSigned: false, msBitfields: false, zeroWidthBitfieldAligns: true,
  },
  'x86_64-windows': {
    name: 'x86_64-windows', charSigned: true, short: 2, int: 4, long: 4, longLong: 8, longLongAlign: 8, pointer: 8,
    double: 8, doubleAlign: 8, longDouble: 16, longDoubleAlign: 16, wcharSize: 2, wcharSigned: false, msBitfields: true, zeroWidthBitfieldAligns: false,
  },
};

export function isTargetName(name: string): name is TargetName {
  return Object.prototype.hasOwnProperty.call(TARGETS, name);
}

function int(name: string, size: number, signed: boolean, extra: Partial<IntType> = {}, align = size): IntType {
  return { kind: 'int', name, size, align, signed, ...extra };
}

/**
 * The built-in scalar types of a target, by every spelling the parser normalises to (specifier words sorted,
 * "signed"/"int" folded: "unsigned long long", "long", "unsigned char", ...), plus <stdint.h>/<stddef.h> names.
 */
export function builtinTypes(t: TargetModel): Map<string, IntType | FloatType | PointerType> {
  const m = new Map<string, IntType | FloatType | PointerType>();
  const ll = (name: string, signed: boolean) => int(name, t.longLong, signed, {}, t.longLongAlign);
  m.set('char', int('char', 1, t.charSigned, { char: true }));
  m.set('signed char', int('signed char', 1, true));
  m.set('unsigned char', int('unsigned char', 1, false));
  m.set('short', int('short', t.short, true));
  m.set('unsigned short', int('unsigned short', t.short, false));
  m.set('int', int('int', t.int, true));
  m.set('unsigned int', int('unsigned int', t.int, false));
  m.set('long', int('long', t.long, true));
  m.set('unsigned long', int('unsigned long', t.long, false));
  m.set('long long', ll('long long', true));
  m.set('unsigned long long', ll('unsigned long long', false));
  m.set('_Bool', int('_Bool', 1, false, { bool: true }));
  m.set('bool', int('bool', 1, false, { bool: true }));
  m.set('float', { kind: 'float', name: 'float', size: 4, align: 4 });
  m.set('double', { kind: 'float', name: 'double', size: 8, align: t.doubleAlign });
  m.set('long double', { kind: 'float', name: 'long double', size: t.longDouble, align: t.longDoubleAlign });
  for (const bits of [8, 16, 32, 64]) {
    const bytes = bits / 8;
    const align = bits === 64 ? t.longLongAlign : bytes;
    m.set(`int${bits}_t`, int(`int${bits}_t`, bytes, true, {}, align));
    m.set(`uint${bits}_t`, int(`uint${bits}_t`, bytes, false, {}, align));
  }
  const word = (name: string, signed: boolean) => int(name, t.pointer, signed, {}, t.pointer === 8 ? t.longLongAlign : t.pointer);
  m.set('size_t', word('size_t', false));
  m.set('ssize_t', word('ssize_t', true));
  m.set('ptrdiff_t', word('ptrdiff_t', true));
  m.set('intptr_t', word('intptr_t', true));
  m.set('uintptr_t', word('uintptr_t', false));
  m.set('wchar_t', int('wchar_t', t.wcharSize, t.wcharSigned));
  m.set('char16_t', int('char16_t', 2, false));
  m.set('char32_t', int('char32_t', 4, false));
  return m;
}

/** Pointers are laid out (a message can carry one) and shown as addresses; they are never followed. */
export function pointerType(t: TargetModel, to: string): PointerType {
  return { kind: 'pointer', name: `${to} *`, size: t.pointer, align: t.pointer === 8 ? t.longLongAlign : t.pointer };
}
