// The README's worked decoding example, run: the header, the mapping, the C sender and the tshark command are taken
// from "A worked example: struct sample". The sender's structs reach `sipc recv`, decode with the mapping to the
// values the README names, and tshark with the generated dissector prints exactly the README's lines.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDebrisAtExit, runPrefix, testTempDir } from '../debris.mjs';
import { SIPC, run } from '../cli/helpers.mjs';
import { loadCore, loadDecode } from '../unit/inspector-core.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = resolve(root, 'helper', 'build', 'linux-x64');
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### A worked example: `struct sample`'));
const PREFIX = runPrefix('trd');
checkDebrisAtExit(SIPC, PREFIX, 'test/interop readme-decode');
const haveTshark = spawnSync('tshark', ['--version']).status === 0;
const work = testTempDir('readme-decode');
const name = `${PREFIX}sensor`;

after(async () => {
  rmSync(work, { recursive: true, force: true });
  await run(['rm', '--force', name]);
});

function block(lang, index) {
  const blocks = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
  assert.ok(blocks[index] !== undefined, `README worked example: ${lang} block ${index}`);
  return blocks[index];
}

test('the worked example: the C sender, the mapping, the decoded values and what tshark prints', { timeout: 120_000 }, async (t) => {
  mkdirSync(join(work, '.sipc'));
  writeFileSync(join(work, '.sipc', 'sample.h'), block('c', 0));
  const mappingText = block('json', 0);
  writeFileSync(join(work, '.sipc', 'channels.json'), mappingText);
  writeFileSync(join(work, 'sender.c'), block('c', 1));
  const cc = spawnSync('cc', ['-std=c11', '-Wall', '-Wextra', '-Werror', `-I${resolve(root, 'helper', 'include')}`, '-o', join(work, 'sender'),
    join(work, 'sender.c'), resolve(build, 'libsipc.a'), '-pthread', '-lrt'], { cwd: work, encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);

  // `sipc recv` takes the three structs; each arrives as one hex line.
  const recv = spawn(SIPC, ['recv', name, '--count', '3', '--format', 'hex', '--timeout', '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  recv.stdout.on('data', (c) => { out += c; });
  const recvDone = new Promise((resolveDone) => recv.on('close', resolveDone));
  const sender = spawnSync(join(work, 'sender'), [name], { cwd: work, encoding: 'utf8', timeout: 60_000 });
  assert.equal(sender.status, 0, sender.stderr);
  assert.equal(await recvDone, 0);
  const messages = out.trim().split('\n').map((line) => Buffer.from(line.replace(/[^0-9a-f]/gi, ''), 'hex'));
  assert.deepEqual(messages.map((m) => m.length), [32, 32, 32]);

  const d = await loadDecode();
  const mapping = d.parseMapping(mappingText);
  const entry = d.findEntry(mapping, 'sensor.left');
  const schema = d.loadEntry(entry, join(work, '.sipc', 'channels.json'), (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } });
  assert.equal(schema.description, 'struct sample');
  const third = schema.decode(messages[2]);
  assert.deepEqual(third.root.children.map((f) => [f.name, f.display, f.offset, f.size]), [
    ['type', '2', 0, 2], ['sensor', '7', 2, 2], ['seq', '3', 4, 4], ['value', '21.5', 8, 8], ['unit', 'KELVIN (1)', 16, 4], ['label', '"left"', 20, 8],
  ]);
  const filter = d.compileFieldFilter('seq > 1 && unit == CELSIUS', schema.constants);
  assert.deepEqual(messages.map((m) => filter(schema.decode(m))), [false, true, false]);

  if (!haveTshark) {
    t.diagnostic('tshark is not installed (Debian package tshark): the dissector part was skipped');
    return;
  }
  const core = await loadCore();
  const entries = messages.map((data, i) => ({ kind: 'message', seq: i, direction: 'received', timestamp: i, length: data.length, data }));
  writeFileSync(join(work, 'capture.pcapng'), core.concatChunks(core.pcapngChunks(entries, { interfaceName: name, interfaceDescription: 'sipc' })));
  const cSchema = d.loadCSchema(entry, join(work, '.sipc', 'channels.json'), (p) => readFileSync(p, 'utf8'));
  writeFileSync(join(work, '.sipc', 'sample.lua'), d.generateLuaDissector(cSchema, entry.message));
  const command = block('sh', 0).trim().split(/\s+/);
  assert.equal(command[0], 'tshark');
  const tshark = spawnSync('tshark', command.slice(1), { cwd: work, encoding: 'utf8' });
  assert.equal(tshark.status, 0, tshark.stderr);
  assert.equal(tshark.stdout, block('text', 0));
});
