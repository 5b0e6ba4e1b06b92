/**
 * What can be seen of the process holding a role (ChannelInfo.serverPid/clientPid): its short name, and whether it
 * is stopped — at a debugger's breakpoint or by SIGSTOP — so that a peer that does not answer is not taken for a
 * dead one. The library's sipc_process_describe, the same source as `sipc ls`/`stat`; it reads a few small /proc
 * files (Linux) and never waits, so it is called synchronously.
 */
import { SIPC_ERR_INVALID_ARGUMENT, SIPC_PROCESS_GONE, SIPC_PROCESS_RUNNING, SIPC_PROCESS_STOPPED } from './abi';
import { native } from './native';
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

/** Describes process `pid` (> 0; SipcError INVALID_ARGUMENT otherwise). */
export function describeProcess(pid: number): ProcessInfo {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw errorFor(SIPC_ERR_INVALID_ARGUMENT, `describing process ${String(pid)} failed: a pid is a whole number above 0`);
  }
  const raw = { struct_size: native().processInfoSize, state: 0, traced: 0, name: '' };
  const rc = native().sipc_process_describe(pid, raw);
  if (rc !== SIPC_OK) throw errorFor(rc, `describing process ${pid} failed`);
  return { pid, name: raw.name, state: STATES[raw.state] ?? 'unknown', traced: raw.traced !== 0 };
}
