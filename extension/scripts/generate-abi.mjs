// Generates extension/src/api/abi.ts, the Node API's one copy of the C ABI, from helper/include/sipc.h and
// sipc_async.h: every numeric #define, every enum constant, and every struct as an ordered list of named,
// typed fields (from which native.ts makes the koffi types) plus a TypeScript interface per struct.
//   node extension/scripts/generate-abi.mjs          write abi.ts
//   node extension/scripts/generate-abi.mjs --check  exit 1 if abi.ts differs from what the headers give
// test/node/abi.test.mjs runs --check and compares the layouts with a C compiler's offsetof/sizeof.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HEADERS = ['helper/include/sipc.h', 'helper/include/sipc_async.h'];
export const OUTPUT = 'extension/src/api/abi.ts';

/** C scalar types the headers use, with their TypeScript type as koffi reads them. */
const SCALARS = {
  int32_t: 'number',
  uint32_t: 'number',
  int64_t: 'number | bigint',
  uint64_t: 'number | bigint',
  'const char *': 'string | null',
};

const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');

/** Evaluates a #define's value if it is a plain integer expression ((64u * 1024u), 0x1u, (-1)). */
function integerValue(expression, known) {
  const replaced = expression.trim().replace(/\b(SIPC_[A-Z0-9_]+)\b/g, (name) => (name in known ? `(${known[name]})` : name));
  const cleaned = replaced.replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1');
  if (!/^[\s()0-9a-fA-Fx+\-*/<>|&~]+$/.test(cleaned) || /[a-fA-F]/.test(cleaned.replace(/0x[0-9a-fA-F]+/g, ''))) return undefined;
  const value = Function(`"use strict"; return (${cleaned});`)();
  return Number.isInteger(value) ? value : undefined;
}

/** A declaration's C type and name: 'const char *name' -> { type: 'const char *', name: 'name' } (name may be absent). */
function declaration(text) {
  const cleaned = text.replace(/\s+/g, ' ').trim();
  const match = /^(.*?[\s*])(\w+)$/.exec(cleaned);
  const [type, name] = match && !/^(const|unsigned|signed|struct)$/.test(match[1].trim()) ? [match[1], match[2]] : [cleaned, undefined];
  return { type: type.replace(/\s*(\*+)\s*/g, ' $1').replace(/\* \*/g, '**').trim(), name };
}

/** A parameter list: '(void)' is none. */
const parameters = (list) => (list.trim() === 'void' ? [] : list.split(',').map(declaration));

/**
 * The ABI described by the headers: constants (in header order), structs, the exported functions (each one's result
 * type and parameters, which test/node/abi.test.mjs holds native.ts's koffi bindings to) and the function pointer
 * types (callbacks) with theirs.
 */
export function parseHeaders(texts) {
  const constants = new Map();
  const structs = new Map();
  const statusNames = [];
  const functions = new Map();
  const callbacks = new Map();
  const enums = new Set();
  for (const raw of texts) {
    const text = stripComments(raw);
    // #defines first (their values may be used by array sizes and later defines).
    for (const match of text.matchAll(/^[ \t]*#define\s+(SIPC_[A-Z0-9_]+)[ \t]+([^\n]*)$/gm)) {
      const value = integerValue(match[2], Object.fromEntries(constants));
      if (value !== undefined) constants.set(match[1], value);
    }
    for (const match of text.matchAll(/typedef\s+enum\s+(\w+)\s*\{([^}]*)\}/g)) {
      enums.add(match[1]);
      let next = 0;
      for (const item of match[2].split(',').map((s) => s.trim()).filter(Boolean)) {
        const [name, value] = item.split('=').map((s) => s.trim());
        next = value === undefined ? next : integerValue(value, Object.fromEntries(constants));
        constants.set(name, next);
        if (match[1] === 'sipc_status' && name.startsWith('SIPC_ERR_')) statusNames.push(name.slice('SIPC_ERR_'.length));
        next++;
      }
    }
    for (const match of text.matchAll(/typedef\s+struct\s+(\w+)\s*\{([^}]*)\}\s*(\w+)\s*;/g)) {
      const fields = [];
      for (const declaration of match[2].split(';').map((s) => s.replace(/\s+/g, ' ').trim()).filter(Boolean)) {
        const field = /^(.*?)\s*\b(\w+)\s*(?:\[([^\]]+)\])?$/.exec(declaration);
        if (!field) throw new Error(`${match[1]}: cannot read the field '${declaration}'`);
        const type = field[1].replace(/\s*\*\s*$/, ' *').trim();
        const length = field[3] === undefined ? undefined : integerValue(field[3], Object.fromEntries(constants));
        if (!(type in SCALARS) && !(type === 'char' && length) && !structs.has(type)) {
          throw new Error(`${match[1]}.${field[2]}: type '${type}' is not known to the generator`);
        }
        fields.push(length === undefined ? { name: field[2], type } : { name: field[2], type, length });
      }
      structs.set(match[3], fields);
    }
    for (const match of text.matchAll(/^SIPC_API\s+([^;(#]*?[\s*])(\w+)\s*\(([^)]*)\)\s*;/gm)) {
      functions.set(match[2], { result: declaration(match[1]).type, parameters: parameters(match[3]) });
    }
    for (const match of text.matchAll(/typedef\s+([^;(#]*?)\s*\(\s*\*\s*(\w+)\s*\)\s*\(([^)]*)\)\s*;/g)) {
      callbacks.set(match[2], { result: declaration(match[1]).type, parameters: parameters(match[3]) });
    }
  }
  return { constants, structs, statusNames, functions, callbacks, enums };
}

/** sipc_channel_info -> RawChannelInfo, sipc_async_status -> RawAsyncStatus. */
const interfaceName = (struct) => `Raw${struct.replace(/^sipc_/, '').split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`;

export function render({ constants, structs, statusNames }) {
  const lines = [
    '// Generated from helper/include/sipc.h and sipc_async.h by extension/scripts/generate-abi.mjs: do not edit.',
    '// test/node/abi.test.mjs checks that it matches the headers and a C compiler\'s offsetof/sizeof.',
    '',
    '// ---- constants: numeric #defines and enum values ----',
  ];
  for (const [name, value] of constants) lines.push(`export const ${name} = ${value};`);
  lines.push('', '/** sipc_status_name() of every error status (SIPC_ERR_<name>). */');
  lines.push(`export const STATUS_ERROR_NAMES = [${statusNames.map((n) => `'${n}'`).join(', ')}] as const;`);
  lines.push('', '// ---- structs: fields in declaration order ----');
  lines.push("export type CScalar = 'int32_t' | 'uint32_t' | 'int64_t' | 'uint64_t' | 'const char *';");
  lines.push('/** One field: a scalar, a char array of `length` (a string), or another struct of this file. */');
  lines.push('export interface CField { readonly name: string; readonly type: CScalar | \'char\' | StructName; readonly length?: number }');
  lines.push(`export type StructName = ${[...structs.keys()].map((s) => `'${s}'`).join(' | ')};`);
  lines.push('export const STRUCTS = {');
  for (const [struct, fields] of structs) {
    lines.push(`  ${struct}: [`);
    for (const field of fields) {
      const length = field.length === undefined ? '' : `, length: ${field.length}`;
      lines.push(`    { name: '${field.name}', type: '${field.type}'${length} },`);
    }
    lines.push('  ],');
  }
  lines.push('} as const satisfies { readonly [S in StructName]: readonly CField[] };');
  for (const [struct, fields] of structs) {
    lines.push('', `/** ${struct}, as koffi reads and writes it. */`, `export interface ${interfaceName(struct)} {`);
    for (const field of fields) {
      const tsType = field.type === 'char' ? 'string' : SCALARS[field.type] ?? interfaceName(field.type);
      lines.push(`  ${field.name}: ${tsType};`);
    }
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

/** The ABI of the headers as they are on disk (tests read their constants here instead of copying them). */
export const headerAbi = () => parseHeaders(HEADERS.map((header) => readFileSync(join(root, header), 'utf8')));

export function generate() {
  return render(headerAbi());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const generated = generate();
  const path = join(root, OUTPUT);
  if (process.argv.includes('--check')) {
    const current = readFileSync(path, 'utf8');
    if (current !== generated) {
      console.error(`${OUTPUT} is out of date with the headers: run node extension/scripts/generate-abi.mjs`);
      process.exit(1);
    }
  } else {
    writeFileSync(path, generated);
    console.log(`wrote ${OUTPUT}`);
  }
}
