// What the view and the inspector say about the process holding a role: its name, and why it may be silent —
// paused in this window's debugger (debuggees.ts), or stopped (a breakpoint of another debugger, SIGSTOP), as the
// library's describeProcess reads it. One place, so both say the same. The library reads the OS's record of the
// process (/proc on Linux), so the description is made off the extension host's main thread (describeProcessAsync)
// and the synchronous views below work from descriptions made beforehand.
import { describeProcessAsync, type ProcessInfo } from '../api';
import type { Debuggees } from './debuggees';

export type PeerActivity = 'running' | 'paused in debugger' | 'stopped' | 'stopped in a debugger' | 'gone' | 'unknown';

export interface PeerProcess {
  readonly pid: number;
  /** The process's short name, "" if it cannot be read. */
  readonly name: string;
  readonly activity: PeerActivity;
}

/**
 * The process holding a role (pid > 0, alive per the channel), or undefined when there is none, from the library's
 * description of it (`described`; undefined when there is none yet, or the library could not make one: the pid
 * alone then, and the debugger's word).
 */
export function describePeer(pid: number, described: ProcessInfo | undefined, debuggees: Debuggees | undefined): PeerProcess | undefined {
  if (!(pid > 0)) return undefined;
  let name = '';
  let activity: PeerActivity = 'unknown';
  if (described) {
    name = described.name;
    activity = described.state === 'stopped' ? (described.traced ? 'stopped in a debugger' : 'stopped') : described.state;
  }
  if (debuggees?.get(pid)?.paused) activity = 'paused in debugger';
  return { pid, name, activity };
}

/** The library's descriptions of the processes `pids` (> 0), made at once off the main thread; failed ones are left out. */
export async function describeProcesses(pids: Iterable<number>): Promise<Map<number, ProcessInfo>> {
  const wanted = [...new Set([...pids].filter((pid) => pid > 0))];
  const described = await Promise.all(wanted.map((pid) => describeProcessAsync(pid).catch(() => undefined)));
  const byPid = new Map<number, ProcessInfo>();
  for (const info of described) if (info) byPid.set(info.pid, info);
  return byPid;
}

/** How many processes a PeerDescriptions remembers (a panel sees two holders at a time, and few over its life). */
const REMEMBERED_PROCESSES = 16;

/**
 * For code that must answer synchronously (the inspector's statistics, posted on a timer): the last description of
 * each process asked for, while a fresh one is made off the main thread (one at a time per process). The first
 * answer for a process is its pid alone; the next one after the description arrived has its name and state.
 */
export class PeerDescriptions {
  private readonly known = new Map<number, ProcessInfo>();
  private readonly asking = new Set<number>();

  /** The holder `pid` as last described (see describePeer); asks for a fresh description. */
  peer(pid: number, debuggees: Debuggees | undefined): PeerProcess | undefined {
    if (!(pid > 0)) return undefined;
    this.ask(pid);
    return describePeer(pid, this.known.get(pid), debuggees);
  }

  private ask(pid: number): void {
    if (this.asking.has(pid)) return;
    this.asking.add(pid);
    describeProcessAsync(pid).then((info) => {
      this.known.delete(pid); // re-inserted last: the map's order is the order of use
      this.known.set(pid, info);
      while (this.known.size > REMEMBERED_PROCESSES) {
        const oldest = this.known.keys().next();
        if (oldest.done) break;
        this.known.delete(oldest.value);
      }
    }, () => {
      this.known.delete(pid); // an older library, or a failure: the pid alone
    }).finally(() => this.asking.delete(pid));
  }
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
