// test/bench/offcpu.mjs: what the extension host's main thread waited in while off CPU, from `perf script` text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offCpuWaits, parsePerfScript, summarizeWaits, waitKind } from '../bench/offcpu.mjs';

/** One sched_switch of thread 100 as `perf script -F time,event,trace,ip,sym` prints it (stack innermost first). */
function switchOut(seconds, state, frames, tid = 100) {
  const stack = ['__traceiter_sched_switch', '__schedule', 'schedule', ...frames]
    .map((frame, i) => `\t    ${(0xffff0000 + i).toString(16)} ${frame} (/some/object)`).join('\n');
  return `   ${seconds.toFixed(6)}: sched:sched_switch: prev_comm=MainThread prev_pid=${tid} prev_prio=115 prev_state=${state} ==> next_comm=x next_pid=7 next_prio=120\n${stack}\n`;
}

const CONDVAR_ZLIB = ['futex_wait', '___pthread_cond_signal', 'uv_cond_signal', 'uv_queue_work', 'node::ThreadPoolWork::ScheduleWork',
  'node::(anonymous namespace)::CompressionStream<node::(anonymous namespace)::ZlibContext>::Write<true>'];
const CONDVAR_V8 = ['futex_wait', '___pthread_cond_signal', 'uv_cond_signal', 'node::NodePlatform::PostTaskOnWorkerThreadImpl',
  'v8::platform::DefaultJobState::CallOnWorkerThread'];
const EPOLL = ['schedule_hrtimeout_range_clock', 'do_epoll_wait', '__x64_sys_epoll_pwait', 'epoll_pwait', 'uv__io_poll'];

test('parsePerfScript: events with their time in ms, trace and frames without addresses or objects', () => {
  const events = parsePerfScript(switchOut(73557.774071, 'S', CONDVAR_ZLIB) + '\n' + switchOut(73557.8589, 'R', ['asm_sysvec_apic_timer_interrupt']));
  assert.equal(events.length, 2);
  assert.equal(events[0].event, 'sched:sched_switch');
  assert.ok(Math.abs(events[0].timeMs - 73557774.071) < 1e-6);
  assert.match(events[0].trace, /^prev_comm=MainThread prev_pid=100 .*prev_state=S/);
  assert.deepEqual(events[0].frames.slice(3, 5), ['futex_wait', '___pthread_cond_signal']);
  assert.equal(events[1].frames.at(-1), 'asm_sysvec_apic_timer_interrupt');
});

test('waitKind names what was waited for', () => {
  assert.match(waitKind(CONDVAR_ZLIB), /pthread_cond_signal, posting a zlib write/);
  assert.match(waitKind(CONDVAR_V8), /pthread_cond_signal, posting a V8 task/);
  assert.match(waitKind(['futex_wait', '___pthread_cond_signal', 'uv_cond_signal', 'uv__work_submit', 'uv_fs_open']), /an fs call/);
  assert.match(waitKind(EPOLL), /^epoll_wait/);
  assert.match(waitKind(['futex_wait', 'v8::platform::DefaultJobState::Join']), /joining V8 worker threads/);
  assert.match(waitKind(['futex_wait', '__GI___lll_lock_wait', 'v8impl::(anonymous namespace)::ThreadSafeFunction::AsyncCb']),
    /^a mutex in a N-API thread-safe function/);
  assert.match(waitKind(['futex_wait', '__GI___lll_lock_wait_private', '_int_free', 'v8impl::(anonymous namespace)::ThreadSafeFunction::AsyncCb']),
    /^malloc's arena lock in a N-API/);
  assert.match(waitKind(['futex_wait', 'do_futex', 'something']), /another futex wait/);
  assert.equal(waitKind(['io_schedule', 'folio_wait_bit', 'filemap_fault']), 'other: io_schedule');
});

test('offCpuWaits: a sleeping switch-out up to the next one, long enough, of that thread only; preemptions are no waits', () => {
  const text = [
    switchOut(10.000, 'S', CONDVAR_ZLIB), // 84 ms until the next switch-out: a wait
    switchOut(10.084, 'R', ['asm_sysvec_apic_timer_interrupt']), // preempted: runnable, not a wait
    switchOut(10.200, 'S', EPOLL), // 3 ms: too short
    switchOut(10.203, 'S', CONDVAR_V8, 200), // another thread
    switchOut(10.203, 'D', CONDVAR_V8), // 60 ms: a wait
    switchOut(10.263, 'S', EPOLL), // the last switch-out has no end
  ].join('\n');
  const waits = offCpuWaits(parsePerfScript(text), 100, 5);
  assert.deepEqual(waits.map((w) => [Math.round(w.ms), w.state, w.kind.slice(0, 40)]), [
    [84, 'S', 'pthread_cond_signal, posting a zlib writ'],
    [60, 'D', 'pthread_cond_signal, posting a V8 task f'],
  ]);
  assert.ok(Math.abs(waits[0].atMs - 10000) < 1e-6);
  assert.deepEqual(offCpuWaits(parsePerfScript(text), 100, 70).map((w) => Math.round(w.ms)), [84]);
});

test('summarizeWaits: count, sum and longest per kind, the largest sum first', () => {
  const waits = [{ kind: 'a', ms: 10.04 }, { kind: 'b', ms: 50 }, { kind: 'a', ms: 30.02 }, { kind: 'a', ms: 15 }];
  assert.deepEqual(summarizeWaits(waits), [
    { kind: 'a', count: 3, ms: 55.1, maxMs: 30 },
    { kind: 'b', count: 1, ms: 50, maxMs: 50 },
  ]);
  assert.deepEqual(summarizeWaits([]), []);
});
