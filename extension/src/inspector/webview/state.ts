// UI state that survives hide/show and reload: the webview state VS Code keeps for the panel.
import type { FilterSpec } from '../shared/filter';
import type { InspectorMode, LineEnding, SendFormat } from '../shared/protocol';
import { vscodeApi } from './host';

export type DetailTab = 'hex' | 'text' | 'json';
export type TimeMode = 'absolute' | 'relative';

/** A sent input as typed, with the format (and line ending) it was sent in, so recalling it sends the same bytes. */
export interface HistoryEntry {
  readonly input: string;
  readonly format: SendFormat;
  readonly lineEnding: LineEnding;
}

/** The list's resizable columns; Preview takes the rest. */
export const RESIZABLE_COLUMNS = ['seq', 'time', 'delta', 'dir', 'size'] as const;
export type ResizableColumn = typeof RESIZABLE_COLUMNS[number];

export interface PersistedState {
  target?: { name: string; mode: InspectorMode };
  captureId?: string;
  /** The host's restore spill of this panel (host/spill.ts): the messages stay out of this state. */
  spillId?: string;
  /** An observer panel's lossless mode, for the restored panel. */
  lossless?: boolean;
  timeMode: TimeMode;
  filter: FilterSpec;
  selectedSeq?: number;
  detailTab: DetailTab;
  showLineEndings: boolean;
  sendFormat: SendFormat;
  lineEnding: LineEnding;
  history: HistoryEntry[];
  exportFiltered: boolean;
  /** Column widths in pixels the user dragged to; absent columns keep their default width. */
  columns: Partial<Record<ResizableColumn, number>>;
  /** Decoded fields shown in the plot. */
  plotPaths?: string[];
  /** Decoded fields shown as columns of the list, in order. */
  columnPaths?: string[];
  /** Widths in pixels the user dragged decoded field columns to, by field path. */
  fieldWidths: Record<string, number>;
}

export const HISTORY_LIMIT = 50;

const saved = (vscodeApi.getState() ?? {}) as Partial<PersistedState>;

/** History saved by an older page held plain strings (text); anything else malformed is dropped. */
function savedHistory(value: unknown): HistoryEntry[] {
  if (!Array.isArray(value)) return [];
  const entries: HistoryEntry[] = [];
  for (const item of value as unknown[]) {
    if (typeof item === 'string') entries.push({ input: item, format: 'text', lineEnding: 'none' });
    else if (item && typeof item === 'object' && typeof (item as HistoryEntry).input === 'string') {
      const entry = item as HistoryEntry;
      const format: SendFormat = entry.format === 'hex' || entry.format === 'base64' ? entry.format : 'text';
      const lineEnding: LineEnding = entry.lineEnding === 'lf' || entry.lineEnding === 'crlf' ? entry.lineEnding : 'none';
      entries.push({ input: entry.input, format, lineEnding });
    }
  }
  return entries.slice(-HISTORY_LIMIT);
}

/** The one state object of the page; components change it and call persist(). */
export const state: PersistedState = {
  target: saved.target,
  captureId: saved.captureId,
  spillId: typeof saved.spillId === 'string' ? saved.spillId : undefined,
  lossless: typeof saved.lossless === 'boolean' ? saved.lossless : undefined,
  timeMode: saved.timeMode === 'relative' ? 'relative' : 'absolute',
  filter: saved.filter ?? {},
  selectedSeq: saved.selectedSeq,
  detailTab: saved.detailTab ?? 'hex',
  showLineEndings: saved.showLineEndings ?? false,
  sendFormat: saved.sendFormat ?? 'text',
  lineEnding: saved.lineEnding ?? 'none',
  history: savedHistory(saved.history),
  exportFiltered: saved.exportFiltered ?? false,
  columns: saved.columns && typeof saved.columns === 'object' ? saved.columns : {},
  plotPaths: Array.isArray(saved.plotPaths) ? saved.plotPaths.filter((p): p is string => typeof p === 'string') : [],
  columnPaths: Array.isArray(saved.columnPaths) ? saved.columnPaths.filter((p): p is string => typeof p === 'string') : [],
  fieldWidths: saved.fieldWidths && typeof saved.fieldWidths === 'object' ? saved.fieldWidths : {},
};

export function persist(): void {
  vscodeApi.setState(state);
}
