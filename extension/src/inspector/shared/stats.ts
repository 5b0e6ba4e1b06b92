// Message and byte rates per direction, from counters sampled at each stats tick.
import type { DirectionTotals } from './capture';
import type { Direction } from './model';
import type { StatsSnapshot } from './protocol';

interface Sample { readonly at: number; readonly messages: number; readonly bytes: number }

export class RateMeter {
  private readonly samples = new Map<Direction, Sample[]>();

  /** windowMs: rates are averaged over about this long. */
  constructor(private readonly windowMs = 2000) {}

  /** Records totals at time `now` (ms) and returns the rates per second over the window. */
  sample(direction: Direction, totals: DirectionTotals, now: number): { messagesPerSecond: number; bytesPerSecond: number } {
    const list = this.samples.get(direction) ?? [];
    // Counters going down means the capture was cleared: start over.
    const last = list[list.length - 1];
    if (last && (totals.messages < last.messages || totals.bytes < last.bytes)) list.length = 0;
    list.push({ at: now, messages: totals.messages, bytes: totals.bytes });
    while (list.length > 2 && now - list[1].at >= this.windowMs) list.shift();
    this.samples.set(direction, list);
    const first = list[0];
    const elapsed = (now - first.at) / 1000;
    if (elapsed <= 0) return { messagesPerSecond: 0, bytesPerSecond: 0 };
    return { messagesPerSecond: (totals.messages - first.messages) / elapsed, bytesPerSecond: (totals.bytes - first.bytes) / elapsed };
  }

  reset(): void {
    this.samples.clear();
  }
}

/**
 * The footer's who-is-there part. Live: "server 4242 node · client —" (the holders, a name when known, "(dead)").
 * An opened file has no live peers, so, as Wireshark's status bar names the file, it says which file and the side it
 * was recorded from: "run.pcapng · recorded by an observer" (the peers it saw are its event rows).
 */
export function peersText(stats: StatsSnapshot): string {
  if (stats.file) {
    const role = stats.file.role;
    return role ? `${stats.file.name} · recorded by ${role === 'observer' ? 'an observer' : `the ${role}`}` : stats.file.name;
  }
  const pid = (label: string, value: number | undefined, alive: boolean | undefined, process: string | undefined): string =>
    `${label} ${value && value > 0 ? (alive !== false && process ? process : value) : '—'}${value && value > 0 && alive === false ? ' (dead)' : ''}`;
  return `${pid('server', stats.serverPid, stats.serverAlive, stats.serverProcess)} · ${pid('client', stats.clientPid, stats.clientAlive, stats.clientProcess)}`;
}
