// The plot of decoded fields over time, one line per field and direction (uPlot, bundled into this script; its
// stylesheet ships in dist/media). The host pushes columns (see ../shared/plot.ts); this keeps the newest
// MAX_PLOT_POINTS and redraws at most once per animation frame, however fast messages arrive.
import uPlot from 'uplot';
import { directionLabel, type Direction } from '../shared/model';
import { MAX_PLOT_POINTS, decimate, type PlotPush } from '../shared/plot';
import { MAX_PLOTTED_FIELDS } from '../shared/protocol';
import { host } from './host';
import { $ } from './markup';
import { persist, state } from './state';

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple',
  '--vscode-charts-red', '--vscode-charts-yellow'];
const FALLBACK_COLOURS = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

interface Series { readonly path: string; readonly dir: Direction }

/** After a draw, wait this many times its duration before the next: drawing takes at most 1/(1+factor) of the time. */
const DRAW_PAUSE_FACTOR = 2;

export class PlotPane {
  private readonly pane = $('plotPane');
  private readonly chartHost = $('plotChart');
  private chart: uPlot | undefined;
  private series: Series[] = [];
  private xs: number[] = [];
  private ys: Array<Array<number | null>> = [];
  private paths: readonly string[] = [];
  private frame: number | undefined;
  /** A draw held back until the last one's cost has been repaid (see scheduleDraw). */
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private drawStarted = 0;
  private drawEnded = 0;
  private drawCost = 0;
  private draws = 0;
  private directions: readonly Direction[] = ['sent', 'received'];
  /** Pushes and points received, for the UI tests (data-* attributes). */
  private received = 0;

  constructor() {
    $('plotClose').addEventListener('click', () => void this.setPaths([]));
    new ResizeObserver(() => this.resize()).observe(this.pane);
  }

  get plotted(): readonly string[] {
    return state.plotPaths ?? [];
  }

  /** Directions of the inspector's mode (peer: sent/received; observer: to-server/to-client). */
  setDirections(directions: readonly Direction[]): void {
    this.directions = directions;
  }

  toggle(path: string): void {
    const current = this.plotted;
    const next = current.includes(path) ? current.filter((p) => p !== path) : [...current, path].slice(-MAX_PLOTTED_FIELDS);
    void this.setPaths(next);
  }

  /** Asks the host for these fields' points (none: closes the plot); shows why when it refuses. */
  async setPaths(paths: readonly string[]): Promise<void> {
    state.plotPaths = [...paths];
    persist();
    const reply = await host.request({ type: 'plot', paths: [...paths] });
    $('plotError').textContent = reply.error ?? '';
    this.pane.hidden = paths.length === 0;
  }

  apply(push: PlotPush): void {
    this.received += push.columns.t.length;
    this.pane.dataset.points = String(this.received);
    if (push.reset || push.paths.join('\n') !== this.paths.join('\n')) this.rebuild(push.paths);
    const { t, dir, values } = push.columns;
    for (let i = 0; i < t.length; i++) {
      this.xs.push(t[i] / 1000);
      this.series.forEach((s, k) => {
        const column = values[push.paths.indexOf(s.path)];
        this.ys[k].push(s.dir === dir[i] ? (column?.[i] ?? null) : null);
      });
    }
    const excess = this.xs.length - MAX_PLOT_POINTS;
    if (excess > MAX_PLOT_POINTS / 10) {
      this.xs.splice(0, excess);
      for (const y of this.ys) y.splice(0, excess);
    }
    this.pane.dataset.shown = String(this.xs.length);
    this.scheduleDraw();
  }

  private rebuild(paths: readonly string[]): void {
    this.paths = [...paths];
    this.series = paths.flatMap((path) => this.directions.map((dir) => ({ path, dir })));
    this.xs = [];
    this.ys = this.series.map(() => []);
    this.chart?.destroy();
    this.chart = undefined;
    $('plotFields').textContent = paths.join(', ');
    this.pane.hidden = paths.length === 0;
    if (paths.length === 0) return;
    const style = getComputedStyle(document.body);
    const colour = (i: number) => style.getPropertyValue(PALETTE[i % PALETTE.length]).trim() || FALLBACK_COLOURS[i % FALLBACK_COLOURS.length];
    const foreground = style.getPropertyValue('--vscode-foreground').trim() || '#ccc';
    const grid = style.getPropertyValue('--vscode-editorWidget-border').trim() || 'rgba(128,128,128,0.3)';
    const axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    this.chart = new uPlot({
      width: Math.max(200, this.chartHost.clientWidth),
      height: Math.max(120, this.chartHost.clientHeight),
      scales: { x: { time: true } },
      axes: [axis, axis],
      legend: { live: false },
      hooks: { draw: [() => this.drawn()] },
      series: [
        {},
        ...this.series.map((s, i) => ({
          label: `${s.path} (${directionLabel(s.dir)})`,
          stroke: colour(Math.floor(i / this.directions.length) * 2 + (i % this.directions.length)),
          width: 1.5,
          spanGaps: true,
          points: { show: false },
        })),
      ],
    }, [this.xs, ...this.ys] as uPlot.AlignedData, this.chartHost);
  }

  /**
   * Draws at the next frame, but after a draw that took d ms not before 2d ms have passed: drawing then takes at most
   * a third of the page's time however slow the machine or however many lines (points keep arriving in between and
   * are all in the next draw), so the page stays responsive and never falls behind the pushes.
   */
  private scheduleDraw(): void {
    if (this.frame !== undefined || this.holdTimer !== undefined) return;
    const wait = this.drawEnded + this.drawCost * DRAW_PAUSE_FACTOR - performance.now();
    if (wait > 0) {
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.scheduleDraw();
      }, wait);
      return;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      if (!this.chart) return;
      this.drawStarted = performance.now();
      this.chart.setData(decimate(this.xs, this.ys, this.chartHost.clientWidth) as uPlot.AlignedData);
    });
  }

  /** uPlot's draw hook: the draw (it may end in a microtask after setData) is done; remember what it cost. */
  private drawn(): void {
    this.drawEnded = performance.now();
    if (this.drawStarted > 0) this.drawCost = this.drawEnded - this.drawStarted;
    this.drawStarted = 0;
    this.pane.dataset.draws = String(++this.draws);
  }

  private resize(): void {
    if (!this.chart) return;
    this.chart.setSize({ width: Math.max(200, this.chartHost.clientWidth), height: Math.max(120, this.chartHost.clientHeight) });
  }
}
