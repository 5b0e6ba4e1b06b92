/**
 * What can be seen of the process holding a role (ChannelInfo.serverPid/clientPid): its short name, and whether it
 * is stopped — at a debugger's breakpoint or by SIGSTOP — so that a peer that does not answer is not taken for a
 * dead one. The library's sipc_process_describe, the same source as `sipc ls`/`stat`. It reads a few small /proc
 * files (Linux), so describeProcessAsync runs it on a native thread (calls.ts), as every call that touches the file
 * system; describeProcess, the synchronous original of the documented Node API, stays for programs that want it,
 * and the extension never calls it (test/unit/extension-host-blocking.test.mjs).
 */
import { SIPC_ERR_INVALID_ARGUMENT, SIPC_PROCESS_GONE, SIPC_PROCESS_RUNNING, SIPC_PROCESS_STOPPED } from './abi';
import { runCall } from './calls';
import { native, type RawProcessInfo } from './native';
import { SIPC_OK, errorFor } from './status';

/** running: it will answer; stopped: alive but halted (debugger or SIGSTOP; on Windows every thread suspended). */
export type ProcessState = 'running' | 'stopped' | 'gone' | 'unknown';

export interface ProcessInfo {
  readonly pid: number;
  /** Short name ("" if it cannot be read): Linux /proc/<pid>/comm, macOS proc_name, Windows the image file name. */
  readonly name: string;
  readonly state: ProcessState;
  /** A debugger is attached (Linux TracerPid, macOS P_TRACED, Windows CheckRemoteDebuggerPresent). */
  readonly traced: boolean;
}

const STATES: Record<number, ProcessState> = {
  [SIPC_PROCESS_RUNNING]: 'running',
  [SIPC_PROCESS_STOPPED]: 'stopped',
  [SIPC_PROCESS_GONE]: 'gone',
};

/** SipcError INVALID_ARGUMENT unless `pid` is a whole number above 0. */
function checkPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw errorFor(SIPC_ERR_INVALID_ARGUMENT, `describing process ${String(pid)} failed: a pid is a whole number above 0`);
  }
}

function emptyRawProcessInfo(): RawProcessInfo {
  return { struct_size: native().processInfoSize, state: 0, traced: 0, name: '' };
}

function processInfoFromRaw(pid: number, raw: RawProcessInfo): ProcessInfo {
  return { pid, name: raw.name, state: STATES[raw.state] ?? 'unknown', traced: raw.traced !== 0 };
}

/**
 * Describes process `pid` (> 0; SipcError INVALID_ARGUMENT otherwise), synchronously: it reads a few small files
 * of /proc on the calling thread. Code on an event loop that must never touch the file system (an extension host)
 * uses describeProcessAsync.
 */
export function describeProcess(pid: number): ProcessInfo {
  checkPid(pid);
  const raw = emptyRawProcessInfo();
  const rc = native().sipc_process_describe(pid, raw);
  if (rc !== SIPC_OK) throw errorFor(rc, `describing process ${pid} failed`);
  return processInfoFromRaw(pid, raw);
}

/** describeProcess on a native thread of its own: the event loop never reads /proc. Rejects like describeProcess throws. */
export function describeProcessAsync(pid: number): Promise<ProcessInfo> {
  try {
    checkPid(pid);
  } catch (error) {
    return Promise.reject(error);
  }
  const context = `describing process ${pid} failed`;
  return runCall(
    context,
    (notify, token, out) => native().sipc_async_process_describe(pid, notify, token, out),
    (call) => {
      const raw = emptyRawProcessInfo();
      const rc = native().sipc_async_call_process_info(call, raw);
      if (rc !== SIPC_OK) throw errorFor(rc, context);
      return processInfoFromRaw(pid, raw);
    },
  );
}
