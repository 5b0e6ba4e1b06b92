// Test vectors for the C-struct decoders, produced by the C compiler itself. For a schema header, this writes a C
// program that, for every named struct/union in it, fills each field with pseudo-random values through plain C
// assignments (over a buffer pre-filled with 0xA5 so padding is visible), then prints sizeof/_Alignof, the
// encoded bytes, and for every field offsetof, sizeof and the value C reads back. gcc compiles and runs it; the
// TypeScript decoder (and the C one of `sipc tap --schema`) must then agree with every line.
//
// Cross targets are checked without running anything: a second program made of _Static_assert(offsetof/sizeof
// == what the TS layout says) is compiled by clang for that target; it compiles only if every figure matches.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testTempDir } from '../debris.mjs';

/** The records a vector covers: every struct/union the schema names (typedefs of the same record once). */
export function namedRecords(schema) {
  const seen = new Set();
  const out = [];
  for (const [name, type] of schema.types) {
    if ((type.kind !== 'struct' && type.kind !== 'union') || seen.has(type)) continue;
    seen.add(type);
    out.push({ cName: name, type });
  }
  return out;
}

/** Leaves of a record: scalars, bit-fields and char arrays, with their C access paths. */
export function leaves(type, path = '', out = []) {
  if (type.kind === 'struct' || type.kind === 'union') {
    for (const f of type.fields) {
      const p = f.name === '' ? path : path ? `${path}.${f.name}` : f.name;
      if (f.bitWidth !== undefined) { out.push({ path: p, type: f.type, bit: true }); continue; }
      leaves(f.type, p, out);
    }
  } else if (type.kind === 'array') {
    if (type.length === undefined) return out; // a flexible array member has no storage of its own
    if (type.element.kind === 'int' && type.element.char) out.push({ path, type, chars: true });
    else for (let i = 0; i < type.length; i++) leaves(type.element, `${path}[${i}]`, out);
  } else {
    out.push({ path, type });
  }
  return out;
}

const signedInt = (t) => (t.kind === 'enum' ? t.base.signed : t.signed);

function assignment(leaf) {
  const v = `v.${leaf.path}`;
  const t = leaf.type;
  if (leaf.chars) {
    return `for (size_t k = 0; k < sizeof ${v}; k++) ${v}[k] = (char)(rnd() % 4 == 0 ? rnd() : 32 + rnd() % 95);\n`
      + `    if (rnd() % 2) ${v}[rnd() % sizeof ${v}] = 0;`;
  }
  if (t.kind === 'pointer') return `{ uintptr_t p = (uintptr_t)rnd(); memcpy(&${v}, &p, sizeof p); }`;
  if (t.kind === 'float') return `${v} = (${t.name})((double)(int64_t)rnd() / 4096.0);`;
  if (t.kind === 'int' && t.bool) return `${v} = rnd() & 1;`;
  if (t.kind === 'enum') {
    const values = [...t.values.values()].map((x) => `${x}LL`).join(', ');
    const cast = leaf.bit ? '' : `(${t.name})`;
    return `{ static const long long ev[] = { ${values} }; ${v} = ${cast}(rnd() % 3 ? ev[rnd() % (sizeof ev / sizeof ev[0])] : (long long)rnd()); }`;
  }
  return leaf.bit ? `${v} = rnd();` : `${v} = (${t.name})rnd();`;
}

function printing(cName, leaf) {
  const v = `v.${leaf.path}`;
  const where = leaf.bit ? `"bits %s"` : `"field %s %zu %zu"`;
  const whereArgs = leaf.bit ? `"${leaf.path}"` : `"${leaf.path}", offsetof(${cName}, ${leaf.path}), sizeof ${v}`;
  const t = leaf.type;
  if (leaf.chars) return `printf(${where} " ", ${whereArgs}); print_chars(${v}, sizeof ${v});`;
  if (t.kind === 'pointer') return `{ uintptr_t p; memcpy(&p, &${v}, sizeof p); printf(${where} " %llu\\n", ${whereArgs}, (unsigned long long)p); }`;
  if (t.kind === 'float') return `printf(${where} " %.17g\\n", ${whereArgs}, (double)${v});`;
  if (signedInt(t)) return `printf(${where} " %lld\\n", ${whereArgs}, (long long)${v});`;
  return `printf(${where} " %llu\\n", ${whereArgs}, (unsigned long long)${v});`;
}

/** The C program that prints the vectors of `records` (see the file comment). */
export function vectorProgram(headerPath, records, rounds) {
  const blocks = records.map(({ cName, type }) => {
    const ls = leaves(type);
    return `  for (int round = 0; round < ${rounds}; round++) {
    ${cName} v;
    memset(&v, 0xA5, sizeof v);
    ${ls.map(assignment).join('\n    ')}
    printf("type %s %zu %zu\\n", "${cName}", sizeof(${cName}), _Alignof(${cName}));
    dump(&v, sizeof v);
    ${ls.map((l) => printing(cName, l)).join('\n    ')}
  }`;
  }).join('\n');
  return `#include "${headerPath}"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static unsigned long long rnd(void) {
  state ^= state << 13; state ^= state >> 7; state ^= state << 17;
  return (unsigned long long)state;
}
static void dump(const void *p, size_t n) {
  const unsigned char *b = p;
  printf("bytes ");
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\\n");
}
/* A char array as the decoders show it: up to the first NUL, non-printable bytes escaped. */
__attribute__((unused)) static void print_chars(const char *s, size_t n) {
  for (size_t i = 0; i < n && s[i] != 0; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\\\') printf("\\\\\\\\");
    else if (c == '"') printf("\\\\\\"");
    else if (c >= 0x20 && c < 0x7f) putchar(c);
    else if (c == '\\n') printf("\\\\n");
    else if (c == '\\t') printf("\\\\t");
    else printf("\\\\x%02x", c);
  }
  putchar('\\n');
}

int main(void) {
${blocks}
  return 0;
}
`;
}

/** Parses the program's output into [{ cName, size, align, bytes, fields: [{ path, offset?, size?, value }] }]. */
export function parseVectors(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [kind, ...rest] = line.split(' ');
    if (kind === 'type') out.push({ cName: rest.slice(0, -2).join(' '), size: Number(rest.at(-2)), align: Number(rest.at(-1)), fields: [] });
    else if (kind === 'bytes') out.at(-1).bytes = Buffer.from(rest[0] ?? '', 'hex');
    else if (kind === 'field') out.at(-1).fields.push({ path: rest[0], offset: Number(rest[1]), size: Number(rest[2]), value: rest.slice(3).join(' ') });
    else if (kind === 'bits') out.at(-1).fields.push({ path: rest[0], value: rest.slice(1).join(' ') });
    else throw new Error(`unexpected vector line: ${line}`);
  }
  return out;
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Compiles and runs the vector program for a header with gcc; returns the parsed vectors. */
export function gccVectors(headerPath, records, { rounds = 4 } = {}) {
  const dir = testTempDir('decode');
  try {
    const source = join(dir, 'vectors.c');
    writeFileSync(source, vectorProgram(headerPath, records, rounds));
    run('gcc', ['-std=gnu11', '-O1', '-Wall', '-Wextra', '-Werror', '-Wno-unused-variable', '-Wno-scalar-storage-order', '-o', join(dir, 'vectors'), source]);
    return parseVectors(run(join(dir, 'vectors'), []));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The static-assertion program for a cross target (figures from the TS layout). */
export function layoutAssertions(headerPath, records) {
  const lines = [`#include "${headerPath}"`, '#include <stddef.h>'];
  for (const { cName, type } of records) {
    lines.push(`_Static_assert(sizeof(${cName}) == ${type.size}, "sizeof(${cName}) == ${type.size}");`);
    lines.push(`_Static_assert(_Alignof(${cName}) == ${type.align}, "_Alignof(${cName}) == ${type.align}");`);
    for (const leaf of leaves(type)) {
      if (leaf.bit) continue;
      const f = fieldOffset(type, leaf.path);
      lines.push(`_Static_assert(offsetof(${cName}, ${leaf.path}) == ${f}, "offsetof(${cName}, ${leaf.path}) == ${f}");`);
    }
  }
  return lines.join('\n') + '\n';
}

/** The offset of a C path in a laid-out record (anonymous members looked through). */
export function fieldOffset(type, path) {
  let offset = 0;
  let current = type;
  for (const part of path.match(/[A-Za-z_][A-Za-z0-9_]*|\[\d+\]/g)) {
    if (part.startsWith('[')) {
      offset += Number(part.slice(1, -1)) * current.element.size;
      current = current.element;
      continue;
    }
    const found = findMember(current, part);
    if (!found) throw new Error(`no member ${part} in ${current.name}`);
    offset += found.offset;
    current = found.type;
  }
  return offset;
}

function findMember(record, name) {
  for (const f of record.fields) {
    if (f.name === name) return { offset: f.offset, type: f.type };
    if (f.name === '') {
      const inner = findMember(f.type, name);
      if (inner) return { offset: f.offset + inner.offset, type: inner.type };
    }
  }
  return undefined;
}

/** Compiles the assertions with clang for `clangTarget`; throws with clang's message when a figure differs. */
export function checkCrossLayout(headerPath, records, clangTarget) {
  const dir = testTempDir('decode');
  try {
    const source = join(dir, 'layout.c');
    writeFileSync(source, layoutAssertions(headerPath, records));
    run('clang', [`--target=${clangTarget}`, '-ffreestanding', '-fsyntax-only', '-std=gnu11', '-Wno-gnu-alignof-expression', source]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
