// The points of the inspector's plot: the chosen numeric fields of every decoded message, over time, per
// direction. The host decodes (once per message, only while a plot is open) and posts columns in batches at most
// once per interval, like the row feed, so 10k msgs/s cost ten posts a second. Pure; the host wires it to a panel.
import type { DecodedMessage } from '../../decode/decoder';
import { fieldAt } from '../../decode/decoder';
import type { Capture, Scheduler } from './capture';
import { realScheduler } from './capture';
import type { CaptureEntry, Direction } from './model';

/** Points a reset carries at most (the newest); the webview keeps about as many. */
export const MAX_PLOT_POINTS = 20_000;

export interface PlotColumns {
  /** Milliseconds since the Unix epoch. */
  readonly t: number[];
  readonly dir: Direction[];
  /** One array per path, aligned with t: the value, or null when the message has no such numeric field. */
  readonly values: Array<Array<number | null>>;
}

export interface PlotPush {
  readonly type: 'plot';
  readonly paths: readonly string[];
  /** True: these columns replace what the plot shows; false: they are appended. */
  readonly reset: boolean;
  readonly columns: PlotColumns;
}

export interface PlotDecoder {
  decode(data: Uint8Array): DecodedMessage;
}

/** A field's value as a plot coordinate: numbers, 64-bit integers (rounded to a double), booleans as 0/1. */
export function plotValue(message: DecodedMessage, path: string): number | null {
  const field = fieldAt(message, path);
  const v = field?.value;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

function emptyColumns(paths: readonly string[]): PlotColumns {
  return { t: [], dir: [], values: paths.map(() => []) };
}

export class PlotFeed {
  private paths: readonly string[] = [];
  private decoder: PlotDecoder | undefined;
  private pending: PlotColumns = emptyColumns([]);
  private timer: unknown;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly capture: Capture,
    private readonly post: (push: PlotPush) => void,
    private readonly scheduler: Scheduler = realScheduler,
    private readonly intervalMs = 100,
  ) {
    this.unsubscribe = [
      capture.onAppend((entry) => this.onAppend(entry)),
      capture.onClear(() => { if (this.active) this.set(this.paths, this.decoder); }),
    ];
  }

  get active(): boolean {
    return this.paths.length > 0 && this.decoder !== undefined;
  }

  /** Plots `paths` (none: stop) with `decoder`; posts a reset with the newest retained messages. */
  set(paths: readonly string[], decoder: PlotDecoder | undefined): void {
    this.paths = [...paths];
    this.decoder = decoder;
    this.cancelTimer();
    this.pending = emptyColumns(this.paths);
    const columns = emptyColumns(this.paths);
    if (this.active) {
      const entries: CaptureEntry[] = [];
      for (const entry of this.capture.entries()) if (entry.kind === 'message') entries.push(entry);
      for (const entry of entries.slice(-MAX_PLOT_POINTS)) this.add(columns, entry);
    }
    this.post({ type: 'plot', paths: this.paths, reset: true, columns });
  }

  dispose(): void {
    this.cancelTimer();
    this.unsubscribe.forEach((u) => u());
  }

  private add(columns: PlotColumns, entry: CaptureEntry): void {
    if (entry.kind !== 'message' || !this.decoder) return;
    const message = this.decoder.decode(entry.data);
    columns.t.push(entry.timestamp);
    columns.dir.push(entry.direction);
    this.paths.forEach((path, i) => columns.values[i].push(plotValue(message, path)));
  }

  private onAppend(entry: CaptureEntry): void {
    if (!this.active || entry.kind !== 'message') return;
    this.add(this.pending, entry);
    if (this.timer === undefined) this.timer = this.scheduler.setTimeout(() => this.flush(), this.intervalMs);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending.t.length === 0) return;
    const columns = this.pending;
    this.pending = emptyColumns(this.paths);
    this.post({ type: 'plot', paths: this.paths, reset: false, columns });
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * What the chart draws. Up to two points per pixel column it is every point; beyond that (10k msgs/s fill the
 * 20,000-point window in 2 s, far more than a plot is wide) each column of the time axis keeps, for every line, its
 * lowest and highest value in the order they came, at the column's first and last time: the drawn envelope is the
 * same with far fewer points to hand to uPlot (8 fields' 16 lines are 352,000 points; test/bench/plot-bench.mjs
 * measures one draw both ways: 1.1x to 2x faster, since uPlot's own path builder already skips most points that share
 * a pixel).
 */
export function decimate(xs: readonly number[], ys: ReadonlyArray<ReadonlyArray<number | null>>, width: number): Array<Array<number | null>> {
  const buckets = Math.max(1, Math.floor(width));
  if (xs.length <= buckets * 2) return [xs as number[], ...(ys as Array<Array<number | null>>)];
  const x0 = xs[0];
  const span = xs[xs.length - 1] - x0 || 1;
  const outX: number[] = [];
  const outY: Array<Array<number | null>> = ys.map(() => []);
  let start = 0;
  while (start < xs.length) {
    const bucket = Math.min(buckets - 1, Math.floor(((xs[start] - x0) / span) * buckets));
    let end = start + 1;
    while (end < xs.length && Math.min(buckets - 1, Math.floor(((xs[end] - x0) / span) * buckets)) === bucket) end++;
    const single = end - start === 1;
    outX.push(xs[start]);
    if (!single) outX.push(xs[end - 1]);
    ys.forEach((y, k) => {
      let min: number | null = null;
      let max: number | null = null;
      let minAt = 0;
      let maxAt = 0;
      for (let i = start; i < end; i++) {
        const v = y[i];
        if (v === null) continue;
        if (min === null || v < min) { min = v; minAt = i; }
        if (max === null || v > max) { max = v; maxAt = i; }
      }
      if (single) outY[k].push(min);
      else if (minAt <= maxAt) outY[k].push(min, max);
      else outY[k].push(max, min);
    });
    start = end;
  }
  return [outX, ...outY];
}
