// The preprocessor and lexer of the C-declaration parser: comments, #include "local.h" (through a reader the
// caller gives, so the extension reads the workspace and tests read fixtures), object-like #define, #if/#ifdef/
// #elif/#else/#endif with defined() and integer expressions, and #pragma pack, which stays in the token stream
// because where it appears matters. Function-like macros are remembered so that using one is a clear error.
import { SchemaError } from './types';

export type TokenKind = 'ident' | 'number' | 'string' | 'char' | 'punct' | 'pack' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** "file:line" for messages. */
  readonly where: string;
  /** 'pack' tokens: the #pragma pack action. */
  readonly pack?: PackAction;
}

export type PackAction =
  | { readonly op: 'set'; readonly value: number | undefined }
  | { readonly op: 'push'; readonly value: number | undefined }
  | { readonly op: 'pop' };

/** Reads an included file; `from` is the including file's name. Returns the resolved name and its text. */
export type IncludeReader = (name: string, from: string) => { readonly file: string; readonly text: string } | undefined;

const PUNCT3 = ['<<=', '>>=', '...'];
const PUNCT2 = ['<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '->', '++', '--', '##'];
const PUNCT1 = '{}[]();:,*=<>!~+-/%&|^?.#';

/** Splits one logical line (continuations already joined, comments removed) into tokens. */
function lexLine(line: string, where: string, out: Token[]): void {
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') { i++; continue; }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < line.length && /[A-Za-z0-9_]/.test(line[j])) j++;
      out.push({ kind: 'ident', text: line.slice(i, j), where });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(line[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < line.length && /[A-Za-z0-9_.]/.test(line[j])) {
        // Exponent signs belong to the number (1e-3, 0x1p+4).
        if ((line[j] === '+' || line[j] === '-') && /[eEpP]/.test(line[j - 1])) { j++; continue; }
        j++;
      }
      while (j < line.length && (line[j] === '+' || line[j] === '-') && /[eEpP]/.test(line[j - 1])) j++;
      out.push({ kind: 'number', text: line.slice(i, j), where });
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += line[j] === '\\' ? 2 : 1;
      if (j >= line.length) throw new SchemaError('SYNTAX', `unterminated ${c === '"' ? 'string' : 'character'} literal`, where);
      out.push({ kind: c === '"' ? 'string' : 'char', text: line.slice(i, j + 1), where });
      i = j + 1;
      continue;
    }
    const three = line.slice(i, i + 3);
    const two = line.slice(i, i + 2);
    if (PUNCT3.includes(three)) { out.push({ kind: 'punct', text: three, where }); i += 3; continue; }
    if (PUNCT2.includes(two)) { out.push({ kind: 'punct', text: two, where }); i += 2; continue; }
    if (PUNCT1.includes(c)) { out.push({ kind: 'punct', text: c, where }); i++; continue; }
    throw new SchemaError('SYNTAX', `unexpected character '${c}'`, where);
  }
}

/** Removes comments (keeping line numbers) and joins backslash-continued lines; returns [text, first line no]. */
function logicalLines(text: string): Array<[string, number]> {
  let stripped = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const comment = text.slice(i, end < 0 ? text.length : end + 2);
      stripped += ' ' + comment.replace(/[^\n]/g, '');
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      stripped += text.slice(i, j + 1);
      i = j;
      continue;
    }
    stripped += c;
  }
  const lines: Array<[string, number]> = [];
  const raw = stripped.split('\n');
  for (let n = 0; n < raw.length; n++) {
    let line = raw[n];
    const first = n + 1;
    while (line.endsWith('\\') && n + 1 < raw.length) line = line.slice(0, -1) + raw[++n];
    lines.push([line, first]);
    // Keep the line count: continued lines become empty lines.
    for (let k = first; k < n + 1; k++) lines.push(['', k + 1]);
  }
  return lines;
}

interface Macro {
  readonly body: readonly Token[];
  readonly functionLike: boolean;
}

/** Evaluates a constant integer expression over tokens (shared with the parser, which adds sizeof and enums). */
export class ExpressionEvaluator {
  private pos = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly identifier: (name: string, where: string) => bigint,
    private readonly sizeOf?: (tokens: readonly Token[], at: number) => { value: bigint; next: number } | undefined,
  ) {}

  static evaluate(tokens: readonly Token[], identifier: (name: string, where: string) => bigint,
    sizeOf?: (tokens: readonly Token[], at: number) => { value: bigint; next: number } | undefined): bigint {
    const e = new ExpressionEvaluator(tokens, identifier, sizeOf);
    const value = e.conditional();
    if (e.pos < tokens.length) throw new SchemaError('BAD_CONSTANT', `unexpected '${tokens[e.pos].text}' in a constant expression`, tokens[e.pos].where);
    return value;
  }

  private peek(): Token | undefined { return this.tokens[this.pos]; }
  private where(): string { return (this.tokens[this.pos] ?? this.tokens[this.tokens.length - 1])?.where ?? ''; }
  private accept(text: string): boolean {
    const t = this.peek();
    if (t && t.kind === 'punct' && t.text === text) { this.pos++; return true; }
    return false;
  }

  private conditional(): bigint {
    const c = this.binary(0);
    if (this.accept('?')) {
      const a = this.conditional();
      if (!this.accept(':')) throw new SchemaError('BAD_CONSTANT', "expected ':' in a constant expression", this.where());
      const b = this.conditional();
      return c !== 0n ? a : b;
    }
    return c;
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [
    ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
  ];

  private binary(level: number): bigint {
    if (level >= ExpressionEvaluator.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (!t || t.kind !== 'punct' || !ExpressionEvaluator.LEVELS[level].includes(t.text)) return left;
      this.pos++;
      const right = this.binary(level + 1);
      left = this.apply(t, left, right);
    }
  }

  private apply(op: Token, a: bigint, b: bigint): bigint {
    const bool = (v: boolean) => (v ? 1n : 0n);
    switch (op.text) {
      case '||': return bool(a !== 0n || b !== 0n);
      case '&&': return bool(a !== 0n && b !== 0n);
      case '|': return a | b;
      case '^': return a ^ b;
      case '&': return a & b;
      case '==': return bool(a === b);
      case '!=': return bool(a !== b);
      case '<': return bool(a < b);
      case '>': return bool(a > b);
      case '<=': return bool(a <= b);
      case '>=': return bool(a >= b);
      case '<<': return b < 0n || b > 127n ? this.fail(op, 'shift out of range') : a << b;
      case '>>': return b < 0n || b > 127n ? this.fail(op, 'shift out of range') : a >> b;
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      case '/': return b === 0n ? this.fail(op, 'division by zero') : a / b;
      default: return b === 0n ? this.fail(op, 'division by zero') : a % b;
    }
  }

  private fail(at: Token, message: string): never {
    throw new SchemaError('BAD_CONSTANT', message, at.where);
  }

  private unary(): bigint {
    const t = this.peek();
    if (!t) throw new SchemaError('BAD_CONSTANT', 'a constant expression ends too early', this.where());
    if (t.kind === 'punct') {
      if (t.text === '-') { this.pos++; return -this.unary(); }
      if (t.text === '+') { this.pos++; return this.unary(); }
      if (t.text === '~') { this.pos++; return ~this.unary(); }
      if (t.text === '!') { this.pos++; return this.unary() === 0n ? 1n : 0n; }
      if (t.text === '(') {
        // A cast to an integer type: "(uint8_t)5" keeps the value (the schema's constants are small).
        const close = this.tokens[this.pos + 2];
        const next = this.tokens[this.pos + 1];
        if (next && next.kind === 'ident' && close && close.kind === 'punct' && close.text === ')' && /_t$|^(unsigned|signed|int|long|short|char)$/.test(next.text)) {
          this.pos += 3;
          return this.unary();
        }
        this.pos++;
        const v = this.conditional();
        if (!this.accept(')')) throw new SchemaError('BAD_CONSTANT', "expected ')'", this.where());
        return v;
      }
    }
    if (t.kind === 'number') { this.pos++; return parseIntegerLiteral(t); }
    if (t.kind === 'char') { this.pos++; return parseCharLiteral(t); }
    if (t.kind === 'ident') {
      if (t.text === 'sizeof' && this.sizeOf) {
        const r = this.sizeOf(this.tokens, this.pos + 1);
        if (r) { this.pos = r.next; return r.value; }
      }
      this.pos++;
      return this.identifier(t.text, t.where);
    }
    throw new SchemaError('BAD_CONSTANT', `unexpected '${t.text}' in a constant expression`, t.where);
  }
}

export function parseIntegerLiteral(t: Token): bigint {
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(t.text);
  if (!m) throw new SchemaError('BAD_CONSTANT', `'${t.text}' is not an integer constant`, t.where);
  const digits = m[1];
  if (/^0[0-7]+$/.test(digits)) return BigInt('0o' + digits.slice(1));
  return BigInt(digits);
}

function parseCharLiteral(t: Token): bigint {
  const body = t.text.slice(1, -1);
  if (body.length === 1) return BigInt(body.charCodeAt(0));
  const escapes: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };
  if (body.length === 2 && body[0] === '\\' && body[1] in escapes) return BigInt(escapes[body[1]]);
  const hex = /^\\x([0-9a-fA-F]{1,2})$/.exec(body);
  if (hex) return BigInt(parseInt(hex[1], 16));
  throw new SchemaError('BAD_CONSTANT', `character constant ${t.text} is not supported`, t.where);
}

function parsePragmaPack(tokens: readonly Token[], where: string): PackAction {
  // tokens after "pack": ( ), (N), (push), (push, N), (pop), (push, ident, N), (pop, ident)
  const inner = tokens.slice(1, -1).filter((t) => t.text !== ',');
  if (tokens[0]?.text !== '(' || tokens[tokens.length - 1]?.text !== ')') throw new SchemaError('SYNTAX', 'expected #pragma pack(...)', where);
  const number = inner.find((t) => t.kind === 'number');
  const value = number ? Number(parseIntegerLiteral(number)) : undefined;
  if (value !== undefined && (value <= 0 || value > 16 || (value & (value - 1)) !== 0)) {
    throw new SchemaError('BAD_CONSTANT', `#pragma pack(${value}): the alignment must be 1, 2, 4, 8 or 16`, where);
  }
  if (inner[0]?.text === 'push') return { op: 'push', value };
  if (inner[0]?.text === 'pop') return { op: 'pop' };
  return { op: 'set', value };
}

export interface Preprocessed {
  readonly tokens: readonly Token[];
  /** Object-like macros defined at the end (their bodies), e.g. for the integer constants of a protocol. */
  readonly defines: ReadonlyMap<string, readonly Token[]>;
}

/** Runs the preprocessor over a file and returns its tokens (with included files' tokens in place). */
export function preprocess(text: string, file: string, readInclude?: IncludeReader): Preprocessed {
  const macros = new Map<string, Macro>();
  const out: Token[] = [];
  const including = new Set<string>();

  const expand = (tokens: readonly Token[], active: ReadonlySet<string>, sink: Token[]) => {
    for (const t of tokens) {
      const macro = t.kind === 'ident' && !active.has(t.text) ? macros.get(t.text) : undefined;
      if (!macro) { sink.push(t); continue; }
      if (macro.functionLike) throw new SchemaError('UNSUPPORTED', `function-like macro ${t.text}(...) is not supported in schemas`, t.where);
      expand(macro.body.map((b) => ({ ...b, where: t.where })), new Set([...active, t.text]), sink);
    }
  };

  const run = (source: string, name: string) => {
    if (including.has(name)) throw new SchemaError('INCLUDE', `${name} includes itself`);
    including.add(name);
    // Each #if level: whether its branch is active now, whether one branch was already taken.
    const conditions: Array<{ active: boolean; taken: boolean; parentActive: boolean }> = [];
    const active = () => conditions.every((c) => c.active);
    for (const [line, lineNo] of logicalLines(source)) {
      const where = `${name}:${lineNo}`;
      const trimmed = line.trim();
      if (trimmed.startsWith('#')) {
        const directive = /^#\s*([A-Za-z_]*)\s*(.*)$/.exec(trimmed);
        const keyword = directive?.[1] ?? '';
        const rest = directive?.[2] ?? '';
        const restTokens = (): Token[] => { const ts: Token[] = []; lexLine(rest, where, ts); return ts; };
        const evaluate = (): boolean => {
          const raw = restTokens();
          const resolved: Token[] = [];
          for (let i = 0; i < raw.length; i++) {
            if (raw[i].kind === 'ident' && raw[i].text === 'defined') {
              const paren = raw[i + 1]?.text === '(';
              const nameToken = raw[i + (paren ? 2 : 1)];
              if (!nameToken || nameToken.kind !== 'ident') throw new SchemaError('SYNTAX', 'defined needs a name', where);
              resolved.push({ kind: 'number', text: macros.has(nameToken.text) ? '1' : '0', where });
              i += paren ? 3 : 1;
              continue;
            }
            resolved.push(raw[i]);
          }
          const expanded: Token[] = [];
          expand(resolved, new Set(), expanded);
          // Unknown identifiers in #if are 0, as in C.
          return ExpressionEvaluator.evaluate(expanded, () => 0n) !== 0n;
        };
        switch (keyword) {
          case 'if': case 'ifdef': case 'ifndef': {
            const parentActive = active();
            let cond = false;
            if (parentActive) {
              if (keyword === 'if') cond = evaluate();
              else {
                const macroName = restTokens()[0]?.text ?? '';
                cond = macros.has(macroName) === (keyword === 'ifdef');
              }
            }
            conditions.push({ active: parentActive && cond, taken: cond, parentActive });
            continue;
          }
          case 'elif': case 'else': {
            const top = conditions[conditions.length - 1];
            if (!top) throw new SchemaError('SYNTAX', `#${keyword} without #if`, where);
            const cond = !top.taken && top.parentActive && (keyword === 'else' || evaluate());
            top.active = cond;
            top.taken = top.taken || cond;
            continue;
          }
          case 'endif':
            if (!conditions.pop()) throw new SchemaError('SYNTAX', '#endif without #if', where);
            continue;
        }
        if (!active()) continue;
        switch (keyword) {
          case 'define': {
            const m = /^([A-Za-z_][A-Za-z0-9_]*)(\()?(.*)$/.exec(rest);
            if (!m) throw new SchemaError('SYNTAX', '#define needs a name', where);
            const body: Token[] = [];
            if (!m[2]) lexLine(m[3], where, body);
            macros.set(m[1], { body, functionLike: m[2] !== undefined });
            break;
          }
          case 'undef':
            macros.delete(rest.trim());
            break;
          case 'include': {
            const local = /^"([^"]+)"/.exec(rest);
            // <system> headers declare nothing a schema needs: the fixed-width types are built in.
            if (!local) break;
            const included = readInclude?.(local[1], name);
            if (!included) throw new SchemaError('INCLUDE', `cannot read #include "${local[1]}"`, where);
            run(included.text, included.file);
            break;
          }
          case 'pragma': {
            const ts = restTokens();
            if (ts[0]?.text === 'pack') out.push({ kind: 'pack', text: '#pragma pack', where, pack: parsePragmaPack(ts.slice(1), where) });
            else if (ts[0]?.text === 'once') { /* one pass over each file anyway */ }
            break;
          }
          case 'error':
            throw new SchemaError('SYNTAX', `#error ${rest}`, where);
          default:
            break; // #line, #warning, #ident, empty '#': nothing to do for declarations
        }
        continue;
      }
      if (!active()) continue;
      const tokens: Token[] = [];
      lexLine(line, where, tokens);
      expand(tokens, new Set(), out);
    }
    if (conditions.length > 0) throw new SchemaError('SYNTAX', `#if without #endif in ${name}`);
    including.delete(name);
  };

  run(text, file);
  out.push({ kind: 'eof', text: '', where: `${file}:end` });
  const defines = new Map<string, readonly Token[]>();
  for (const [name, macro] of macros) if (!macro.functionLike) defines.set(name, macro.body);
  return { tokens: out, defines };
}
