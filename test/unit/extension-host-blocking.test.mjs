// The extension host never blocks (issue #10): no synchronous call (fs.readFileSync, existsSync, execSync, ...)
// in the extension's sources, which all run on the extension host's main thread (or, for the webviews, in a page
// where Node's fs does not exist at all). Every call of a name ending in "Sync" counts, bare or as a property
// (`readFileSync(...)`, `fs.readFileSync(...)`); comments, strings, template text and regular expressions are
// blanked out first, so naming such a function there does not count. (The repository's TypeScript is the native
// compiler, version 7, which has no JavaScript API to walk the syntax tree: hence the small lexer below.) What
// remains is allowed below, each with the reason, and the list cannot rot: an allowed call that is gone fails too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sources = join(repo, 'extension', 'src');

/** file (from the repository root) -> synchronous call -> why it may stay. */
const ALLOWED = {
  'extension/src/api/native.ts': {
    // Once per process, when the library is first needed: which candidate path of libsipc exists (the bundle's own
    // folder, the repository's build, SIPC_LIBRARY). koffi.load right after it is dlopen, synchronous by nature (no
    // asynchronous dlopen exists in Node), and reads the same file anyway; the stat adds nothing that can wait
    // longer than that load. See the README, "The extension host never blocks".
    existsSync: 'one stat per candidate path, once, before the synchronous dlopen of the same file',
  },
};

function typeScriptFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Keywords after which a '/' starts a regular expression, not a division. */
const BEFORE_REGEX_WORDS = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await']);

/** `text` with the contents of comments, strings, template text and regular expressions turned into spaces (newlines kept). */
function codeOnly(text) {
  const out = [...text];
  const blank = (from, to) => { for (let i = from; i < to; i++) if (out[i] !== '\n') out[i] = ' '; };
  const templates = []; // brace depth at each open `${` of a template literal
  let depth = 0;
  let previous = ''; // the last significant character (or word) of code
  let i = 0;
  const skipString = (quote) => { // i at the opening quote; returns the index after the closing one
    let j = i + 1;
    while (j < text.length && text[j] !== quote && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  const skipTemplate = (from) => { // from: inside template text; ends after '`' or after '${'
    let j = from;
    while (j < text.length) {
      if (text[j] === '\\') { j += 2; continue; }
      if (text[j] === '`') return { end: j + 1, opened: false };
      if (text[j] === '$' && text[j + 1] === '{') return { end: j + 2, opened: true };
      j++;
    }
    return { end: j, opened: false };
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') { const end = text.indexOf('\n', i); const stop = end < 0 ? text.length : end; blank(i, stop); i = stop; continue; }
    if (c === '/' && next === '*') { const end = text.indexOf('*/', i + 2); const stop = end < 0 ? text.length : end + 2; blank(i, stop); i = stop; continue; }
    if (c === '"' || c === "'") { const end = skipString(c); blank(i + 1, end - 1); i = end; previous = 'x'; continue; }
    if (c === '`' || (c === '}' && templates.length > 0 && templates[templates.length - 1] === depth)) {
      if (c === '}') templates.pop();
      const { end, opened } = skipTemplate(i + 1);
      blank(i + 1, opened ? end - 2 : end - 1);
      if (opened) templates.push(depth); else previous = 'x';
      i = end;
      continue;
    }
    if (c === '/' && (previous === '' || '(,=:[!&|?{};+-*%<>~^'.includes(previous) || BEFORE_REGEX_WORDS.has(previous))) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== '\n' && (inClass || text[j] !== '/')) {
        if (text[j] === '\\') j++;
        else if (text[j] === '[') inClass = true;
        else if (text[j] === ']') inClass = false;
        j++;
      }
      blank(i + 1, j);
      i = j + 1;
      previous = 'x';
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (/[A-Za-z_$0-9]/.test(c)) {
      let j = i;
      while (j < text.length && /[\w$]/.test(text[j])) j++;
      previous = text.slice(i, j);
      i = j;
      continue;
    }
    if (!/\s/.test(c)) previous = c;
    i++;
  }
  return out.join('');
}

/** Every call in `text` of a name ending in "Sync": `{ name, line }`. */
function synchronousCalls(text) {
  const code = codeOnly(text);
  return [...code.matchAll(/([A-Za-z_$][\w$]*Sync)\s*\(/g)].map((m) => ({ name: m[1], line: code.slice(0, m.index).split('\n').length }));
}

test('the scan sees every spelling of a synchronous call, and not its name in a comment or a string', () => {
  const text = [
    "import * as fs from 'node:fs';",
    "import { existsSync } from 'node:fs';",
    '// fs.readFileSync(file) in a comment',
    "const s = 'writeFileSync(x)';",
    'fs.readFileSync(a, "utf8");',
    'existsSync(b);',
    'const re = /readSync\\(["`]/g; const t = `${x.statSync(y)} and readlinkSync(z) ${`${lstatSync(w)}`}`;',
    '/* mkdirSync(c) */ const u = a / b; const v = (c) / spawnSync(d) / 2;',
    'child_process.execSync("true");',
    'await fs.promises.readFile(a);',
  ].join('\n');
  assert.deepEqual(synchronousCalls(text).map((c) => `${c.name}:${c.line}`),
    ['readFileSync:5', 'existsSync:6', 'statSync:7', 'lstatSync:7', 'spawnSync:8', 'execSync:9']);
});

test('no synchronous call in the extension host\'s sources but the allowed ones', () => {
  const found = [];
  for (const path of typeScriptFiles(sources)) {
    const file = relative(repo, path).split('\\').join('/');
    for (const call of synchronousCalls(readFileSync(path, 'utf8'))) found.push({ file, ...call });
  }
  const forbidden = found.filter((c) => !ALLOWED[c.file]?.[c.name]).map((c) => `${c.file}:${c.line} ${c.name}`);
  assert.deepEqual(forbidden, [], 'synchronous calls on the extension host\'s main thread: use fs.promises (or vscode.workspace.fs)');
  for (const [file, calls] of Object.entries(ALLOWED)) {
    for (const name of Object.keys(calls)) {
      assert.ok(found.some((c) => c.file === file && c.name === name), `${file} no longer calls ${name}: take it off ALLOWED`);
    }
  }
});
