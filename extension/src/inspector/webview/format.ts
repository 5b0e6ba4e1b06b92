// How the page writes times, intervals and directions.
import { isOutbound, type Direction } from '../shared/model';
import type { TimeMode } from './state';

/** Wall clock with microseconds, or seconds since `base` in relative mode. */
export function formatTime(t: number, mode: TimeMode, base: number): string {
  if (mode === 'relative') return `+${((t - base) / 1000).toFixed(6)}`;
  const d = new Date(t);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${pad(Math.floor((t * 1000) % 1000), 3)}`;
}

export function formatDelta(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 3 : 1)} ms`;
  return `${(ms / 1000).toFixed(3)} s`;
}

export function directionIcon(dir: Direction): string {
  return isOutbound(dir) ? 'codicon-arrow-up' : 'codicon-arrow-down';
}
