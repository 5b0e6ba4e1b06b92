// Round-trip time between two Node processes: sipc (the Node API) against a Node `net` Unix socket.
//   node test/bench/node-bench.mjs [--json] [--check] [--runs N] [--iterations N] [--sizes 64,1024,65536]
// Prints a table of median round trips (microseconds) and the sipc/Unix ratio per size, then single-trip
// percentiles. The target is a sipc
// 64 B round trip of at most half the Unix socket's; --check exits 1 when it is missed.
// Needs `make -C helper` and `node esbuild.mjs` (dist/api.js).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionValue } from './options.mjs';

const here = fileURLToPath(import.meta.url);
const apiPath = resolve(dirname(here), '..', '..', 'dist', 'api.js');
const api = createRequire(import.meta.url)(apiPath);

const args = process.argv.slice(2);
const option = (flag, fallback) => optionValue(args, flag) ?? fallback;

// ---- child side: an echo peer, or a flood sender ----
if (args[0] === '--child') {
  const [, kind, address, maxSize] = args;
  if (kind === 'flood') {
    const channel = await api.open(address);
    await channel.connect();
    const payload = Buffer.alloc(64);
    for (let i = 0; i < Number(maxSize); i++) {
      payload.writeUInt32LE(i, 0);
      await channel.send(payload);
    }
    await channel.close();
  } else if (kind === 'sipc') {
    const channel = await api.open(address, { maxMessageSize: Number(maxSize) });
    channel.on('message', (message) => { channel.send(message).catch(() => undefined); });
    channel.on('peer-gone', () => { channel.close().then(() => process.exit(0)); });
    await channel.connect();
  } else {
    const server = net.createServer((socket) => {
      socket.on('data', (data) => socket.write(data));
      socket.on('close', () => server.close());
    });
    server.listen(address, () => process.stdout.write('listening\n'));
  }
} else {
  await main();
}

function startChild(kind, address, maxSize) {
  const child = spawn(process.execPath, [here, '--child', kind, address, String(maxSize)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('close', r));
  return { child, exited };
}

async function measureSipc(size, iterations, runs) {
  const name = `bench-node-${process.pid}-${size}`;
  const maxSize = Math.max(size, 64);
  const channel = await api.open(name, { maxMessageSize: maxSize });
  const { child, exited } = startChild('sipc', name, maxSize);
  try {
    await channel.connect({ timeoutMs: 10000 });
    const payload = Buffer.alloc(size, 0x5a);
    const once = async () => {
      await channel.send(payload);
      const back = await channel.receive({ timeoutMs: 10000 });
      if (back.length !== size) throw new Error(`sipc echo returned ${back.length} bytes, expected ${size}`);
    };
    return await timeRuns(once, iterations, runs);
  } finally {
    await channel.close();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    child.kill();
  }
}

async function measureUnix(size, iterations, runs) {
  const path = join(tmpdir(), `bench-node-${process.pid}-${size}.sock`);
  rmSync(path, { force: true });
  const { child, exited } = startChild('unix', path, size);
  try {
    await new Promise((resolveReady, rejectReady) => {
      child.stdout.once('data', resolveReady);
      child.once('close', () => rejectReady(new Error('the Unix socket echo ended early')));
    });
    const socket = net.createConnection(path);
    await new Promise((r) => socket.once('connect', r));
    const payload = Buffer.alloc(size, 0x5a);
    let pending = 0;
    let wake = () => undefined;
    socket.on('data', (chunk) => {
      pending -= chunk.length;
      if (pending <= 0) wake();
    });
    const once = () => new Promise((resolveTrip) => {
      pending = size;
      wake = resolveTrip;
      socket.write(payload);
    });
    const result = await timeRuns(once, iterations, runs);
    socket.end();
    return result;
  } finally {
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    child.kill();
    rmSync(path, { force: true });
  }
}

/** One-way 64 B messages per second from another process into a 'message' listener. */
async function measureThroughput(messages) {
  const name = `bench-node-flood-${process.pid}`;
  const channel = await api.open(name);
  let received = 0;
  let started = 0n;
  const done = new Promise((resolveDone, rejectDone) => {
    channel.on('message', (message) => {
      if (received === 0) started = process.hrtime.bigint();
      if (message.readUInt32LE(0) !== received) rejectDone(new Error(`message ${received} arrived out of order`));
      if (++received === messages) resolveDone();
    });
  });
  const { exited } = startChild('flood', name, messages);
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await channel.close();
  await exited;
  return Math.round((messages - 1) / seconds);
}

/**
 * Median (and min/max) over `runs` of the mean round trip of `iterations` trips, after a warm-up; also the
 * 50th/99th percentile of single trips, which tell the usual trip from the rare stall (a preempted process)
 * that the means include.
 */
async function timeRuns(once, iterations, runs) {
  // Long enough for both processes' JIT to settle and for the channel to run hot.
  for (let i = 0; i < Math.max(2000, iterations); i++) await once();
  const perRun = [];
  const trips = new Float64Array(runs * iterations);
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    let tripStarted = started;
    for (let i = 0; i < iterations; i++) {
      await once();
      const now = process.hrtime.bigint();
      trips[run * iterations + i] = Number(now - tripStarted) / 1000;
      tripStarted = now;
    }
    perRun.push(Number(tripStarted - started) / 1000 / iterations);
  }
  const sorted = [...perRun].sort((a, b) => a - b);
  trips.sort();
  const percentile = (fraction) => trips[Math.min(trips.length - 1, Math.floor(fraction * trips.length))];
  return {
    medianUs: sorted[Math.floor(sorted.length / 2)], minUs: sorted[0], maxUs: sorted[sorted.length - 1],
    tripP50Us: percentile(0.5), tripP99Us: percentile(0.99),
  };
}

async function main() {
  const json = args.includes('--json');
  const check = args.includes('--check');
  const runs = Number(option('--runs', '5'));
  const iterations = Number(option('--iterations', '2000'));
  const sizes = option('--sizes', '64,1024,16384,65536').split(',').map(Number);
  const rows = [];
  for (const size of sizes) {
    const sipc = await measureSipc(size, iterations, runs);
    const unix = await measureUnix(size, iterations, runs);
    rows.push({ size, sipc, unix, ratio: sipc.medianUs / unix.medianUs });
  }
  const throughput = [];
  for (let run = 0; run < runs; run++) throughput.push(await measureThroughput(50000));
  const messagesPerSecond = [...throughput].sort((a, b) => a - b)[Math.floor(throughput.length / 2)];
  const at64 = rows.find((row) => row.size === 64);
  const target = { description: 'sipc 64 B round trip <= 1/2 of the Unix socket round trip', ratioLimit: 0.5,
    ratio: at64?.ratio, met: at64 ? at64.ratio <= 0.5 : undefined };
  if (json) {
    console.log(JSON.stringify({ benchmark: 'node-rtt', runs, iterations, node: process.version, rows, target,
      throughput: { size: 64, messagesPerSecond } }, null, 2));
  } else {
    console.log(`Node round trip between two processes (median of ${runs} runs x ${iterations} trips; microseconds)`);
    console.log('size (B) | sipc RTT | unix socket RTT | sipc/unix');
    console.log('-------- | -------- | --------------- | ---------');
    for (const row of rows) {
      console.log(`${String(row.size).padStart(8)} | ${row.sipc.medianUs.toFixed(1).padStart(8)} | ${row.unix.medianUs.toFixed(1).padStart(15)} | ${row.ratio.toFixed(2).padStart(9)}`);
    }
    for (const row of rows) {
      console.log(`${row.size} B single trips (p50 / p99): sipc ${row.sipc.tripP50Us.toFixed(1)} / ${row.sipc.tripP99Us.toFixed(1)}, ` +
        `unix socket ${row.unix.tripP50Us.toFixed(1)} / ${row.unix.tripP99Us.toFixed(1)}`);
    }
    console.log(`one-way 64 B messages into a 'message' listener: ${messagesPerSecond} msgs/s (median of ${runs})`);
    if (target.ratio !== undefined) {
      console.log(`target: ${target.description}: ratio ${target.ratio.toFixed(2)} -> ${target.met ? 'met' : 'MISSED'}`);
    }
  }
  if (check && target.met === false) process.exitCode = 1;
}
