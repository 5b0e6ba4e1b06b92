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

// ---- Native calls (koffi): a call into libsipc runs on the calling thread, which for the extension is the extension
// host's main thread. Every libsipc function that extension/src/api/native.ts binds is classified here; a binding
// that is not, or a call in extension/src of one that may wait or touch the file system, fails. The calls that may
// wait (open, observe, stat, list, remove, close, describing a process) are bound only in their sipc_async_* form,
// which hands them to a native thread of libsipc (helper/src/async.c) and answers at once.

/**
 * Functions the main thread may call: each answers at once, reading or writing only memory (the process's, or the
 * channel's mapped segment), with at most non-blocking system calls on the handle's own descriptor. `args`: the
 * only argument list allowed (the text between the call's parentheses, matched against the regular expression).
 */
const NON_BLOCKING = {
  // Pure: strings and numbers of the library itself.
  sipc_version: 'a constant string',
  sipc_status_name: 'a table lookup',
  sipc_strerror: 'a table lookup',
  sipc_last_os_error: 'a thread-local number',
  sipc_validate_name: 'checks the characters of a string',
  sipc_options_init: 'fills a struct',
  sipc_observe_options_init: 'fills a struct',
  // A handle's own memory.
  sipc_get_role: 'a field of the handle',
  sipc_max_message_size: 'a field of the handle',
  // The observer's own memory. (A channel's or an observer's info, connect and send look no process up on this thread:
  // see sipc_async_channel_* and sipc_async_observer_info below.)
  sipc_observer_get_stats: 'reads the observer\'s own counters in process memory',
  // Closing on the main thread happens only when a just-opened handle's native threads could not start.
  sipc_close_ex: { why: 'timeout 0: one try of the channel\'s lock (a word in the segment), never a sleep; a held lock leaves the name stale', args: /^[^,]+,\s*0$/ },
  sipc_observer_close: 'frees its observer record in the segment (a compare-and-swap), wakes producers, unmaps and closes its own descriptor: no lock',
  // sipc_async.h: "Everything here except notify itself answers at once." Each takes a mutex that the native threads
  // hold only for a few instructions, never across a wait.
  sipc_async_channel_start: 'starts native threads',
  sipc_async_channel_arm: 'sets a flag',
  sipc_async_channel_demand: 'sets the wanted count',
  sipc_async_channel_reconnect: 'sets a flag and wakes the thread',
  sipc_async_channel_poll: 'copies a status',
  sipc_async_channel_take: 'takes received messages from a memory queue',
  sipc_async_channel_take_now: 'takes from the mapped queue (recv with timeout 0, spinning at most SIPC_ASYNC_MAX_SPIN_US)',
  sipc_async_channel_send: 'queues the message for the sender thread',
  // nowait.h: the shared state and the handle's own memory only, never a process look-up (the native threads adopt
  // peers and look at lossless observers' processes).
  sipc_async_channel_send_now: 'copies into the mapped queue or answers TIMEOUT/NOT_CONNECTED at once (futex wake, never a wait)',
  sipc_async_channel_connect_now: 'looks at the roles and the queue in the mapped segment',
  sipc_async_channel_info: 'a snapshot of the mapped segment, the holders\' liveness as the native threads established it',
  sipc_async_channel_take_send_results: 'takes statuses from a memory queue',
  sipc_async_channel_stop: 'cancels the channel and wakes the threads; does not join them',
  sipc_async_observer_start: 'starts native threads',
  sipc_async_observer_arm: 'sets a flag',
  sipc_async_observer_poll: 'copies a status',
  sipc_async_observer_take: 'takes copied messages from a memory queue',
  sipc_async_observer_info: 'a snapshot of the mapped segment, the holders\' deaths as the observer\'s events reported them',
  sipc_async_observer_stop: 'cancels the observer and wakes its thread; does not join it',
  sipc_async_open: 'starts a native thread for the call',
  sipc_async_observe_ex: 'starts a native thread for the call',
  sipc_async_stat_ex: 'starts a native thread for the call',
  sipc_async_remove: 'starts a native thread for the call',
  sipc_async_list: 'starts a native thread for the call',
  sipc_async_process_describe: 'starts a native thread for the call',
  sipc_async_channel_close: 'stops the handle and starts a native thread that joins and closes it',
  sipc_async_observer_close: 'stops the handle and starts a native thread that joins and closes it',
  sipc_async_call_poll: 'copies a status',
  sipc_async_call_take_channel: 'takes a pointer',
  sipc_async_call_take_observer: 'takes a pointer',
  sipc_async_call_entry: 'copies a finished call\'s entry',
  sipc_async_call_detail: 'a finished call\'s string',
  sipc_async_call_process_info: 'copies a finished call\'s outcome',
  sipc_async_call_take_send_results: 'takes statuses from a memory queue',
  sipc_async_call_arm: 'sets a flag',
  sipc_async_call_release: 'drops a reference; the native thread frees the call when it is done',
  sipc_async_watch_start: 'starts a native thread',
  sipc_async_watch_arm: 'sets a flag',
  sipc_async_watch_poll: 'copies counters',
  sipc_async_watch_release: 'drops a reference; the watch\'s thread frees it',
  sipc_async_relay_open: 'allocates the relay and makes a pipe (pipe2), once per process',
  sipc_async_relay_fd: 'reads a field',
  sipc_async_relay_token: 'arithmetic',
  sipc_async_relay_take: 'empties a non-blocking pipe and takes tokens from a queue that never locks',
};

/**
 * Functions that may wait but are bound for a reason other than the extension's own code paths: `file` is the only
 * file that may call them, and `within` the only function there that may (its name, checked by the call's position).
 */
const NOT_FOR_THE_EXTENSION = {
  // The Node API's documented synchronous describeProcess() (kept for programs that use it): it reads three small
  // /proc files on the calling thread. The extension uses describeProcessAsync; no file of extension/src may call
  // describeProcess (checked below).
  sipc_process_describe: { file: 'extension/src/api/process.ts', within: 'describeProcess', wrapper: 'describeProcess' },
  // At process exit only ('exit' event, lifecycle.ts -> NativeHandle.shutdownForExit), when the event loop has ended
  // and no event can be delayed any more: joins the stopped threads and closes the channel, waiting at most
  // SIPC_EXIT_LOCK_TIMEOUT_MS (100 ms, as libsipc's own exit handler) for a channel lock a stranger holds (README,
  // "The extension host never blocks"). The observer's close takes no lock; its destroy joins the stopped thread.
  sipc_async_channel_destroy_ex: { file: 'extension/src/api/channel.ts', within: 'CHANNEL_KIND', args: /^[^,]+,\s*SIPC_EXIT_LOCK_TIMEOUT_MS$/ },
  // The observer's destroy waits at most SIPC_EXIT_LOCK_TIMEOUT_MS for its stopped threads (which wait for no other
  // process: they end within one of the observer's sleeps), then closes it (no lock); threads not ended are left.
  sipc_async_observer_destroy_ex: { file: 'extension/src/api/observer.ts', within: 'observerKind', args: /^[^,]+,\s*SIPC_EXIT_LOCK_TIMEOUT_MS$/ },
};

/** The libsipc functions native.ts binds: `f('sipc_name', ...)`. */
function boundFunctions(text) {
  return [...text.matchAll(/\bf\(\s*'(sipc_\w+)'/g)].map((m) => m[1]);
}

/** Every call of a libsipc function in `text` (`native().sipc_x(...)`, `lib.sipc_x(...)`, a bare `sipc_x(...)`):
 *  `{ name, line, args, index }`, args being the text between the parentheses (comments and strings blanked). */
function nativeCalls(text) {
  const code = codeOnly(text);
  return [...code.matchAll(/\b(sipc_[a-z]\w*)\s*\(/g)].map((m) => {
    let depth = 0;
    let end = m.index + m[0].length;
    for (; end < code.length; end++) {
      if ('([{'.includes(code[end])) depth++;
      else if (')]}'.includes(code[end])) { if (depth === 0) break; depth--; }
    }
    return { name: m[1], line: code.slice(0, m.index).split('\n').length, args: code.slice(m.index + m[0].length, end).replace(/\s+/g, ' ').trim(), index: m.index };
  });
}

/** The name of the innermost `function NAME`, `NAME(...) {` method or `const NAME =` that encloses `index` (by braces). */
function enclosingName(code, index) {
  let depth = 0;
  for (let i = index; i >= 0; i--) {
    if (code[i] === '}') depth++;
    else if (code[i] === '{' && depth-- === 0) {
      const before = code.slice(Math.max(0, i - 300), i);
      const named = before.match(/(?:function\s+(\w+)\s*\([^)]*\)[^{};]*|const\s+(\w+)\s*(?::[^=;]*)?=[^{};]*|(\w+)\s*\([^)]*\)\s*(?::[^{};]*)?)$/);
      if (named) return named[1] ?? named[2] ?? named[3];
      depth = 0;
    }
  }
  return undefined;
}

test('the native-call scan sees every spelling of a libsipc call and its arguments, not a name in a string or comment', () => {
  const text = [
    "const a = native().sipc_info(raw, info);",
    "// native().sipc_close(raw) in a comment",
    "const s = 'sipc_remove(x)';",
    "lib.sipc_close_ex(this.raw, 0);",
    "function describeProcess(pid) { return native().sipc_process_describe(pid, { struct_size: 1 }); }",
    "const KIND = { destroy: (h) => native().sipc_async_channel_destroy(h) };",
    "const { sipc_stat_ex } = x; sipc_stat_ex(f(a, b), 5);",
  ].join('\n');
  const calls = nativeCalls(text);
  assert.deepEqual(calls.map((c) => `${c.name}:${c.line}:${c.args}`), [
    'sipc_info:1:raw, info', 'sipc_close_ex:4:this.raw, 0',
    'sipc_process_describe:5:pid, { struct_size: 1 }', 'sipc_async_channel_destroy:6:h', 'sipc_stat_ex:7:f(a, b), 5',
  ]);
  const code = codeOnly(text);
  assert.equal(enclosingName(code, calls[2].index), 'describeProcess');
  assert.equal(enclosingName(code, calls[3].index), 'KIND');
  assert.equal(NON_BLOCKING.sipc_close_ex.args.test(calls[1].args), true);
  assert.equal(NON_BLOCKING.sipc_close_ex.args.test('this.raw, timeoutMs'), false, 'a timeout other than 0');
});

test('every libsipc function native.ts binds is classified: non-blocking, or kept off the extension\'s paths', () => {
  const bound = boundFunctions(readFileSync(join(sources, 'api', 'native.ts'), 'utf8'));
  assert.ok(bound.length > 20, `native.ts binds its functions with f('sipc_...'): found ${bound.length}`);
  const unclassified = bound.filter((name) => !(name in NON_BLOCKING) && !(name in NOT_FOR_THE_EXTENSION));
  assert.deepEqual(unclassified, [],
    'bound but not classified: bind the sipc_async_* form of a call that may wait, or say here why it never waits');
  const stale = [...Object.keys(NON_BLOCKING), ...Object.keys(NOT_FOR_THE_EXTENSION)].filter((name) => !bound.includes(name));
  assert.deepEqual(stale, [], 'classified but no longer bound: take it off the list');
});

test('the extension host\'s main thread calls only non-blocking libsipc functions, with the allowed arguments', () => {
  const forbidden = [];
  const wrappers = Object.entries(NOT_FOR_THE_EXTENSION).filter(([, rule]) => rule.wrapper);
  for (const path of typeScriptFiles(sources)) {
    const file = relative(repo, path).split('\\').join('/');
    if (file === 'extension/src/api/native.ts') continue; // the bindings themselves
    const text = readFileSync(path, 'utf8');
    const code = codeOnly(text);
    for (const call of nativeCalls(text)) {
      const allowed = NON_BLOCKING[call.name];
      const rule = NOT_FOR_THE_EXTENSION[call.name];
      if (allowed !== undefined) {
        if (typeof allowed === 'object' && !allowed.args.test(call.args)) forbidden.push(`${file}:${call.line} ${call.name}(${call.args}): only (${allowed.args.source})`);
      } else if (!rule || rule.file !== file || enclosingName(code, call.index) !== rule.within) {
        forbidden.push(`${file}:${call.line} ${call.name}`);
      } else if (rule.args && !rule.args.test(call.args)) {
        forbidden.push(`${file}:${call.line} ${call.name}(${call.args}): only (${rule.args.source})`);
      }
    }
    // The synchronous wrappers kept for the Node API are called by no file of the extension.
    for (const [name, rule] of wrappers) {
      for (const m of code.matchAll(new RegExp(`\\b${rule.wrapper}\\s*\\(`, 'g'))) {
        const definition = file === rule.file && /function\s+$/.test(code.slice(Math.max(0, m.index - 20), m.index));
        if (!definition) forbidden.push(`${file}:${code.slice(0, m.index).split('\n').length} ${rule.wrapper}() (${name})`);
      }
    }
  }
  assert.deepEqual(forbidden, [], 'libsipc calls that may wait or touch the file system on the extension host\'s main thread: use their sipc_async_* form (calls.ts)');
});

// ---- The Node API's receive spin (spinPolicy.ts): on a busy channel a receive looks for the next message on the
// calling thread, up to 100 µs per event-loop turn. That is the latency of a plain Node program; in the extension host
// every extension shares the thread, and a 100k-message flood spent about half a second there. Every channel the
// extension opens passes receiveSpinUs: 0, so its messages come from the native thread only.

/** Every call of the Node API's open() in the extension's sources outside the API itself: `{ file, line, args }`. */
function apiOpenCalls() {
  const calls = [];
  for (const path of typeScriptFiles(sources)) {
    const file = relative(repo, path).split('\\').join('/');
    if (file.startsWith('extension/src/api/')) continue;
    const text = readFileSync(path, 'utf8');
    const importsOpen = /import\s*\{[^}]*\bopen\b[^}]*\}\s*from\s*'(?:\.\.\/)+api(?:\/index|\/channel)?'/.test(text);
    if (!importsOpen) continue;
    const code = codeOnly(text);
    for (const m of code.matchAll(/(?<![.\w$])open\s*\(/g)) {
      let depth = 0;
      let end = m.index + m[0].length;
      for (; end < code.length; end++) {
        if ('([{'.includes(code[end])) depth++;
        else if (')]}'.includes(code[end])) { if (depth === 0) break; depth--; }
      }
      calls.push({ file, line: code.slice(0, m.index).split('\n').length, args: code.slice(m.index + m[0].length, end).replace(/\s+/g, ' ') });
    }
  }
  return calls;
}

test('every channel the extension opens receives without spinning on the main thread (receiveSpinUs: 0)', () => {
  const calls = apiOpenCalls();
  assert.ok(calls.length > 0, 'the extension opens its channels with the Node API\'s open() (connections/index.ts)');
  const spinning = calls.filter((c) => !/\breceiveSpinUs\s*:\s*0\b/.test(c.args)).map((c) => `${c.file}:${c.line} open(${c.args})`);
  assert.deepEqual(spinning, [], 'pass receiveSpinUs: 0 to open(): the extension host\'s main thread is not ours to spin on');
});
