// The toolbar: pause (the list; the capture goes on), follow, absolute/relative time, clear and export.
import type { ExportFormat } from '../shared/protocol';
import { host } from './host';
import { $ } from './markup';
import { persist, state } from './state';

export class Toolbar {
  private paused = false;

  /** `timeModeChanged`: the list redraws its time column. */
  constructor(private readonly timeModeChanged: () => void) {
    $('pause').addEventListener('click', () => void this.togglePause());
    $('timeMode').addEventListener('click', () => {
      state.timeMode = state.timeMode === 'absolute' ? 'relative' : 'absolute';
      persist();
      this.updateTimeHeader();
      this.timeModeChanged();
    });
    $('clear').addEventListener('click', () => host.notify({ type: 'clear' }));
    const exportFiltered = $<HTMLInputElement>('exportFiltered');
    exportFiltered.checked = state.exportFiltered;
    exportFiltered.addEventListener('change', () => { state.exportFiltered = exportFiltered.checked; persist(); });
    const exportAs = (format: ExportFormat): void => host.notify({ type: 'export', format, filtered: exportFiltered.checked });
    $('exportJsonl').addEventListener('click', () => exportAs('jsonl'));
    $('exportPcapng').addEventListener('click', () => exportAs('pcapng'));
    this.updateTimeHeader();
    this.showPaused(false);
  }

  async togglePause(): Promise<void> {
    const reply = await host.request({ type: 'pause', paused: !this.paused });
    this.showPaused(reply.paused);
  }

  showPaused(value: boolean): void {
    this.paused = value;
    const button = $('pause');
    button.setAttribute('aria-pressed', String(value));
    button.title = value ? 'Resume the list' : 'Pause the list (capture continues)';
    (button.firstElementChild as HTMLElement).className = `codicon ${value ? 'codicon-debug-start' : 'codicon-debug-pause'}`;
    button.classList.toggle('active', value);
    $('pausedNotice').hidden = !value;
  }

  private updateTimeHeader(): void {
    $('timeHeader').textContent = state.timeMode === 'absolute' ? 'Time' : 'Time (s, relative)';
    $('timeMode').setAttribute('aria-pressed', String(state.timeMode === 'relative'));
  }
}
