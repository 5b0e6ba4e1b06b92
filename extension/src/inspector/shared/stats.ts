// Message and byte rates per direction, from counters sampled at each stats tick.
import type { DirectionTotals } from './capture';
import type { Direction } from './model';

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
