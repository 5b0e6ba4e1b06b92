// A filter on decoded field values: `type == 2 && sample.value > 10`, `color == RED || !(seq < 100)`,
// `hello.name == "left"`. Operands are field paths of the decoded message (a leading struct name such as
// `sample.` matches only messages decoded as that struct), numbers, "strings", and bare names: constants of the
// schema (MSG_SAMPLE) or enum value names (RED, compared with an enum field's name). A message missing a field,
// or one with no schema, does not match a comparison that uses it.
import { fieldAt, type DecodedField, type DecodedMessage } from './decoder';
import { SchemaError } from './types';

type Operand =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'number'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string };

type Node =
  | { readonly kind: 'and' | 'or'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'exists'; readonly operand: Operand };

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type FieldPredicate = (message: DecodedMessage | undefined) => boolean;

const TOKEN = /\s*(?:(&&|\|\||==|!=|<=|>=|[<>!()])|("(?:[^"\\]|\\.)*")|(-?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))|([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*))/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) throw new SchemaError('SYNTAX', `field filter: cannot read "${text.slice(at).trim().slice(0, 20)}"`);
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
    at = TOKEN.lastIndex;
  }
  return tokens;
}

class FilterParser {
  private pos = 0;
  constructor(private readonly tokens: string[]) {}

  parse(): Node {
    const node = this.or();
    if (this.pos < this.tokens.length) throw new SchemaError('SYNTAX', `field filter: unexpected "${this.tokens[this.pos]}"`);
    return node;
  }
  private or(): Node {
    let left = this.and();
    while (this.tokens[this.pos] === '||') { this.pos++; left = { kind: 'or', left, right: this.and() }; }
    return left;
  }
  private and(): Node {
    let left = this.unary();
    while (this.tokens[this.pos] === '&&') { this.pos++; left = { kind: 'and', left, right: this.unary() }; }
    return left;
  }
  private unary(): Node {
    if (this.tokens[this.pos] === '!') { this.pos++; return { kind: 'not', operand: this.unary() }; }
    if (this.tokens[this.pos] === '(') {
      this.pos++;
      const inner = this.or();
      if (this.tokens[this.pos++] !== ')') throw new SchemaError('SYNTAX', 'field filter: missing ")"');
      return inner;
    }
    const left = this.operand();
    const op = this.tokens[this.pos];
    if (op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      this.pos++;
      return { kind: 'compare', op, left, right: this.operand() };
    }
    return { kind: 'exists', operand: left };
  }
  private operand(): Operand {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new SchemaError('SYNTAX', 'field filter: ends too early');
    if (t.startsWith('"')) return { kind: 'string', value: JSON.parse(t) as string };
    if (/^-?\d|^-?0[xX]/.test(t)) {
      if (/^-?(0[xX][0-9a-fA-F]+|\d+)$/.test(t)) {
        const big = t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
        return { kind: 'number', value: big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big };
      }
      return { kind: 'number', value: Number(t) };
    }
    if (/^[A-Za-z_]/.test(t)) return { kind: 'path', path: t };
    throw new SchemaError('SYNTAX', `field filter: expected a field, number or string, found "${t}"`);
  }
}

type Value = number | bigint | string | boolean;

/** The short names of a decoded type a path may start with: "sample" for "struct sample". */
function typeNames(type: string): string[] {
  const short = type.replace(/^(struct|union|enum) /, '');
  return short === type ? [type] : [type, short];
}

function lookupField(message: DecodedMessage, path: string): DecodedField | undefined {
  const direct = fieldAt(message, path);
  if (direct) return direct;
  for (const name of typeNames(message.type)) {
    if (path.startsWith(`${name}.`)) return fieldAt(message, path.slice(name.length + 1));
  }
  return undefined;
}

function compareValues(op: CompareOp, a: Value, b: Value): boolean {
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a !== 'string' || typeof b !== 'string') return op === '!=';
  }
  switch (op) {
    case '==': return a == b; // eslint-disable-line eqeqeq -- number and bigint compare by value
    case '!=': return a != b; // eslint-disable-line eqeqeq
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    default: return a >= b;
  }
}

/**
 * Compiles a field filter. `constants` are the schema's named constants (enum values, #defines). Throws
 * SchemaError SYNTAX for text that is not a filter.
 */
export function compileFieldFilter(text: string, constants: ReadonlyMap<string, bigint> = new Map()): FieldPredicate {
  const tree = new FilterParser(tokenize(text)).parse();

  // A path operand: the field's value; an enum field also carries its value's name for comparisons with names.
  const resolve = (message: DecodedMessage, operand: Operand): { value: Value; enumName?: string } | undefined => {
    if (operand.kind !== 'path') return { value: operand.value };
    const field = lookupField(message, operand.path);
    if (field) return field.value === undefined ? undefined : { value: field.value, enumName: field.enumName };
    return undefined;
  };

  const compare = (message: DecodedMessage, node: Extract<Node, { kind: 'compare' }>): boolean => {
    const left = resolve(message, node.left);
    if (!left && node.left.kind === 'path' && !lookupField(message, node.left.path)) {
      // The left side is not a field: it may be a name compared with a field on the right (RED == color).
      const flipped: Record<CompareOp, CompareOp> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
      if (node.right.kind === 'path' && lookupField(message, node.right.path)) {
        return compare(message, { kind: 'compare', op: flipped[node.op], left: node.right, right: node.left });
      }
      return false;
    }
    if (!left) return false;
    let right = resolve(message, node.right);
    if (!right && node.right.kind === 'path') {
      const name = node.right.path;
      if (left.enumName !== undefined || (typeof left.value !== 'string' && !constants.has(name))) {
        // An enum value's name: equal when the field holds that name.
        if (node.op === '==') return left.enumName === name;
        if (node.op === '!=') return left.enumName !== name;
      }
      const constant = constants.get(name);
      if (constant === undefined) return false;
      right = { value: constant >= BigInt(Number.MIN_SAFE_INTEGER) && constant <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(constant) : constant };
    }
    if (!right) return false;
    return compareValues(node.op, left.value, right.value);
  };

  const evaluate = (message: DecodedMessage, node: Node): boolean => {
    switch (node.kind) {
      case 'and': return evaluate(message, node.left) && evaluate(message, node.right);
      case 'or': return evaluate(message, node.left) || evaluate(message, node.right);
      case 'not': return !evaluate(message, node.operand);
      case 'exists': {
        const r = resolve(message, node.operand);
        return r !== undefined && r.value !== 0 && r.value !== 0n && r.value !== false && r.value !== '';
      }
      case 'compare': return compare(message, node);
    }
  };

  return (message) => message !== undefined && evaluate(message, tree);
}
