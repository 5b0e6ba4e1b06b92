// UI state that survives hide/show and reload: the webview state VS Code keeps for the panel.
import type { FilterSpec } from '../shared/filter';
import type { InspectorMode, LineEnding, SendFormat } from '../shared/protocol';
import { vscodeApi } from './host';

export type DetailTab = 'hex' | 'text' | 'json';
export type TimeMode = 'absolute' | 'relative';

export interface PersistedState {
  target?: { name: string; mode: InspectorMode };
  captureId?: string;
  timeMode: TimeMode;
  filter: FilterSpec;
  selectedSeq?: number;
  detailTab: DetailTab;
  showLineEndings: boolean;
  sendFormat: SendFormat;
  lineEnding: LineEnding;
  history: string[];
  exportFiltered: boolean;
}

export const HISTORY_LIMIT = 50;

const saved = (vscodeApi.getState() ?? {}) as Partial<PersistedState>;

/** The one state object of the page; components change it and call persist(). */
export const state: PersistedState = {
  target: saved.target,
  captureId: saved.captureId,
  timeMode: saved.timeMode === 'relative' ? 'relative' : 'absolute',
  filter: saved.filter ?? {},
  selectedSeq: saved.selectedSeq,
  detailTab: saved.detailTab ?? 'hex',
  showLineEndings: saved.showLineEndings ?? false,
  sendFormat: saved.sendFormat ?? 'text',
  lineEnding: saved.lineEnding ?? 'none',
  history: Array.isArray(saved.history) ? saved.history.slice(-HISTORY_LIMIT) : [],
  exportFiltered: saved.exportFiltered ?? false,
};

export function persist(): void {
  vscodeApi.setState(state);
}
