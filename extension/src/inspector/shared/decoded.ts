// A decoded message as it crosses to the webview: postMessage carries JSON, so 64-bit values travel as decimal
// strings (`big: true`), and nothing else changes. Pure; the host converts, the webview shows.
import type { DecodeProblem, DecodeProblemCode, DecodedField, DecodedMessage } from '../../decode/decoder';

export interface WireField {
  readonly name: string;
  readonly path: string;
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly bitOffset?: number;
  readonly bitWidth?: number;
  /** The value for plots and forms: numbers, booleans, text; 64-bit integers as decimal strings with `big`. */
  readonly value?: number | string | boolean;
  readonly big?: boolean;
  readonly display: string;
  readonly children?: readonly WireField[];
  readonly problem?: DecodeProblemCode;
  /** No byte range is known (protobuf, MessagePack, CBOR, JSON). */
  readonly unlocated?: true;
}

export interface WireDecoded {
  readonly type: string;
  readonly root: WireField;
  readonly problems: readonly DecodeProblem[];
}

function fieldToWire(f: DecodedField): WireField {
  const { value, children, ...rest } = f;
  const big = typeof value === 'bigint';
  return {
    ...rest,
    ...(value !== undefined ? { value: big ? value.toString() : value } : {}),
    ...(big ? { big: true } : {}),
    ...(children ? { children: children.map(fieldToWire) } : {}),
  };
}

export function decodedToWire(message: DecodedMessage): WireDecoded {
  return { type: message.type, root: fieldToWire(message.root), problems: message.problems };
}

/** The deepest field whose bytes contain `offset` (for highlighting the field of a selected byte). */
export function fieldAtOffset(root: WireField, offset: number): WireField | undefined {
  let found: WireField | undefined;
  const visit = (f: WireField) => {
    if (f.unlocated || offset < f.offset || offset >= f.offset + Math.max(f.size, 1)) return;
    if (f.path !== '' || f === root) found = f;
    for (const c of f.children ?? []) visit(c);
  };
  visit(root);
  return found === root ? undefined : found;
}
