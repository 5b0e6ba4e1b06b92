// The README's complete programs run: the C, C++, Python and Node examples of their sections are extracted,
// built where needed, and run as two processes talking to each other (on a channel name unique to this run).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDebrisAtExit, runPrefix, testTempDir } from '../debris.mjs';
import { SIPC, run } from '../cli/helpers.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = resolve(root, 'helper', 'build', 'linux-x64');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
const PREFIX = runPrefix('tr');
checkDebrisAtExit(SIPC, PREFIX, 'test/interop readme');
const names = [];
let work;

/** The first ```lang block after `heading` that contains `marker`. */
function example(heading, lang, marker) {
  const section = readme.slice(readme.indexOf(heading));
  const blocks = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
  const block = blocks.find((b) => b.includes(marker));
  assert.ok(block, `no ${lang} block with '${marker}' under '${heading}'`);
  return block;
}

function unique(label) {
  const name = `${PREFIX}${label}`;
  names.push(name);
  return name;
}

function runProcess(command, args, env = {}) {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(command, args, { cwd: work, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { out += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', rejectRun);
    child.on('close', (code) => { clearTimeout(timer); resolveRun({ code, out }); });
  });
}

/** Runs two programs at once on one channel; both must exit 0; returns their output. */
async function pair(first, second) {
  const results = await Promise.all([runProcess(...first), runProcess(...second)]);
  for (const result of results) assert.equal(result.code, 0, result.out);
  return results.map((r) => r.out).join('');
}

function compile(compiler, flags, source, output) {
  const file = join(work, `${output}.${compiler === 'cc' ? 'c' : 'cpp'}`);
  writeFileSync(file, source);
  const result = spawnSync(compiler, [...flags, '-Wall', '-Wextra', '-Werror', '-pthread', `-I${resolve(root, 'helper', 'include')}`,
    '-o', join(work, output), file, resolve(build, 'libsipc.a'), '-pthread', '-lrt'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return join(work, output);
}

before(() => {
  work = testTempDir('readme');
  const make = spawnSync('make', ['-s', '-C', resolve(root, 'helper'), 'all', 'examples'], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stdout + make.stderr);
});

after(async () => {
  rmSync(work, { recursive: true, force: true });
  for (const name of names) await run(['rm', '--force', name]);
});

async function expectGone(name) {
  assert.equal((await run(['stat', name])).code, 12, `channel ${name} left behind`);
}

test('the C example: two processes say hello', async () => {
  const name = unique('c');
  const program = compile('cc', ['-std=c11'], example('## The C library', 'c', 'int main'), 'hello');
  const out = await pair([program, [name]], [program, [name]]);
  assert.match(out, /server got: hello\n/);
  assert.match(out, /client got: hello back\n/);
  await expectGone(name);
});

test("the C++ example (the article's Process1) talks to Process2", async () => {
  const name = unique('cpp');
  const source = example('## The C++ wrapper', 'cpp', 'int main').replaceAll('"mychannel"', JSON.stringify(name));
  const program = compile('c++', ['-std=c++17'], source, 'process1');
  const out = await pair([program, []], [resolve(build, 'examples', 'process2'), [name]]);
  assert.match(out, /process1 got: Hello to you too, process1/);
  assert.match(out, /process2 got: Hello other process\.\./);
  await expectGone(name);
});

test('the Python example: a client asks, the server answers', async () => {
  const name = unique('py');
  const file = join(work, 'echo.py');
  writeFileSync(file, example('## The Python package', 'python', 'import sipc').replaceAll('"py-demo"', JSON.stringify(name)));
  const env = { PYTHONPATH: resolve(root, 'helper', 'bindings', 'python') };
  const out = await pair(['python3', [file], env], ['python3', [file], env]);
  assert.match(out, /reply: b'you said: Hello other process'/);
  await expectGone(name);
});

test('the Node example: a client asks, the server answers', async () => {
  const name = unique('node');
  const file = join(work, 'echo.mjs');
  const source = example('## The Node API', 'js', 'createRequire').replaceAll("'./dist/api.js'", JSON.stringify(resolve(root, 'dist', 'api.js')))
    .replaceAll("'node-demo'", JSON.stringify(name));
  writeFileSync(file, source);
  const out = await pair([process.execPath, [file]], [process.execPath, [file]]);
  assert.match(out, /reply: you said: Hello other process/);
  await expectGone(name);
});
