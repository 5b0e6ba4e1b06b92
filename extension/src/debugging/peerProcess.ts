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

/**
 * How long a holder's description stands before its state is read again. Its name never changes while it holds the
 * role; its state (stopped by SIGSTOP or another debugger) may, and is read again at this pace rather than on every
 * statistics tick (each read is a native thread: one per holder per tick before).
 */
export const PEER_STATE_REFRESH_MS = 5000;

type Describe = (pid: number) => Promise<ProcessInfo>;

/**
 * For code that must answer synchronously (the inspector's statistics, posted on a timer): the description of each
 * holder, made off the main thread once when the holder is first seen, and again only every PEER_STATE_REFRESH_MS
 * (its state). The first answer for a holder is its pid alone; the next one after the description arrived has its
 * name and state.
 *
 * A holder is known by its pid for as long as the channel shows it holding a role without a break: holders() is told
 * the current ones on every tick, and a pid that stopped holding is forgotten, so a later process given the same pid
 * is described afresh. (The channel's info has no start time per role, which would make (pid, start time) the key;
 * the library's "alive" already compares it, so a holder whose pid was reused reads as not alive and is dropped.)
 */
export class PeerDescriptions {
  private readonly known = new Map<number, { info: ProcessInfo; at: number }>();
  private readonly asking = new Set<number>();

  constructor(
    private readonly describe: Describe = describeProcessAsync,
    private readonly now: () => number = Date.now,
    private readonly refreshMs = PEER_STATE_REFRESH_MS,
  ) {}

  /** The holders now (pid > 0, alive): every other pid's description is forgotten. */
  holders(pids: Iterable<number>): void {
    const current = new Set(pids);
    for (const pid of this.known.keys()) if (!current.has(pid)) this.known.delete(pid);
  }

  /** The holder `pid` as last described (see describePeer); asks for a description if it has none or an old one. */
  peer(pid: number, debuggees: Debuggees | undefined): PeerProcess | undefined {
    if (!(pid > 0)) return undefined;
    const known = this.known.get(pid);
    if (!known || this.now() - known.at >= this.refreshMs) this.ask(pid);
    return describePeer(pid, known?.info, debuggees);
  }

  private ask(pid: number): void {
    if (this.asking.has(pid)) return;
    this.asking.add(pid);
    this.describe(pid).then((info) => {
      this.known.set(pid, { info, at: this.now() });
    }, () => {
      // An older library, or a failure: the pid alone, asked again after the refresh time, not on every tick.
      this.known.set(pid, { info: { pid, name: '', state: 'unknown', traced: false }, at: this.now() });
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
