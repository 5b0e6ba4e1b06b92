// How much of a busy channel an observer captures, and what lossless observation costs the peers.
//   node test/bench/observer-bench.mjs [--json] [--runs N] [--quick] [--load full|100k] [--observer tap|node|record|c]
//                                      [--depth N[,N...]] [--max-message N[,N...]] [--messages N]
// Two C peers (test/bench/observe_peers.c, built here against helper/build's libsipc.a): a client sends 64 B
// messages to a server that receives them as they come (a reader that keeps up), at full speed and paced at
// 100,000 msgs/s. Each load runs without an observer (the baseline), then with `sipc tap --json`, with the Node
// API's observe(), with `sipc record` to pcapng, with a C loop of sipc_observer_next (observe_peers observer: the
// library's cost without a tool's formatting), and with the four in lossless mode. Reported per load and observer:
// the share of the messages the observer captured (the rest it counted as missed), and the peers' time against the
// baseline of the same run.
// Each figure is the median of --runs runs (default 3; --quick: 1 run, fewer messages). --messages: how many the full-speed
// load sends (default 200,000, about 0.1 s, in which the scheduler's placement of three busy processes on a small
// machine moves a ratio by 2x either way; a few million average over many placements). --depth: the channel's queue
// depth (default 16, the library's default): how far a lossless observer may fall behind before it holds the peers;
// a list (16,64,256) measures each depth in turn, with a baseline of its own, per load. --max-message: the channel's
// max_message_size (default 65536,64: the library's default, whose 1 MiB ring keeps 4,096 of these messages, and a
// channel sized to them, whose 128 KiB ring keeps 1,024 at depth 16: helper/PROTOCOL.md section 2, "Records, index and
// history").
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberOption, optionValue } from './options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const wantJson = args.includes('--json');
const quick = args.includes('--quick');
const runs = numberOption(args, '--runs', quick ? 1 : 3);
const depths = (optionValue(args, '--depth') ?? '16').split(',').map(Number);
if (depths.some((depth) => !Number.isInteger(depth) || depth < 1 || depth > 4096)) throw new Error('--depth: 1 to 4096, or a list of them');
const maxMessages = (optionValue(args, '--max-message') ?? '65536,64').split(',').map(Number);
if (maxMessages.some((size) => !Number.isInteger(size) || size < 64 || size > 64 * 1024 * 1024)) throw new Error('--max-message: 64 to 67108864 bytes, or a list of them');
const platform = `${process.platform}-${process.arch}`;
const cli = process.env.SIPC_CLI ?? join(root, 'helper/build', platform, 'sipc');
const outDir = join(root, 'test/out');
const peersBinary = join(outDir, 'observe_peers');
const apiPath = join(root, 'dist', 'api.js');
// The Node observer loads the library of the same build as the peers and the CLI (helper/build, what `make -C helper`
// just made), not the copy in dist/native that only `npm run build` refreshes; SIPC_LIBRARY chooses another.
const nodeLibrary = process.env.SIPC_LIBRARY ?? join(root, 'helper/build', platform, 'libsipc.so');
const SIZE = 64;

const onlyLoad = args.includes('--load') ? args[args.indexOf('--load') + 1] : null;
const loads = [
  { key: 'full', label: 'full speed', rate: 0, count: numberOption(args, '--messages', quick ? 50000 : 200000) },
  { key: '100k', label: '100k msgs/s', rate: 100000, count: quick ? 30000 : 100000 },
].filter((load) => onlyLoad === null || load.key === onlyLoad);
if (loads.length === 0) throw new Error(`--load: full or 100k, not ${onlyLoad}`);
const onlyObserver = args.includes('--observer') ? args[args.indexOf('--observer') + 1] : null;
const observers = [
  { label: 'none (baseline)', kind: 'none' },
  { label: 'sipc tap', kind: 'tap', lossless: false },
  { label: 'Node observe()', kind: 'node', lossless: false },
  { label: 'sipc tap --lossless', kind: 'tap', lossless: true },
  { label: 'Node observe({ lossless })', kind: 'node', lossless: true },
  { label: 'sipc record', kind: 'record', lossless: false },
  { label: 'sipc record --lossless', kind: 'record', lossless: true },
  { label: 'C sipc_observer_next', kind: 'c', lossless: false },
  { label: 'C sipc_observer_next, lossless', kind: 'c', lossless: true },
].filter((observer) => onlyObserver === null || observer.kind === 'none' || observer.kind === onlyObserver);
if (observers.length === 1) throw new Error(`--observer: tap, node, record or c, not ${onlyObserver}`);

function build() {
  mkdirSync(outDir, { recursive: true });
  // SIPC_BENCH_PEERS_LIB: another build's libsipc.a for the peers (to alternate two builds of the producers' side in one
  // session; SIPC_CLI does the same for the tap and the recorder).
  const lib = process.env.SIPC_BENCH_PEERS_LIB ?? join(root, 'helper/build', platform, 'libsipc.a');
  const cc = spawnSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-I', join(root, 'helper/include'),
    join(root, 'test/bench/observe_peers.c'), lib, '-pthread', '-lrt', '-o', peersBinary], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`building observe_peers failed:\n${cc.stderr}`);
}

/** Starts a child and collects its stdout; `lines` resolves each time a line arrives. */
function start(command, commandArgs, options = {}) {
  const child = spawn(command, commandArgs, { stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'], ...options.spawn });
  let out = '';
  let err = '';
  const waiters = [];
  child.stdout?.on('data', (chunk) => {
    out += chunk;
    for (const w of [...waiters]) if (w.test(out)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
    for (const w of [...waiters]) if (w.test(err)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const waitFor = (pattern, ms, what) => new Promise((resolve, reject) => {
    const test = (text) => pattern.test(text);
    if (test(out) || test(err)) return resolve();
    const timer = setTimeout(() => reject(new Error(`${what}: not seen within ${ms} ms; stderr: ${err.slice(-400)}`)), ms);
    waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
    done.then(() => { clearTimeout(timer); if (!test(out) && !test(err)) reject(new Error(`${what}: exited; stderr: ${err.slice(-400)}`)); });
  });
  return { child, done, waitFor, stdout: () => out, stderr: () => err };
}

const NODE_OBSERVER = `
const api = require(process.argv[1]);
const [name, count, lossless, clockTicks, rate] = [process.argv[2], Number(process.argv[3]), process.argv[4] === '1', Number(process.argv[5]), Number(process.argv[6])];
let seen = 0, missed = 0, observer = null, startCpu = null, startMainCpu = null, lastUs = 0;
// Each gap (missed messages before a message): how many, and the send times around them (splitMissed in the bench).
const gaps = [];
// The main (JavaScript) thread's CPU seconds, from /proc (Linux; null elsewhere): the rest is the native threads'.
const mainThreadCpu = () => {
  try {
    const fields = require('node:fs').readFileSync('/proc/self/task/' + process.pid + '/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch { return null; }
};
// Every thread's schedstat (Linux; [] elsewhere): ns on a CPU, ns runnable without one, times it got a CPU.
const threadsSched = () => {
  try {
    const fs = require('node:fs');
    return fs.readdirSync('/proc/self/task').map((tid) => [tid, ...fs.readFileSync('/proc/self/task/' + tid + '/schedstat', 'utf8').trim().split(' ').map(Number)]);
  } catch { return []; }
};
let startThreads = [];
// The native copier is the thread other than JavaScript's that got a CPU most often since observe() resolved (it wakes
// per few messages; the notifier about once per millisecond): on a CPU, runnable without one, and its wake-ups.
const copierSched = () => {
  const before = new Map(startThreads.map((t) => [t[0], t]));
  let best = null;
  for (const [tid, run, wait, turns] of threadsSched()) {
    const b = before.get(tid);
    if (b === undefined || tid === String(process.pid)) continue;
    const d = { runMs: (run - b[1]) / 1e6, waitMs: (wait - b[2]) / 1e6, turns: turns - b[3] };
    if (best === null || d.turns > best.turns) best = d;
  }
  return best;
};
// CPU time from the moment observe() resolved (Node's start and the library's loading are not the observer's cost).
const finish = () => {
  const cpu = process.cpuUsage(startCpu ?? undefined);
  const main = mainThreadCpu();
  console.log(JSON.stringify({ seen, missed, gaps, copier: copierSched(), stats: observer?.stats() ?? null, cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mainCpuSeconds: main === null || startMainCpu === null ? null : main - startMainCpu }));
  process.exit(0);
};
process.on('SIGTERM', finish);
api.observe(name, { lossless, capacity: 64, stallTimeoutMs: 10000 }).then((opened) => {
  observer = opened;
  startCpu = process.cpuUsage();
  startMainCpu = mainThreadCpu();
  startThreads = threadsSched();
  // Batches: what the observer costs without an object, Date or Buffer per message (the per-message 'message' event
  // makes them; SIPC_BENCH_OBSERVER_MESSAGES=1 measures it instead).
  if (process.env.SIPC_BENCH_OBSERVER_MESSAGES === '1') {
    observer.on('message', (m) => {
      seen++; missed += m.missed;
      if (m.missed > 0) gaps.push([m.missed, m.timestampUs - lastUs]);
      lastUs = m.timestampUs;
      if (seen + missed >= count) finish();
    });
  } else {
    observer.on('batch', (batch) => {
      seen += batch.count;
      for (let i = 0; i < batch.count; i++) {
        if (batch.missed[i] > 0) { missed += batch.missed[i]; gaps.push([batch.missed[i], batch.timestampsUs[i] - lastUs]); }
        lastUs = batch.timestampsUs[i];
      }
      if (seen + missed >= count) finish();
    });
  }
  console.error('ready');
}, (error) => { console.error(String(error)); process.exit(1); });
`;

/** The CPU seconds a live process used so far (/proc/PID/stat utime + stime), null once it is gone. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

let serial = 0;
async function runOnce(load, observer, depth, maxMessage) {
  const name = `bench-obs-${process.pid}-${++serial}`;
  const server = start(peersBinary, ['server', name, String(load.count), String(depth), String(maxMessage)]);
  let tapSampler;
  try {
    await server.waitFor(/ready/, 10000, 'server');
    const client = start(peersBinary, ['client', name, String(load.count), String(load.rate), String(SIZE)]);
    let watcher;
    let tapFile;
    let tapCpu = null;
    if (observer.kind === 'tap') {
      tapFile = join(outDir, `${name}.tap`);
      const fd = openSync(tapFile, 'w');
      watcher = start(cli, ['tap', name, '--json', '--stats', '--timeout', '1000', ...(observer.lossless ? ['--lossless', '--stall-timeout', '10000'] : [])],
        { stdout: fd });
      closeSync(fd);
      await watcher.waitFor(/watching/, 10000, 'tap');
      // Its CPU time, sampled from the start: it exits as soon as the server's exit removes the channel, and a sample
      // taken only after the peers ended could find it gone already (no figure).
      tapSampler = setInterval(() => { tapCpu = cpuSecondsOf(watcher.child.pid) ?? tapCpu; }, 10);
    } else if (observer.kind === 'record') {
      tapFile = join(outDir, `${name}.pcapng`);
      watcher = start(cli, ['record', name, '-o', tapFile, '--stats', ...(observer.lossless ? ['--lossless', '--stall-timeout', '10000'] : [])]);
      await watcher.waitFor(/recording/, 10000, 'record');
    } else if (observer.kind === 'c') {
      watcher = start(peersBinary, ['observer', name, String(load.count), observer.lossless ? '1' : '0']);
      await watcher.waitFor(/watching/, 10000, 'C observer');
    } else if (observer.kind === 'node') {
      watcher = start(process.execPath, ['-e', NODE_OBSERVER, apiPath, name, String(load.count), observer.lossless ? '1' : '0', String(CLOCK_TICKS), String(load.rate)],
        { spawn: { env: { ...process.env, SIPC_LIBRARY: nodeLibrary } } });
      await watcher.waitFor(/ready/, 10000, 'node observer');
    }
    client.child.stdin.write('go\n');
    const clientDone = await client.done;
    if (clientDone.code !== 0) throw new Error(`client failed: ${client.stderr()}`);
    const { seconds, rate, ...clientCosts } = JSON.parse(client.stdout());
    const serverDone = await server.done;
    if (serverDone.code !== 0) throw new Error(`server failed: ${server.stderr()}`);
    const serverCosts = JSON.parse(server.stdout().split('\n').find((line) => line.startsWith('{')));
    let seen = null;
    let missed = null;
    let stats = null;
    let cpuSeconds = null;
    let mainCpuSeconds = null;
    let gaps = null;
    let copier = null;
    if (observer.kind === 'tap') {
      await watcher.done; // it ends once the channel is gone, or after a quiet second
      clearInterval(tapSampler);
      cpuSeconds = tapCpu;
      // Line by line: a few million messages make more JSON than one string may hold.
      seen = 0;
      missed = 0;
      gaps = [];
      let lastUs = 0;
      for await (const line of createInterface({ input: createReadStream(tapFile), crlfDelay: Infinity })) {
        if (line === '') continue;
        const m = JSON.parse(line);
        seen++;
        if (m.missed > 0) { missed += m.missed; gaps.push([m.missed, m.timeNs / 1000 - lastUs]); }
        lastUs = m.timeNs / 1000;
      }
      rmSync(tapFile, { force: true });
      stats = tapStats(JSON.parse(/: stats (\{.*\})/.exec(watcher.stderr())?.[1] ?? 'null'));
    } else if (observer.kind === 'record') {
      // Like the tap's quiet second: once the file has not grown for a second (the recorder flushes 0.1 s after the
      // channel went quiet), everything is copied; Ctrl-C then ends it with the totals on stderr.
      let size = -1;
      for (let quiet = 0; quiet < 20;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        cpuSeconds = cpuSecondsOf(watcher.child.pid) ?? cpuSeconds;
        const now = statSync(tapFile).size;
        quiet = now === size ? quiet + 1 : 0;
        size = now;
      }
      watcher.child.kill('SIGINT');
      const ended = await watcher.done;
      rmSync(tapFile, { force: true });
      const totals = /(\d+) messages? recorded, (\d+) missed/.exec(watcher.stderr());
      if (ended.code !== 0 || totals === null) throw new Error(`sipc record failed: ${watcher.stderr()}`);
      seen = Number(totals[1]);
      missed = Number(totals[2]);
      stats = tapStats(JSON.parse(/: stats (\{.*\})/.exec(watcher.stderr())?.[1] ?? 'null'));
    } else if (observer.kind === 'c') {
      await watcher.done; // it ends once it accounted for every message, or when the channel is gone
      let raw;
      ({ seen, missed, cpuSeconds, stats: raw } = JSON.parse(watcher.stdout().trim().split('\n').pop()));
      stats = tapStats(raw);
    } else if (observer.kind === 'node') {
      const timer = setTimeout(() => watcher.child.kill('SIGTERM'), 10000);
      await watcher.done;
      clearTimeout(timer);
      ({ seen, missed, gaps, copier, stats, cpuSeconds, mainCpuSeconds } = JSON.parse(watcher.stdout().trim().split('\n').pop()));
    }
    const split = gaps === null || load.rate === 0 ? null : splitMissed(gaps, load.rate);
    return { seconds, rate, seen, missed, stats, split, copier, cpuSeconds, mainCpuSeconds, peers: { client: clientCosts, server: serverCosts } };
  } finally {
    clearInterval(tapSampler);
    server.child.kill('SIGKILL');
    spawnSync(cli, ['rm', '--force', '--', name], { stdio: 'ignore' });
  }
}

/**
 * Paced loads: the missed messages split by how they were sent. A gap of k missed messages between two copied ones
 * sent `spanUs` apart was sent faster than twice the pace when spanUs < (k + 1) / 2 paces: the client had fallen
 * behind its schedule and sent its backlog as fast as the server took it (a burst at full speed, which a sleeping
 * observer cannot follow); otherwise the messages came at about the pace and the observer was late.
 */
function splitMissed(gaps, rate) {
  const paceUs = 1e6 / rate;
  const split = { burst: 0, burstGaps: 0, paced: 0, pacedGaps: 0 };
  for (const [k, spanUs] of gaps) {
    if (spanUs < 0.5 * (k + 1) * paceUs) { split.burst += k; split.burstGaps++; } else { split.paced += k; split.pacedGaps++; }
  }
  return split;
}

/** `sipc tap --stats`' and `sipc record --stats`' counters (ns) in the units of the Node API's ObserverStats (µs). */
function tapStats(raw) {
  if (raw === null) return null;
  return {
    messages: raw.messages, missed: raw.missed, missedAsleep: raw.missedAsleep, missedAway: raw.missedAway,
    missedRunning: raw.missedRunning, sleeps: raw.sleeps, woken: raw.woken, polls: raw.polls, spins: raw.spins,
    spinHits: raw.spinHits, wakeLatencyMeanUs: raw.wakeLatencyCount > 0 ? raw.wakeLatencyTotalNs / raw.wakeLatencyCount / 1000 : null,
    wakeLatencyMaxUs: raw.wakeLatencyMaxNs / 1000, longestMissGapUs: raw.longestMissGapNs / 1000,
    longestAwayUs: raw.longestAwayNs / 1000, producerWakes: raw.producerWakes,
  };
}

/** Why the observer missed what it missed, in the run with the median share captured (one line). */
function describeStats(stats, split) {
  if (stats === null) return '-';
  const us = (v) => (v === null ? '-' : `${v.toFixed(0)} µs`);
  return `missed ${stats.missed} (asleep ${stats.missedAsleep}, away ${stats.missedAway}, running ${stats.missedRunning}); `
    + `sleeps ${stats.sleeps} (woken ${stats.woken}), spins ${stats.spins} (hits ${stats.spinHits}); wake latency mean ${us(stats.wakeLatencyMeanUs)} `
    + `max ${us(stats.wakeLatencyMaxUs)}; longest gap before a miss ${us(stats.longestMissGapUs)}, away ${us(stats.longestAwayUs)}`
    + (stats.producerWakes > 0 ? `; producer wake-ups ${stats.producerWakes}` : '')
    + (stats.deliveries !== undefined ? `; JS turns ${stats.deliveries} (largest ${stats.largestDelivery})` : '')
    + (split === null || stats.missed === 0 ? '' : `; of the missed, sent in the client's catch-up bursts ${split.burst} (${split.burstGaps} gaps), at its pace ${split.paced} (${split.pacedGaps} gaps)`);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

build();
const results = [];
for (const load of loads) for (const maxMessage of maxMessages) for (const depth of depths) {
  let baseline = null;
  for (const observer of observers) {
    const measured = [];
    for (let r = 0; r < runs; r++) measured.push(await runOnce(load, observer, depth, maxMessage));
    const seconds = median(measured.map((m) => m.seconds));
    if (observer.kind === 'none') baseline = seconds;
    const captured = observer.kind === 'none' ? null : median(measured.map((m) => m.seen / load.count));
    const medianRun = [...measured].sort((a, b) => (a.seen ?? 0) - (b.seen ?? 0))[measured.length >> 1];
    results.push({
      load: load.label, rate: load.rate, messages: load.count, depth, maxMessage, observer: observer.label, lossless: observer.lossless ?? false,
      captured, missed: observer.kind === 'none' ? null : median(measured.map((m) => m.missed)),
      peersSeconds: seconds, peersRate: median(measured.map((m) => m.rate)), slowdown: seconds / baseline,
      stats: medianRun.stats ?? null, split: medianRun.split ?? null, peers: medianRun.peers, observerCpuSeconds: medianRun.cpuSeconds ?? null,
      observerMainThreadCpuSeconds: medianRun.mainCpuSeconds ?? null, copier: medianRun.copier ?? null,
    });
  }
}

if (wantJson) {
  console.log(JSON.stringify({ runs, sizeBytes: SIZE, depths, maxMessages, results }, null, 2));
} else {
  console.log(`64 B messages, client -> server, the server receiving as they come; median of ${runs} run(s); captured = messages the`);
  console.log('observer copied / messages sent (the rest it counted as missed); peers = the send loop\'s time, x = against no observer');
  console.log('on a channel of the same queue depth and max message size.\n');
  console.log('| load | max message | queue depth | observer | captured | peers\' rate | peers vs no observer |');
  console.log('|---|---:|---:|---|---:|---:|---:|');
  for (const r of results) {
    const captured = r.captured === null ? '-' : `${(r.captured * 100).toFixed(1)}%`;
    console.log(`| ${r.load} | ${r.maxMessage.toLocaleString('en-US')} B | ${r.depth} | ${r.observer} | ${captured} | ${Math.round(r.peersRate).toLocaleString('en-US')} msgs/s | ${r.slowdown.toFixed(2)}x |`);
  }
  console.log('\nWhy (the observer\'s counters in the run with the median share captured):');
  const label = (r) => `${r.load}, ${maxMessages.length > 1 ? `max message ${r.maxMessage} B, ` : ''}${depths.length > 1 ? `depth ${r.depth}, ` : ''}${r.observer}`;
  for (const r of results) if (r.stats !== null) console.log(`- ${label(r)}: ${describeStats(r.stats, r.split)}`);
  console.log('\nWhere the peers\' time went (same runs): CPU seconds, the client\'s sends that waited (spins, hits, sleeps, same-CPU skips)');
  console.log('and the wake-ups the client\'s sends paid for the observer:');
  for (const r of results) {
    const c = r.peers.client;
    // Per message the observer handled (copied or counted as missed): what load hardly moves.
    const perMessage = (seconds) => `${(seconds / r.messages * 1e6).toFixed(2)} µs/message`;
    const copier = r.copier === null || r.copier.turns === 0 ? ''
      : `; copier thread ${(r.copier.runMs / 1000).toFixed(3)} s, ${r.copier.turns} times on a CPU, runnable without one ${r.copier.waitMs.toFixed(1)} ms (${(r.copier.waitMs * 1000 / r.copier.turns).toFixed(1)} µs per time)`;
    const mainThread = r.observerMainThreadCpuSeconds === null ? '' : `; JavaScript thread ${r.observerMainThreadCpuSeconds.toFixed(3)} s, ${perMessage(r.observerMainThreadCpuSeconds)}${copier}`;
    const observerCpu = r.observerCpuSeconds === null ? ''
      : `, observer process ${r.observerCpuSeconds.toFixed(3)} s (${perMessage(r.observerCpuSeconds)}${mainThread})`;
    console.log(`- ${label(r)}: client ${c.cpuSeconds.toFixed(3)} s CPU of ${r.peersSeconds.toFixed(3)} s, server ${r.peers.server.cpuSeconds.toFixed(3)} s${observerCpu}; `
      + `client spins ${c.spins} (hits ${c.spinHits}), sleeps ${c.sleeps}, same-CPU skips ${c.sameCpuSkips}`
      + `${c.observerWakes === undefined ? '' : `, wake-ups of the observer ${c.observerWakes}`}; server sleeps ${r.peers.server.sleeps}`
      + (r.rate === 0 ? '' : `; the client fell a ring behind its schedule ${c.behindRing} times (at most ${Math.round(c.longestLateUs)} µs late)`));
  }
}
const lost = results.filter((r) => r.lossless && r.captured !== 1);
if (lost.length > 0) {
  console.error(`observer bench: a lossless observer missed messages: ${lost.map((r) => `${r.load}/${r.maxMessage}/${r.depth}/${r.observer}`).join(', ')}`);
  process.exit(1);
}
