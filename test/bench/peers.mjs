#!/usr/bin/env node
// `npm run bench:peers`: sipc (C API) against iceoryx2, Boost.Interprocess message_queue and POSIX message queues,
// measured by one program (test/bench/peers/peers_bench.c) in the layout of `sipc bench`. Builds what it can
// first: the iceoryx2 adapter with cargo (first time a few minutes; cached in test/bench/peers/build/), the Boost
// transport when libboost-dev is installed. A peer whose toolchain is missing is skipped with the reason.
//   npm run bench:peers [-- --quick] [-- --runs N] [-- --only sipc,iceoryx2-busy,...] [-- --json [FILE]]
//   --if-built: measure only if the program was built before (npm run bench uses this; never runs cargo's first build)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionValue } from './options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const peersDir = join(root, 'test/bench/peers');
const buildDir = join(peersDir, 'build');
const cargoTarget = join(buildDir, 'cargo');
const iceoryxLib = join(cargoTarget, 'release/libsipc_peers_iceoryx2.a');
const program = join(buildDir, 'peers-bench');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const ifBuilt = args.includes('--if-built');
const jsonIndex = args.findIndex((a) => a === '--json' || a.startsWith('--json='));
const wantJson = jsonIndex >= 0;
const jsonFile = !wantJson
  ? undefined
  : args[jsonIndex].startsWith('--json=')
    ? args[jsonIndex].slice('--json='.length)
    : args[jsonIndex + 1] && !args[jsonIndex + 1].startsWith('--')
      ? args[jsonIndex + 1]
      : undefined;
const valueOf = (flag) => optionValue(args, flag);
// With JSON on stdout, everything else goes to stderr.
const say = (text) => (wantJson && !jsonFile ? process.stderr : process.stdout).write(`${text}\n`);

/** Runs a build step; returns its status and, on failure, the tail of what it printed. */
function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0, tail: output.split('\n').slice(-25).join('\n') };
}

function onPath(command) {
  return run('sh', ['-c', `command -v ${command}`]).ok;
}

const skipped = {}; // transport -> why it is not measured

function buildIceoryx2() {
  const names = ['iceoryx2-busy', 'iceoryx2-event'];
  if (ifBuilt && !existsSync(iceoryxLib)) {
    for (const n of names) skipped[n] = 'not built yet: run `npm run bench:peers` once (cargo build, a few minutes)';
    return false;
  }
  // rustup's cargo lives in ~/.cargo/bin, which only login shells put on PATH.
  const rustupCargo = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin/cargo');
  const cargo = onPath('cargo') ? 'cargo' : existsSync(rustupCargo) ? rustupCargo : undefined;
  if (!cargo) {
    for (const n of names) skipped[n] = 'cargo not found: install Rust (rustup or Debian cargo) to build the iceoryx2 peer';
    return false;
  }
  if (!existsSync(iceoryxLib)) say('building the iceoryx2 peer with cargo (first time only: a few minutes)...');
  const started = Date.now();
  const built = run(cargo, ['build', '--release', '--locked', '--manifest-path', join(peersDir, 'iceoryx2/Cargo.toml'),
    '--target-dir', cargoTarget]);
  if (!built.ok) {
    console.error(`bench:peers: cargo build of the iceoryx2 peer failed:\n${built.tail}`);
    process.exit(1);
  }
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 5) say(`iceoryx2 peer built in ${seconds.toFixed(0)} s`);
  return true;
}

function boostAvailable() {
  if (!existsSync('/usr/include/boost/interprocess/ipc/message_queue.hpp')) {
    skipped['boost-mq'] = 'Boost headers not found: apt-get install libboost-dev';
    return false;
  }
  if (!onPath('c++')) {
    skipped['boost-mq'] = 'no C++ compiler (c++): apt-get install g++';
    return false;
  }
  return true;
}

function build() {
  if (ifBuilt && !existsSync(program)) return false;
  const helper = run('make', ['-C', join(root, 'helper')]);
  if (!helper.ok) {
    console.error(`bench:peers: building libsipc failed:\n${helper.tail}`);
    process.exit(1);
  }
  const withIceoryx2 = buildIceoryx2();
  const withBoost = boostAvailable();
  const made = run('make', ['-C', peersDir, `BOOST=${withBoost ? 1 : 0}`, `ICEORYX2_LIB=${withIceoryx2 ? iceoryxLib : ''}`]);
  if (!made.ok) {
    console.error(`bench:peers: building ${program} failed:\n${made.tail}`);
    process.exit(1);
  }
  return true;
}

// iceoryx2 keeps a small global management segment and its folders once any process used it; remove them
// afterwards if this run is what created them (no other iceoryx2 user on the machine then).
function iceoryxDebris() {
  const shm = existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((f) => f.startsWith('iox2_')) : [];
  return { shm, tmp: existsSync('/tmp/iceoryx2') };
}
function removeIceoryxDebris(before) {
  const after = iceoryxDebris();
  for (const f of after.shm) if (!before.shm.includes(f)) rmSync(join('/dev/shm', f), { force: true });
  if (!before.tmp && after.tmp) {
    // Only empty folders or the management file: a service or node entry means someone else uses iceoryx2 now.
    const files = (dir) => readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
    if (files('/tmp/iceoryx2').every((p) => p.endsWith('.global_mgmt'))) rmSync('/tmp/iceoryx2', { recursive: true, force: true });
  }
}

// ---- measure ----

if (!build()) {
  say('peers not built: run `npm run bench:peers` once (builds the iceoryx2 adapter with cargo and the Boost transport)');
  if (wantJson && !jsonFile) process.stdout.write(`${JSON.stringify({ tool: 'sipc peers bench', built: false })}\n`);
  process.exit(0);
}

const programArgs = [];
if (quick) programArgs.push('--quick');
if (valueOf('--runs')) programArgs.push('--runs', valueOf('--runs'));
if (valueOf('--only')) programArgs.push('--only', valueOf('--only'));
const debrisBefore = iceoryxDebris();
const started = Date.now();
// The program's progress lines (stderr) show as they come; its JSON (stdout) is collected.
const measured = spawnSync(program, programArgs, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
removeIceoryxDebris(debrisBefore);
if (measured.status !== 0) {
  console.error(`bench:peers: ${program} exited with ${measured.status ?? measured.signal}`);
  process.exit(1);
}
const report = JSON.parse(measured.stdout);

// A built peer that measured nothing at all is broken, not limited (a system limit such as the POSIX mq quota
// costs only some sizes): the run fails, which is what CI's quick run checks.
const broken = [];
for (const t of report.transports) {
  if (!t.built && !skipped[t.name]) skipped[t.name] = 'not built';
  if (t.built && t.selected && t.failures > 0) {
    const figures = [...report.rtt, ...report.throughput].filter((f) => f.transport === t.name).length;
    if (figures === 0) broken.push(t.name);
    t.note = `${t.failures} measurement${t.failures === 1 ? '' : 's'} failed: ${t.error}`;
  }
}
report.broken = broken;

// Ratios against sipc's default and against sipc waiting without spinning, same size and placement.
const key = (f) => `${f.size}/${f.affinity}`;
function addRatios(figures, field) {
  const base = (name) => new Map(figures.filter((f) => f.transport === name).map((f) => [key(f), f[field]]));
  const sipc = base('sipc');
  const noSpin = base('sipc-nospin');
  for (const f of figures) {
    f.vsSipc = sipc.has(key(f)) ? f[field] / sipc.get(key(f)) : null;
    f.vsSipcNoSpin = noSpin.has(key(f)) ? f[field] / noSpin.get(key(f)) : null;
  }
}
addRatios(report.rtt, 'medianUs');
addRatios(report.throughput, 'GBps');
report.skipped = Object.fromEntries(Object.entries(skipped).filter(([, why]) => why));

if (wantJson) {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (jsonFile) {
    mkdirSync(dirname(jsonFile), { recursive: true });
    writeFileSync(jsonFile, text);
  } else {
    process.stdout.write(text);
  }
  if (!jsonFile) process.exit(broken.length ? 1 : 0);
}

// ---- tables ----

const sizeText = (size) => (size >= 1 << 20 ? `${size >> 20} MiB` : size >= 1024 ? `${size >> 10} KiB` : `${size} B`);
const num = (value, digits = 1) => (value == null ? 'n/a' : value >= 1000 ? value.toFixed(0) : value.toFixed(digits));
const ratio = (value) => (value == null ? '—' : value >= 100 ? value.toFixed(0) : value.toFixed(2));
const pad = (text, width) => String(text).padStart(width);
const names = report.transports.filter((t) => t.built && t.selected).map((t) => t.name);
// A transport given a shallower queue than the others (POSIX mq under its quota) says so in its row.
const label = (f) => (f.queueDepth === report.queueDepth ? f.transport : `${f.transport} (depth ${f.queueDepth})`);

say(`sipc peers bench: ${report.cpus} CPUs, ${report.runs} run${report.runs === 1 ? '' : 's'} per figure${report.quick ? ' (quick)' : ''}, ` +
  `queue depth ${report.queueDepth}, ${report.elapsedSeconds.toFixed(1)} s`);
for (const t of report.transports) say(`  ${t.name.padEnd(15)} ${t.how}`);

for (const placement of report.affinities) {
  say(`\nRound trip, ${placement}: µs, median and p99 (medians over runs); time ÷ sipc and ÷ sipc-nospin; ` +
    'CPU µs per round trip burned by each process');
  say(`${'size'.padEnd(8)} ${'transport'.padEnd(19)} ${pad('median', 9)} ${pad('p99', 9)} ${pad('÷sipc', 7)} ${pad('÷nospin', 8)} ${pad('CPU parent', 11)} ${pad('child', 8)}`);
  for (const size of [...new Set(report.rtt.map((f) => f.size))]) {
    let first = true;
    for (const name of names) {
      const f = report.rtt.find((x) => x.transport === name && x.size === size && x.affinity === placement);
      const cells = f
        ? `${pad(num(f.medianUs, 2), 9)} ${pad(num(f.p99Us, 2), 9)} ${pad(ratio(f.vsSipc), 7)} ${pad(ratio(f.vsSipcNoSpin), 8)} ${pad(num(f.parentCpuUs, 2), 11)} ${pad(num(f.childCpuUs, 2), 8)}`
        : `${pad('n/a', 9)}`;
      say(`${(first ? sizeText(size) : '').padEnd(8)} ${(f ? label(f) : name).padEnd(19)} ${cells}`);
      first = false;
    }
  }
}

for (const placement of report.affinities) {
  say(`\nOne-way throughput, ${placement}: GB/s (median over runs); GB/s ÷ sipc and ÷ sipc-nospin; ` +
    'CPU µs per message burned by sender and receiver');
  say(`${'size'.padEnd(8)} ${'transport'.padEnd(19)} ${pad('GB/s', 9)} ${pad('÷sipc', 7)} ${pad('÷nospin', 8)} ${pad('CPU sender', 11)} ${pad('receiver', 9)}`);
  for (const size of [...new Set(report.throughput.map((f) => f.size))]) {
    let first = true;
    for (const name of names) {
      const f = report.throughput.find((x) => x.transport === name && x.size === size && x.affinity === placement);
      const cells = f
        ? `${pad(num(f.GBps, 2), 9)} ${pad(ratio(f.vsSipc), 7)} ${pad(ratio(f.vsSipcNoSpin), 8)} ${pad(num(f.parentCpuUs, 2), 11)} ${pad(num(f.childCpuUs, 2), 9)}`
        : `${pad('n/a', 9)}`;
      say(`${(first ? sizeText(size) : '').padEnd(8)} ${(f ? label(f) : name).padEnd(19)} ${cells}`);
      first = false;
    }
  }
}

const notes = [
  ...Object.entries(report.skipped).map(([name, why]) => `  ${name}: skipped — ${why}`),
  ...report.transports.filter((t) => t.note).map((t) => `  ${t.name}: ${t.note}`),
];
if (notes.length) say(`\nNot measured\n${notes.join('\n')}`);
say(`\n${((Date.now() - started) / 1000).toFixed(1)} s`);
if (broken.length) {
  console.error(`bench:peers: ${broken.join(', ')} measured nothing (see "Not measured" above)`);
  process.exit(1);
}
