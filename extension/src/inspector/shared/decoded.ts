// A decoded message as it crosses to the webview: postMessage carries JSON, so 64-bit values travel as decimal
// strings (`big: true`), and nothing else changes. Pure; the host converts, the webview shows.
import type { DecodeProblem, DecodedField, DecodedMessage } from '../../decode/decoder';

/** A DecodedField as JSON carries it: the value with 64-bit integers as decimal text (`big`), children likewise. */
export interface WireField extends Omit<DecodedField, 'value' | 'children'> {
  readonly value?: number | string | boolean;
  readonly big?: boolean;
  readonly children?: readonly WireField[];
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
