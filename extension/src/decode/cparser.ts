// Parses the C declarations of a schema (a header a user pastes or already has) and lays every struct, union and
// enum out as gcc does for the chosen target: member alignment, #pragma pack, __attribute__((packed/aligned)),
// bit-fields (the System V rules: a bit-field does not straddle a unit of its type unless packed), flexible array
// members, anonymous members and scalar_storage_order. Function prototypes, variables and static assertions in
// the header are skipped. Anything else that cannot be laid out exactly is refused with a SchemaError, never
// guessed.
import { ExpressionEvaluator, preprocess, type IncludeReader, type PackAction, type Token } from './preprocess';
import { TARGETS, builtinTypes, pointerType, type TargetModel } from './targets';
import {
  SchemaError,
  type ArrayType, type CSchema, type CType, type Endian, type EnumType, type Field, type IntType, type RecordType, type TargetName,
} from './types';

export interface ParseOptions {
  /** Data model; default x86_64-linux. */
  readonly target?: TargetName;
  /** Byte order of scalars outside records that set scalar_storage_order; default little. */
  readonly endian?: Endian;
  /** File name used in messages and as the base of #include "..." */
  readonly file?: string;
  readonly readInclude?: IncludeReader;
}

interface Attributes {
  packed?: boolean;
  aligned?: number;
  endian?: Endian;
}

interface Specifier {
  readonly type: CType | undefined; // undefined: an incomplete struct/union (only pointers to it are allowed)
  readonly spelled: string;
  readonly isTypedef: boolean;
  /** The specifier was an untagged struct/union body (it may be an anonymous member). */
  readonly anonymousRecord: boolean;
  readonly alignas?: number;
}

interface Declarator {
  readonly name: string;
  readonly type: CType | undefined;
  readonly bitWidth?: number;
  readonly attributes: Attributes;
  readonly where: string;
}

const QUALIFIERS = new Set([
  'const', 'volatile', 'restrict', '__restrict', '__restrict__', 'static', 'extern', 'register', 'inline', '__inline',
  '__inline__', '_Atomic', '__extension__', 'auto', '_Noreturn', '__const', '__volatile__', '_Thread_local', 'thread_local',
]);
const BASE_WORDS = new Set(['signed', '__signed__', 'unsigned', 'char', 'short', 'int', 'long', 'float', 'double', '_Bool', 'void']);

const alignUp = (value: number, align: number) => Math.ceil(value / align) * align;

class Parser {
  private pos = 0;
  private readonly model: TargetModel;
  private readonly builtins: ReturnType<typeof builtinTypes>;
  readonly types = new Map<string, CType>();
  readonly constants = new Map<string, bigint>();
  private pack: number | undefined;
  private readonly packStack: Array<number | undefined> = [];
  private anonymousCount = 0;

  constructor(
    private readonly tokens: readonly Token[],
    readonly target: TargetName,
    readonly endian: Endian,
  ) {
    this.model = TARGETS[target];
    this.builtins = builtinTypes(this.model);
  }

  // ---- token helpers
  private peek(offset = 0): Token { return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]; }
  private next(): Token { return this.tokens[Math.min(this.pos++, this.tokens.length - 1)]; }
  private is(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return (t.kind === 'punct' || t.kind === 'ident') && t.text === text;
  }
  private accept(text: string): boolean {
    if (this.is(text)) { this.pos++; return true; }
    return false;
  }
  private expect(text: string, what = `'${text}'`): Token {
    const t = this.peek();
    if (!this.is(text)) throw new SchemaError('SYNTAX', `expected ${what}, found ${t.kind === 'eof' ? 'the end' : `'${t.text}'`}`, t.where);
    return this.next();
  }
  private fail(code: ConstructorParameters<typeof SchemaError>[0], message: string, at: Token = this.peek()): never {
    throw new SchemaError(code, message, at.where);
  }

  // ---- top level
  parse(): void {
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (t.kind === 'pack') { this.applyPack(t.pack!); this.pos++; continue; }
      if (this.accept(';') || this.accept('}')) continue; // '}' closes an extern "C" { block
      if (this.is('extern') && this.peek(1).kind === 'string') {
        this.pos += 2;
        this.accept('{');
        continue;
      }
      if (this.is('_Static_assert') || this.is('static_assert')) { this.skipBalancedStatement(); continue; }
      this.topLevelDeclaration();
    }
  }

  private applyPack(action: PackAction): void {
    if (action.op === 'push') { this.packStack.push(this.pack); if (action.value !== undefined) this.pack = action.value; }
    else if (action.op === 'pop') this.pack = this.packStack.pop();
    else this.pack = action.value;
  }

  private skipBalancedStatement(): void {
    let depth = 0;
    for (;;) {
      const t = this.next();
      if (t.kind === 'eof') return;
      if (t.text === '(' || t.text === '{' || t.text === '[') depth++;
      if (t.text === ')' || t.text === '}' || t.text === ']') depth--;
      if (depth === 0 && t.text === ';') return;
    }
  }

  private skipBalanced(open: string, close: string): void {
    let depth = 0;
    do {
      const t = this.next();
      if (t.kind === 'eof') this.fail('SYNTAX', `missing '${close}'`, t);
      if (t.text === open) depth++;
      else if (t.text === close) depth--;
    } while (depth > 0);
  }

  private topLevelDeclaration(): void {
    const spec = this.specifiers();
    if (this.accept(';')) return; // "struct x {...};" or "enum e {...};"
    for (;;) {
      const d = this.declarator(spec);
      if (d === 'function') {
        if (this.is('{')) { this.skipBalanced('{', '}'); return; }
      } else if (spec.isTypedef) {
        this.defineTypedef(d);
      } else if (this.accept('=')) {
        this.skipInitializer();
      }
      if (this.accept(',')) continue;
      this.expect(';');
      return;
    }
  }

  private skipInitializer(): void {
    let depth = 0;
    while (this.peek().kind !== 'eof') {
      if (depth === 0 && (this.is(',') || this.is(';'))) return;
      const t = this.next();
      if (t.text === '{' || t.text === '(') depth++;
      if (t.text === '}' || t.text === ')') depth--;
    }
  }

  private defineTypedef(d: Declarator): void {
    if (!d.type) this.fail('INCOMPLETE_TYPE', `typedef ${d.name} names an incomplete type`);
    const existing = this.types.get(d.name);
    if (existing && existing !== d.type) this.fail('REDEFINED', `${d.name} is defined twice`);
    // Untagged records and enums are known by their typedef name.
    const named = d.type as { name: string; anonymous?: boolean };
    if (named.anonymous) { named.name = d.name; named.anonymous = false; }
    this.types.set(d.name, d.type);
  }

  // ---- declaration specifiers
  private specifiers(): Specifier {
    const words: string[] = [];
    let type: CType | undefined;
    let spelled = '';
    let haveType = false;
    let isTypedef = false;
    let anonymousRecord = false;
    let alignas: number | undefined;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'pack') { this.applyPack(t.pack!); this.pos++; continue; }
      if (t.kind !== 'ident') break;
      if (t.text === 'typedef') { isTypedef = true; this.pos++; continue; }
      if (QUALIFIERS.has(t.text)) { this.pos++; continue; }
      if (t.text === '__attribute__' || t.text === '__attribute' || t.text === '__declspec') { this.attributes(); continue; }
      if (t.text === '_Alignas' || t.text === 'alignas') {
        this.pos++;
        this.expect('(');
        alignas = Math.max(alignas ?? 1, this.alignasArgument());
        this.expect(')');
        continue;
      }
      if (BASE_WORDS.has(t.text)) { words.push(t.text === '__signed__' ? 'signed' : t.text); this.pos++; continue; }
      if (haveType || words.length > 0) break;
      if (t.text === 'struct' || t.text === 'union') {
        const r = this.recordSpecifier();
        type = r.type;
        spelled = r.spelled;
        anonymousRecord = r.anonymous;
        haveType = true;
        continue;
      }
      if (t.text === 'enum') {
        type = this.enumSpecifier();
        spelled = type.name;
        haveType = true;
        continue;
      }
      const typedefType = this.types.get(t.text) ?? this.builtins.get(t.text);
      if (typedefType) { type = typedefType; spelled = t.text; haveType = true; this.pos++; continue; }
      break;
    }
    if (words.length > 0) {
      const name = this.builtinName(words);
      if (name === 'void') { type = undefined; spelled = 'void'; }
      else { type = this.builtins.get(name); spelled = name; }
      if (name !== 'void' && !type) this.fail('UNKNOWN_TYPE', `unknown type '${words.join(' ')}'`);
      haveType = true;
    }
    if (!haveType) {
      const t = this.peek();
      this.fail('UNKNOWN_TYPE', t.kind === 'eof' ? 'a declaration ends too early' : `unknown type name '${t.text}'`, t);
    }
    return { type, spelled, isTypedef, anonymousRecord, alignas };
  }

  private alignasArgument(): number {
    const start = this.pos;
    // _Alignas(type) or _Alignas(constant)
    const t = this.peek();
    if (t.kind === 'ident' && (BASE_WORDS.has(t.text) || this.types.has(t.text) || this.builtins.has(t.text) || t.text === 'struct' || t.text === 'union')) {
      const spec = this.specifiers();
      if (!spec.type) this.fail('INCOMPLETE_TYPE', '_Alignas of an incomplete type');
      return spec.type.align;
    }
    this.pos = start;
    return this.alignmentValue(this.constantUntil([')']));
  }

  private builtinName(words: string[]): string {
    const count = (w: string) => words.filter((x) => x === w).length;
    const unsigned = count('unsigned') > 0;
    const signed = count('signed') > 0;
    if (unsigned && signed) this.fail('SYNTAX', 'both signed and unsigned');
    const longs = count('long');
    if (count('void')) return 'void';
    if (count('_Bool')) return '_Bool';
    if (count('float')) return 'float';
    if (count('double')) return longs ? 'long double' : 'double';
    let base: string;
    if (count('char')) return unsigned ? 'unsigned char' : signed ? 'signed char' : 'char';
    if (count('short')) base = 'short';
    else if (longs >= 2) base = 'long long';
    else if (longs === 1) base = 'long';
    else base = 'int';
    return unsigned ? `unsigned ${base}` : base;
  }

  // ---- __attribute__((...))
  private attributes(into: Attributes = {}): Attributes {
    while (this.is('__attribute__') || this.is('__attribute') || this.is('__declspec')) {
      const declspec = this.next().text === '__declspec';
      this.expect('(');
      if (!declspec) this.expect('(');
      while (!this.is(')')) {
        const name = this.next();
        if (name.kind === 'eof') this.fail('SYNTAX', 'unterminated __attribute__');
        if (name.text === ',') continue;
        const plain = name.text.replace(/^__(.*)__$/, '$1');
        let args: Token[] = [];
        if (this.is('(')) {
          const start = this.pos + 1;
          this.skipBalanced('(', ')');
          args = this.tokens.slice(start, this.pos - 1) as Token[];
        }
        if (plain === 'packed') into.packed = true;
        else if (plain === 'aligned' || plain === 'align') {
          const value = args.length === 0 ? 16 : this.alignmentValue(this.evaluate(args));
          into.aligned = Math.max(into.aligned ?? 1, value);
        } else if (plain === 'scalar_storage_order') {
          const order = args[0]?.text;
          if (order === '"big-endian"') into.endian = 'big';
          else if (order === '"little-endian"') into.endian = 'little';
          else this.fail('SYNTAX', 'scalar_storage_order must be "big-endian" or "little-endian"', name);
        }
        // Other attributes (unused, deprecated, may_alias, ...) do not change the layout.
      }
      this.expect(')');
      if (!declspec) this.expect(')');
    }
    return into;
  }

  private alignmentValue(value: bigint): number {
    const n = Number(value);
    if (!(n >= 1 && n <= 1 << 16) || (n & (n - 1)) !== 0) this.fail('BAD_CONSTANT', `alignment ${value} is not a power of two`);
    return n;
  }

  // ---- constant expressions
  private evaluate(tokens: readonly Token[]): bigint {
    return ExpressionEvaluator.evaluate(tokens, (name, where) => {
      const v = this.constants.get(name);
      if (v === undefined) throw new SchemaError('BAD_CONSTANT', `'${name}' is not a constant`, where);
      return v;
    }, (ts, at) => this.sizeOfIn(ts, at));
  }

  /** sizeof(type) inside a constant expression: parses the type with a nested parser over the same names. */
  private sizeOfIn(tokens: readonly Token[], at: number): { value: bigint; next: number } | undefined {
    if (tokens[at]?.text !== '(') return undefined;
    let depth = 0;
    let end = at;
    for (; end < tokens.length; end++) {
      if (tokens[end].text === '(') depth++;
      if (tokens[end].text === ')' && --depth === 0) break;
    }
    const inner = [...tokens.slice(at + 1, end), { kind: 'eof', text: '', where: tokens[at].where } as Token];
    const sub = new Parser(inner, this.target, this.endian);
    for (const [k, v] of this.types) sub.types.set(k, v);
    for (const [k, v] of this.constants) sub.constants.set(k, v);
    const spec = sub.specifiers();
    const d = sub.declarator(spec, true);
    if (d === 'function' || !d.type) throw new SchemaError('BAD_CONSTANT', 'sizeof of an incomplete type', tokens[at].where);
    return { value: BigInt(d.type.size), next: end + 1 };
  }

  /** Collects tokens up to (not including) one of the stop tokens at depth 0, and evaluates them. */
  private constantUntil(stops: readonly string[]): bigint {
    const start = this.pos;
    let depth = 0;
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (depth === 0 && stops.includes(t.text)) break;
      if (t.text === '(' || t.text === '[') depth++;
      if (t.text === ')' || t.text === ']') depth--;
      this.pos++;
    }
    const tokens = this.tokens.slice(start, this.pos);
    if (tokens.length === 0) this.fail('BAD_CONSTANT', 'expected a constant');
    return this.evaluate(tokens);
  }

  // ---- declarators
  /** Parses one declarator; returns 'function' for a function prototype (skipped). */
  private declarator(spec: Specifier, abstract = false): Declarator | 'function' {
    const where = this.peek().where;
    const attributes = this.attributes();
    let pointers = 0;
    while (this.accept('*')) {
      pointers++;
      while (this.peek().kind === 'ident' && QUALIFIERS.has(this.peek().text)) this.pos++;
      this.attributes(attributes);
    }
    let name = '';
    let functionPointer = false;
    if (this.is('(') && this.is('*', 1)) {
      // (*name)(params) or (*name[N])(params): a function pointer
      this.pos += 2;
      name = this.peek().kind === 'ident' ? this.next().text : '';
      const dims = this.arrayDimensions();
      this.expect(')');
      if (this.is('(')) this.skipBalanced('(', ')');
      functionPointer = true;
      let type: CType = pointerType(this.model, 'function');
      for (let i = dims.length - 1; i >= 0; i--) type = this.arrayOf(type, dims[i]);
      this.attributes(attributes);
      return { name, type, attributes, where };
    }
    if (this.peek().kind === 'ident' && !abstract) name = this.next().text;
    else if (this.peek().kind === 'ident' && abstract && !this.types.has(this.peek().text)) name = this.next().text;
    if (!functionPointer && this.is('(')) {
      this.skipBalanced('(', ')');
      this.attributes();
      return 'function';
    }
    const dims = this.arrayDimensions();
    this.attributes(attributes);
    let bitWidth: number | undefined;
    if (this.accept(':')) {
      const width = this.constantUntil([',', ';', '__attribute__']);
      if (width < 0n || width > 64n) this.fail('BAD_BITFIELD', `bit-field width ${width} is out of range`);
      bitWidth = Number(width);
      this.attributes(attributes);
    }
    let type: CType | undefined = spec.type;
    if (pointers > 0) type = pointerType(this.model, spec.spelled + ' *'.repeat(pointers - 1));
    if (dims.length > 0) {
      if (!type) this.fail('INCOMPLETE_TYPE', `array of incomplete type ${spec.spelled}`);
      for (let i = dims.length - 1; i >= 0; i--) type = this.arrayOf(type!, dims[i]);
    }
    return { name, type, bitWidth, attributes, where };
  }

  private arrayDimensions(): Array<number | undefined> {
    const dims: Array<number | undefined> = [];
    while (this.accept('[')) {
      if (this.accept(']')) { dims.push(undefined); continue; }
      const n = this.constantUntil([']']);
      if (n < 0n || n > 1n << 31n) this.fail('BAD_CONSTANT', `array length ${n} is out of range`);
      dims.push(Number(n));
      this.expect(']');
    }
    if (dims.slice(1).some((d) => d === undefined)) this.fail('SYNTAX', 'only the first array dimension may be empty');
    return dims;
  }

  private arrayOf(element: CType, length: number | undefined): ArrayType {
    const name = element.kind === 'array'
      ? element.name.replace(/\[/, `[${length ?? ''}][`)
      : `${element.name}[${length ?? ''}]`;
    return { kind: 'array', name, element, length, size: (length ?? 0) * element.size, align: element.align };
  }

  // ---- enums
  private enumSpecifier(): EnumType {
    this.expect('enum');
    const attributes = this.attributes();
    const tag = this.peek().kind === 'ident' && !this.is('{') && !this.is(':') ? this.next().text : undefined;
    this.attributes(attributes);
    let fixed: IntType | undefined;
    if (tag !== undefined || this.is(':')) {
      if (this.accept(':')) {
        const spec = this.specifiers();
        if (!spec.type || spec.type.kind !== 'int') this.fail('UNKNOWN_TYPE', 'an enum base must be an integer type');
        fixed = spec.type;
      }
    }
    if (!this.is('{')) {
      const known = tag !== undefined ? this.types.get(`enum ${tag}`) : undefined;
      if (!known || known.kind !== 'enum') this.fail('INCOMPLETE_TYPE', `enum ${tag ?? ''} is not defined`);
      return known;
    }
    this.expect('{');
    const names = new Map<bigint, string>();
    const values = new Map<string, bigint>();
    let nextValue = 0n;
    while (!this.accept('}')) {
      const nameToken = this.next();
      if (nameToken.kind !== 'ident') this.fail('SYNTAX', 'expected an enumerator name', nameToken);
      this.attributes();
      if (this.accept('=')) nextValue = this.constantUntil([',', '}']);
      if (values.has(nameToken.text) || this.constants.has(nameToken.text)) this.fail('REDEFINED', `${nameToken.text} is defined twice`, nameToken);
      values.set(nameToken.text, nextValue);
      if (!names.has(nextValue)) names.set(nextValue, nameToken.text);
      this.constants.set(nameToken.text, nextValue);
      nextValue++;
      if (!this.accept(',')) { this.expect('}'); break; }
    }
    this.attributes(attributes);
    const base = fixed ?? this.enumBase([...values.values()], attributes.packed === true);
    const type = {
      kind: 'enum' as const, name: tag !== undefined ? `enum ${tag}` : 'enum <anonymous>', anonymous: tag === undefined,
      base, size: base.size, align: base.align, names, values,
    };
    if (tag !== undefined) this.register(`enum ${tag}`, type);
    return type;
  }

  /** gcc: unsigned int when no value is negative and all fit, else int, else 64 bits; packed picks the smallest. */
  private enumBase(values: bigint[], packed: boolean): IntType {
    const min = values.reduce((a, b) => (b < a ? b : a), 0n);
    const max = values.reduce((a, b) => (b > a ? b : a), 0n);
    const fits = (bytes: number, signed: boolean) => signed
      ? min >= -(1n << BigInt(bytes * 8 - 1)) && max < 1n << BigInt(bytes * 8 - 1)
      : min >= 0n && max < 1n << BigInt(bytes * 8);
    const sizes = packed ? [1, 2, 4, 8] : [4, 8];
    for (const size of sizes) {
      for (const signed of min < 0n ? [true] : [false, true]) {
        if (fits(size, signed)) {
          const align = size === 8 ? this.model.longLongAlign : size;
          return { kind: 'int', name: `${signed ? 'int' : 'uint'}${size * 8}_t`, size, align, signed };
        }
      }
    }
    this.fail('BAD_CONSTANT', 'enum values do not fit 64 bits');
  }

  private register(name: string, type: CType): void {
    const existing = this.types.get(name);
    if (existing && existing !== type) this.fail('REDEFINED', `${name} is defined twice`);
    this.types.set(name, type);
  }

  // ---- structs and unions
  private recordSpecifier(): { type: CType | undefined; spelled: string; anonymous: boolean } {
    const kind = this.next().text as 'struct' | 'union';
    const attributes = this.attributes();
    const tag = this.peek().kind === 'ident' ? this.next().text : undefined;
    this.attributes(attributes);
    const key = tag !== undefined ? `${kind} ${tag}` : undefined;
    if (!this.is('{')) {
      if (key === undefined) this.fail('SYNTAX', `${kind} needs a name or a body`);
      const known = this.types.get(key);
      return { type: known, spelled: key, anonymous: false };
    }
    this.expect('{');
    const members: Array<{ d: Declarator; align: number | undefined; anonymous: boolean }> = [];
    while (!this.accept('}')) {
      if (this.peek().kind === 'pack') { this.applyPack(this.peek().pack!); this.pos++; continue; }
      if (this.accept(';')) continue;
      if (this.is('_Static_assert') || this.is('static_assert')) { this.skipBalancedStatement(); continue; }
      const spec = this.specifiers();
      if (this.is(';')) {
        this.pos++;
        if (spec.anonymousRecord && spec.type) {
          members.push({ d: { name: '', type: spec.type, attributes: {}, where: this.peek().where }, align: spec.alignas, anonymous: true });
        }
        continue;
      }
      for (;;) {
        const d = this.declarator(spec);
        if (d === 'function') this.fail('SYNTAX', 'a struct cannot contain a function');
        members.push({ d, align: spec.alignas, anonymous: false });
        if (this.accept(',')) continue;
        this.expect(';');
        break;
      }
    }
    this.attributes(attributes);
    const name = key ?? `${kind} <anonymous ${++this.anonymousCount}>`;
    const type = this.layout(kind, name, members, attributes);
    (type as { anonymous?: boolean }).anonymous = key === undefined;
    if (key !== undefined) this.register(key, type);
    return { type, spelled: type.name, anonymous: key === undefined };
  }

  private layout(kind: 'struct' | 'union', name: string,
    members: Array<{ d: Declarator; align: number | undefined; anonymous: boolean }>, attributes: Attributes): RecordType {
    const fields: Field[] = [];
    let bitPos = 0; // struct: next free bit; union: the largest member in bits
    let recordAlign = 1;
    const endian = attributes.endian;
    members.forEach(({ d, align: alignas }, index) => {
      const type = d.type;
      if (!type) this.fail('INCOMPLETE_TYPE', `member ${d.name || '(anonymous)'} of ${name} has an incomplete type`, { kind: 'eof', text: '', where: d.where });
      if (type.kind === 'array' && type.length === undefined) {
        if (index !== members.length - 1 || kind === 'union') {
          this.fail('SYNTAX', `flexible array member ${d.name} must be the last member of a struct`, { kind: 'eof', text: '', where: d.where });
        }
      }
      const packed = attributes.packed === true || d.attributes.packed === true;
      let fieldAlign = packed ? 1 : type.align;
      const userAlign = Math.max(d.attributes.aligned ?? 1, alignas ?? 1);
      if (userAlign > 1) fieldAlign = Math.max(fieldAlign, userAlign);
      if (this.pack !== undefined) fieldAlign = Math.min(fieldAlign, this.pack);

      if (d.bitWidth !== undefined) {
        if (type.kind !== 'int' && type.kind !== 'enum') this.fail('BAD_BITFIELD', `bit-field ${d.name} must have an integer or enum type`, { kind: 'eof', text: '', where: d.where });
        if (d.bitWidth > type.size * 8) this.fail('BAD_BITFIELD', `bit-field ${d.name} is wider than its type`, { kind: 'eof', text: '', where: d.where });
        if (d.bitWidth === 0 && d.name) this.fail('BAD_BITFIELD', `zero-width bit-field ${d.name} must be unnamed`, { kind: 'eof', text: '', where: d.where });
        if (this.model.msBitfields) this.fail('UNSUPPORTED', `bit-fields are not supported for ${this.target} (Microsoft layout)`, { kind: 'eof', text: '', where: d.where });
        if ((endian ?? this.endian) === 'big') this.fail('UNSUPPORTED', 'bit-fields in big-endian records are not supported yet', { kind: 'eof', text: '', where: d.where });
        const unitBits = type.size * 8;
        const typeAlignBits = Math.min(type.align, this.pack ?? type.align) * 8;
        if (kind === 'union') {
          // An unnamed bit-field is padding (C11 6.7.2.1p12): it adds to the union's size, names no member.
          if (d.bitWidth > 0 && d.name) fields.push({ name: d.name, type, offset: 0, bitOffset: 0, bitWidth: d.bitWidth });
          bitPos = Math.max(bitPos, d.bitWidth);
        } else if (d.bitWidth === 0) {
          // gcc and clang align to the type's own alignment here, even in packed records and under #pragma pack.
          bitPos = alignUp(bitPos, type.align * 8);
          if (this.model.zeroWidthBitfieldAligns) recordAlign = Math.max(recordAlign, type.align);
        } else {
          // System V: a bit-field that would straddle a unit of its type's alignment starts the next one, unless the
          // field is packed or a #pragma pack is in force (gcc then packs bit-fields contiguously).
          if (!packed && this.pack === undefined && (bitPos % typeAlignBits) + d.bitWidth > unitBits) {
            bitPos = alignUp(bitPos, typeAlignBits);
          }
          if (d.name) fields.push({ name: d.name, type, offset: Math.floor(bitPos / 8), bitOffset: bitPos % 8, bitWidth: d.bitWidth });
          bitPos += d.bitWidth;
        }
        // Unnamed bit-fields do not affect the record's alignment on System V x86; on ARM (AAPCS) they do.
        if (d.name || this.model.zeroWidthBitfieldAligns) recordAlign = Math.max(recordAlign, fieldAlign);
        return;
      }

      const offset = kind === 'union' ? 0 : alignUp(Math.ceil(bitPos / 8), fieldAlign);
      fields.push({ name: d.name, type, offset });
      bitPos = kind === 'union' ? Math.max(bitPos, type.size * 8) : (offset + type.size) * 8;
      recordAlign = Math.max(recordAlign, fieldAlign);
    });
    if (attributes.aligned !== undefined) recordAlign = Math.max(recordAlign, attributes.aligned);
    const size = alignUp(Math.ceil(bitPos / 8), recordAlign);
    const names = new Set<string>();
    const checkNames = (fs: readonly Field[]) => {
      for (const f of fs) {
        if (f.name === '' && f.type.kind !== 'int' && f.type.kind !== 'enum' && 'fields' in f.type) { checkNames(f.type.fields); continue; }
        if (names.has(f.name)) this.fail('REDEFINED', `${name} has two members named ${f.name}`);
        names.add(f.name);
      }
    };
    checkNames(fields);
    return { kind, name, fields, size, align: recordAlign, ...(endian ? { endian } : {}) };
  }
}

/** Parses a schema's C declarations. Throws SchemaError (with file:line) when they are not valid or not supported. */
export function parseCSchema(text: string, options: ParseOptions = {}): CSchema {
  const target = options.target ?? 'x86_64-linux';
  const endian = options.endian ?? 'little';
  const { tokens, defines } = preprocess(text, options.file ?? 'schema.h', options.readInclude);
  const parser = new Parser(tokens, target, endian);
  parser.parse();
  const constants = new Map(parser.constants);
  for (const [name, body] of defines) {
    try {
      constants.set(name, ExpressionEvaluator.evaluate(body, (n, where) => {
        const v = constants.get(n);
        if (v === undefined) throw new SchemaError('BAD_CONSTANT', n, where);
        return v;
      }));
    } catch { /* a define that is not an integer constant (a string, a type, empty) */ }
  }
  const types: ReadonlyMap<string, CType> = parser.types;
  const builtins = builtinTypes(TARGETS[target]);
  return {
    types, constants, target, endian,
    lookup(name: string): CType | undefined {
      const normal = name.trim().replace(/\s+/g, ' ');
      const direct = types.get(normal) ?? builtins.get(normal);
      if (direct) return direct;
      const candidates = ['struct', 'union', 'enum'].map((k) => types.get(`${k} ${normal}`)).filter((t) => t !== undefined);
      return candidates.length === 1 ? candidates[0] : undefined;
    },
  };
}
