// A stall of the extension host's main thread taken apart (issue #10): the wall time between two turns of a timer,
// split with the thread's own scheduler figures (Linux /proc/thread-self/schedstat) into the time it ran on a CPU, the
// time it waited in a run queue for one, and the rest, when it was off CPU, asleep in the kernel. hostile.test.js
// records them; test/unit/stalls.test.mjs tests the arithmetic.
'use strict';

const fs = require('fs');

/** A gap between two turns of the 5 ms timer at least this long is a stall, which the report takes apart. */
const STALL_MS = 20;
/** The longest stalls a phase lists (its count and sums cover all of them). */
const STALLS_LISTED = 5;

/**
 * Nanoseconds on a CPU and nanoseconds waiting in a run queue from the text of /proc/<pid>/task/<tid>/schedstat
 * ("<run ns> <wait ns> <timeslices>"), or undefined when it is not that.
 */
function parseSchedStat(text) {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 2 || !fields.slice(0, 2).every((field) => /^\d+$/.test(field))) return undefined;
  return { runNs: Number(fields[0]), waitNs: Number(fields[1]) };
}

/** This thread's schedstat, read again and again through one kept file (a pread of a few µs); Linux only. */
class SchedStat {
  constructor(file = '/proc/thread-self/schedstat') {
    try {
      this.fd = fs.openSync(file, 'r');
    } catch {
      this.fd = undefined;
    }
    this.bytes = Buffer.alloc(96);
  }

  /** Whether the figures can be read here. */
  get available() {
    return this.fd !== undefined;
  }

  /** { runNs, waitNs } now, or undefined. */
  read() {
    if (this.fd === undefined) return undefined;
    const length = fs.readSync(this.fd, this.bytes, 0, this.bytes.length, 0);
    return parseSchedStat(this.bytes.toString('latin1', 0, length));
  }

  close() {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * One stall from `wallMs` of wall time and the schedstat figures before and after it: **on CPU** (the window's own tasks
 * and the garbage collector's pauses), **run queue** (runnable, but the machine's other threads had the CPUs) and
 * **off CPU** (the rest: the thread slept, blocked in the kernel on a lock, a condition variable, I/O, a page fault;
 * up to one timer period of it is the event loop's ordinary wait for the timer). `atMs` says when it began.
 */
function splitStall(atMs, wallMs, before, after) {
  const onCpuMs = (after.runNs - before.runNs) / 1e6;
  const runQueueMs = (after.waitNs - before.waitNs) / 1e6;
  return { atMs, wallMs, onCpuMs, runQueueMs, offCpuMs: Math.max(0, wallMs - onCpuMs - runQueueMs) };
}

const tenths = (value) => Math.round(value * 10) / 10;

/** A phase's stalls: how many, their sums per part, and the STALLS_LISTED longest (rounded to 0.1 ms). */
function stallFigures(stalls) {
  const sum = (key) => tenths(stalls.reduce((total, stall) => total + stall[key], 0));
  const longest = [...stalls].sort((a, b) => b.wallMs - a.wallMs).slice(0, STALLS_LISTED);
  return {
    count: stalls.length, wallMs: sum('wallMs'), onCpuMs: sum('onCpuMs'), runQueueMs: sum('runQueueMs'), offCpuMs: sum('offCpuMs'),
    longest: longest.map((stall) => ({ ...stall, atMs: Math.round(stall.atMs), wallMs: tenths(stall.wallMs), onCpuMs: tenths(stall.onCpuMs),
      runQueueMs: tenths(stall.runQueueMs), offCpuMs: tenths(stall.offCpuMs) })),
  };
}

module.exports = { STALL_MS, STALLS_LISTED, SchedStat, parseSchedStat, splitStall, stallFigures };
