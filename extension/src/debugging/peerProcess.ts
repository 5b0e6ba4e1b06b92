// What the view and the inspector say about the process holding a role: its name, and why it may be silent —
// paused in this window's debugger (debuggees.ts), or stopped (a breakpoint of another debugger, SIGSTOP), as the
// library's describeProcess reads it. One place, so both say the same.
import { describeProcess } from '../api';
import type { Debuggees } from './debuggees';

export type PeerActivity = 'running' | 'paused in debugger' | 'stopped' | 'stopped in a debugger' | 'gone' | 'unknown';

export interface PeerProcess {
  readonly pid: number;
  /** The process's short name, "" if it cannot be read. */
  readonly name: string;
  readonly activity: PeerActivity;
}

/** The process holding a role (pid > 0, alive per the channel), or undefined when there is none. */
export function describePeer(pid: number, debuggees: Debuggees | undefined): PeerProcess | undefined {
  if (!(pid > 0)) return undefined;
  let name = '';
  let activity: PeerActivity = 'unknown';
  try {
    const info = describeProcess(pid);
    name = info.name;
    activity = info.state === 'stopped' ? (info.traced ? 'stopped in a debugger' : 'stopped') : info.state;
  } catch {
    // An older library without sipc_process_describe: the pid alone, and the debugger's word below.
  }
  if (debuggees?.get(pid)?.paused) activity = 'paused in debugger';
  return { pid, name, activity };
}

/** True when the process will not answer until someone continues it. */
export function isHalted(peer: PeerProcess | undefined): boolean {
  return peer !== undefined && (peer.activity === 'paused in debugger' || peer.activity === 'stopped' || peer.activity === 'stopped in a debugger');
}

/** "4242 node", with "· paused in debugger" / "· stopped" when it is halted. */
export function peerText(peer: PeerProcess): string {
  const name = peer.name ? ` ${peer.name}` : '';
  return `${peer.pid}${name}${isHalted(peer) ? ` · ${peer.activity}` : ''}`;
}
