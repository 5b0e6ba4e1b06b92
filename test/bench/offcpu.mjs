// What the extension host's main thread waited in while it was off CPU: read from `perf script` of a recording of its
// sched_switch events with call stacks (extension-host-bench.mjs with SIPC_EXTHOST_PERF=1; Linux, root, perf). Each
// switch-out in a sleeping state (S, D) up to the thread's next switch-out is one wait; a wait in epoll_wait is the
// event loop waiting for work, anything else (a futex, a mutex, I/O) blocked the thread. The waits are sorted by the
// first frames that name what was waited for.

/** Splits `perf script -F time,event,trace,ip,sym` text into events: { timeMs, trace, frames }. */
export function parsePerfScript(text) {
  const events = [];
  let current;
  for (const line of text.split('\n')) {
    // Event lines start with the time (right-aligned); the call stack's lines with a tab.
    const head = line.startsWith('\t') ? null : /^\s*(\d+\.\d+):\s+(\S+):\s?(.*)$/.exec(line);
    if (head) {
      current = { timeMs: Number(head[1]) * 1000, event: head[2], trace: head[3], frames: [] };
      events.push(current);
    } else if (current && line.trim()) {
      // "\t    ffffffff821fb643 schedule ([kernel.kallsyms])" -> "schedule"
      const frame = /^\s*[0-9a-f]+\s+(.+?)(?:\s+\([^()]*\))?$/.exec(line);
      if (frame) current.frames.push(frame[1]);
    }
  }
  return events;
}

/** The kind of one wait from its stack (innermost frame first). */
export function waitKind(frames) {
  const stack = frames.join(' < ');
  if (/epoll_wait|epoll_pwait/.test(stack)) return 'epoll_wait: the event loop waiting for work';
  if (/pthread_cond_signal|cond_signal/.test(stack)) {
    const by = /Zlib|CompressionStream/.test(stack) ? 'a zlib write (a websocket frame to the window)'
      : /PostTaskOnWorkerThread|CallOnWorkerThread/.test(stack) ? 'a V8 task for its worker threads (compiler, GC)'
        : /uv_fs_/.test(stack) ? 'an fs call for the thread pool' : /uv_queue_work|uv__work_submit/.test(stack) ? 'other thread-pool work' : 'other';
    return `pthread_cond_signal, posting ${by}`;
  }
  if (/DefaultJobState::Join|JobHandle::Join/.test(stack)) return 'joining V8 worker threads (a parallel GC or compile job)';
  if (/lll_lock_wait|pthread_mutex_lock|mutex_lock/.test(stack)) {
    const what = /_int_free|_int_malloc|__libc_free|__libc_malloc|malloc_fork_lock/.test(stack) ? 'malloc\'s arena lock' : 'a mutex';
    const where = /ThreadSafeFunction/.test(stack) ? ' in a N-API thread-safe function (koffi\'s callback relay)'
      : /fork/.test(stack) ? ' in fork()' : '';
    return `${what}${where}`;
  }
  if (/futex/.test(stack)) return 'another futex wait';
  if (/page_fault|do_fault/.test(stack)) return 'a page fault';
  return `other: ${frames.find((frame) => !/^(__traceiter_sched_switch|__schedule|schedule|\[unknown\])$/.test(frame)) ?? 'unknown'}`;
}

/**
 * The waits of thread `tid` of at least `minMs`, each { atMs, ms, state, kind }: from each switch-out in a sleeping
 * state to the thread's next switch-out, so a wait includes the time from its wake-up to getting a CPU (and its next,
 * usually short, run).
 */
export function offCpuWaits(events, tid, minMs) {
  const outs = events.filter((e) => e.event === 'sched:sched_switch' && new RegExp(`prev_pid=${tid}\\s`).test(e.trace));
  const waits = [];
  for (let i = 0; i + 1 < outs.length; i++) {
    const state = /prev_state=(\S+)/.exec(outs[i].trace)?.[1] ?? '?';
    const ms = outs[i + 1].timeMs - outs[i].timeMs;
    if (ms < minMs || state.startsWith('R')) continue;
    const frames = outs[i].frames.filter((frame) => !/^(__traceiter_sched_switch|__schedule|schedule)$/.test(frame));
    waits.push({ atMs: outs[i].timeMs, ms, state, kind: waitKind(frames) });
  }
  return waits;
}

/** Waits summed by kind, the largest sum first: [{ kind, count, ms, maxMs }]. */
export function summarizeWaits(waits) {
  const byKind = new Map();
  for (const wait of waits) {
    const sum = byKind.get(wait.kind) ?? { kind: wait.kind, count: 0, ms: 0, maxMs: 0 };
    sum.count++;
    sum.ms += wait.ms;
    sum.maxMs = Math.max(sum.maxMs, wait.ms);
    byKind.set(wait.kind, sum);
  }
  return [...byKind.values()].map((s) => ({ ...s, ms: Math.round(s.ms * 10) / 10, maxMs: Math.round(s.maxMs * 10) / 10 })).sort((a, b) => b.ms - a.ms);
}
