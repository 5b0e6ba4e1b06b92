#!/usr/bin/env node
// `npm run bench`: every benchmark of the project, one after the other, each measuring its own baselines in the
// same run. Tables go to the terminal; `--json` also writes all figures to test/out/bench.json.
//   npm run bench [-- --quick] [-- --json]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wantJson = args.includes('--json');
const cli = process.env.SIPC_CLI ?? join(root, 'helper/build', `${process.platform}-${process.arch}`, 'sipc');

const benches = [
  {
    name: 'native (sipc bench: sipc vs pipe vs Unix socket vs memcpy)',
    command: cli,
    args: ['bench', ...(quick ? ['--quick'] : [])],
    jsonArgs: ['--json'],
  },
  {
    name: 'Node API (sipc vs net Unix socket, two Node processes)',
    command: process.execPath,
    args: [join(root, 'test/bench/node-bench.mjs'), ...(quick ? ['--runs', '3'] : [])],
    jsonArgs: ['--json'],
  },
  {
    name: 'observers (share of messages captured by sipc tap and the Node observer; lossless cost to the peers)',
    command: process.execPath,
    args: [join(root, 'test/bench/observer-bench.mjs'), ...(quick ? ['--quick'] : [])],
    jsonArgs: ['--json'],
  },
  {
    name: 'inspector pipeline (10,000 msg/s for 10 s)',
    command: process.execPath,
    args: ['--expose-gc', join(root, 'test/bench/inspector-bench.mjs'), ...(quick ? ['--seconds', '2'] : [])],
    jsonArgs: ['--json'],
  },
  {
    name: 'inspector plot drawing in the webview (headless Chromium, 10,000 msg/s)',
    command: process.execPath,
    args: [join(root, 'test/bench/plot-bench.mjs'), ...(quick ? ['--seconds', '3'] : [])],
    jsonArgs: ['--json'],
  },
  {
    name: 'extension host event-loop delay (real VS Code, hostile /dev/shm entries, 100,000-message flood)',
    command: process.execPath,
    args: [join(root, 'test/bench/extension-host-bench.mjs')],
    jsonArgs: ['--json'],
  },
  {
    // Measured only once `npm run bench:peers` has built the peers (its first cargo build takes minutes).
    name: 'peers (sipc vs iceoryx2, Boost.Interprocess, POSIX mq)',
    command: process.execPath,
    args: [join(root, 'test/bench/peers.mjs'), '--if-built', ...(quick ? ['--quick'] : [])],
    jsonArgs: ['--json'],
  },
];

if (!existsSync(cli)) {
  console.error(`bench: ${cli} is missing; build first with npm install (or npm run build)`);
  process.exit(1);
}

const results = {};
let failed = 0;
for (const bench of benches) {
  console.log(`\n## ${bench.name}\n`);
  // With --json each benchmark runs once in its JSON mode and the figures are collected; otherwise tables go
  // straight to the terminal.
  const run = wantJson
    ? spawnSync(bench.command, [...bench.args, ...bench.jsonArgs], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 })
    : spawnSync(bench.command, bench.args, { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    failed++;
    console.error(`bench: ${bench.name} exited with ${run.status ?? run.signal}`);
    continue;
  }
  if (wantJson) {
    try {
      results[bench.name] = JSON.parse(run.stdout);
      console.log('measured');
    } catch {
      failed++;
      console.error(`bench: ${bench.name} --json did not print JSON`);
    }
  }
}

if (wantJson) {
  const out = join(root, 'test/out/bench.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`\nfigures written to ${out}`);
}
process.exit(failed ? 1 : 0);
