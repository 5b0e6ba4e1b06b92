#!/usr/bin/env node
// Benchmark of the inspector's pure pipeline (capture ring + filter + batching feed + exports), without VS Code.
// Simulates the target load, 10,000 messages/s for 10 s into a panel that shows them, on a simulated clock so
// the batching is the real code path; reports wall-clock cost, batches per simulated second and retained memory.
//   node --expose-gc test/bench/inspector-bench.mjs [--rate 10000] [--seconds 10] [--size 64] [--retain 100000] [--json]
import { loadCore } from '../unit/inspector-core.mjs';
import { numberOption } from './options.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => numberOption(args, `--${name}`, fallback);
const rate = option('rate', 10_000);
const seconds = option('seconds', 10);
const size = option('size', 64);
const retain = option('retain', 100_000);
const asJson = args.includes('--json');

const core = await loadCore();
const gc = globalThis.gc ?? (() => {});
const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers; };

/** Simulated clock: timers fire when the producer moves time forward. */
function simulatedScheduler() {
  let now = 0;
  let timers = [];
  return {
    now: () => now,
    setTimeout: (callback, ms) => { const t = { at: now + ms, callback }; timers.push(t); return t; },
    clearTimeout: (t) => { timers = timers.filter((x) => x !== t); },
    advanceTo(time) {
      now = time;
      if (timers.length === 0 || timers[0].at > now) return;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.callback();
    },
  };
}

const baseline = heap();
const scheduler = simulatedScheduler();
const capture = new core.Capture({ maxMessages: retain, maxBytes: 1024 * 1024 * 1024 });
let postedBytes = 0;
let maxRowsPerPost = 0;
let measuringDone = false;
const feed = new core.ViewFeed(capture, (message) => {
  // What crosses to the webview: a batch's buffer (bytes) and its joined previews (JSON text).
  if (message.type === 'append' && !measuringDone) {
    maxRowsPerPost = Math.max(maxRowsPerPost, message.rows.count);
    postedBytes += message.rows.numbers.buffer.byteLength + message.rows.previews.length;
  }
}, scheduler, 50);
feed.attach();

const total = rate * seconds;
// The Node API delivers each message as a view into a batch buffer it filled natively; mimic that.
const batch = new Uint8Array(Math.max(1 << 20, size * 2));
for (let i = 0; i < batch.length; i++) batch[i] = 0x20 + (i % 90);
const slots = Math.floor(batch.length / size);
const stepMs = 1000 / rate;
const started = process.hrtime.bigint();
for (let i = 0; i < total; i++) {
  const t = i * stepMs;
  scheduler.advanceTo(t);
  const offset = (i % slots) * size;
  capture.addMessage(i % 2 ? 'received' : 'sent', batch.subarray(offset, offset + size), 1.7e12 + t);
}
scheduler.advanceTo(total * stepMs + 100);
const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
measuringDone = true;
const appendsPosted = feed.posted.appends;
const retainedBytes = heap() - baseline;

const filterStarted = process.hrtime.bigint();
feed.setFilter({ text: 'abc' });
const filterMs = Number(process.hrtime.bigint() - filterStarted) / 1e6;
feed.setFilter({});

const jsonlStarted = process.hrtime.bigint();
let jsonlBytes = 0;
for (const line of core.jsonlLines(capture.entries(), { channel: 'bench', mode: 'peer', exported: 0 })) jsonlBytes += line.length;
const jsonlMs = Number(process.hrtime.bigint() - jsonlStarted) / 1e6;
const pcapStarted = process.hrtime.bigint();
let pcapBytes = 0;
for (const chunk of core.pcapngChunks(capture.entries(), { interfaceName: 'bench' })) pcapBytes += chunk.length;
const pcapMs = Number(process.hrtime.bigint() - pcapStarted) / 1e6;

const result = {
  benchmark: 'inspector-pipeline',
  offered: { messagesPerSecond: rate, seconds, messageBytes: size, messages: total },
  processedMessagesPerSecond: Math.round(total / elapsedS),
  cpuShareAtOfferedRate: Number((elapsedS / seconds).toFixed(4)),
  postsPerSimulatedSecond: Number((appendsPosted / seconds).toFixed(1)),
  maxRowsPerPost,
  postedMiB: Number((postedBytes / 1048576).toFixed(1)),
  retainedMessages: capture.length,
  droppedMessages: capture.dropped,
  retainedMiB: Number((retainedBytes / 1048576).toFixed(1)),
  retainedBytesPerMessage: Math.round(retainedBytes / capture.length),
  filterResetMs: Number(filterMs.toFixed(1)),
  exportJsonlMs: Number(jsonlMs.toFixed(1)),
  exportJsonlMiB: Number((jsonlBytes / 1048576).toFixed(1)),
  exportPcapngMs: Number(pcapMs.toFixed(1)),
  exportPcapngMiB: Number((pcapBytes / 1048576).toFixed(1)),
  gcExposed: globalThis.gc !== undefined,
};
feed.dispose();

if (asJson) {
  console.log(JSON.stringify(result));
} else {
  console.log(`inspector pipeline: ${total.toLocaleString()} messages of ${size} B offered at ${rate.toLocaleString()}/s for ${seconds} s`);
  console.log(`  processed        ${result.processedMessagesPerSecond.toLocaleString()} messages/s (${(result.cpuShareAtOfferedRate * 100).toFixed(1)}% of one core at the offered rate)`);
  console.log(`  webview posts    ${result.postsPerSimulatedSecond}/s, at most ${maxRowsPerPost} rows each, ${result.postedMiB} MiB of rows in all`);
  console.log(`  retained         ${capture.length.toLocaleString()} messages (${capture.dropped.toLocaleString()} dropped), ${result.retainedMiB} MiB, ${result.retainedBytesPerMessage} B/message${result.gcExposed ? '' : ' (run with --expose-gc for exact memory)'}`);
  console.log(`  filter reset     ${result.filterResetMs} ms over the retained messages`);
  console.log(`  export           JSONL ${result.exportJsonlMiB} MiB in ${result.exportJsonlMs} ms, pcapng ${result.exportPcapngMiB} MiB in ${result.exportPcapngMs} ms`);
}
