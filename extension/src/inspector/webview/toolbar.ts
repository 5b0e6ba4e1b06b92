// The toolbar: pause (the list; the capture goes on), follow, absolute/relative time, clear and export.
import type { ExportFormat } from '../shared/protocol';
import { host } from './host';
import { $ } from './markup';
import { persist, state } from './state';

export class Toolbar {
  private paused = false;
  /** The file this panel records to, if it does. */
  private recordingTo: string | undefined;

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
    const lossless = $<HTMLInputElement>('lossless');
    lossless.addEventListener('change', () => void host.request({ type: 'lossless', on: lossless.checked }).then((reply) => {
      lossless.checked = reply.lossless;
    }));
    $('record').addEventListener('click', () => host.notify({ type: this.recordingTo ? 'stopRecording' : 'record' }));
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

  /** An observer panel's lossless mode (undefined: the toggle is hidden). */
  showLossless(on: boolean | undefined): void {
    $('losslessToggle').hidden = on === undefined;
    $<HTMLInputElement>('lossless').checked = on === true;
  }

  /** The host says whether (and where) this panel records: the button becomes Stop while it does. */
  showRecording(file: string | undefined): void {
    this.recordingTo = file;
    const button = $('record');
    button.setAttribute('aria-pressed', String(file !== undefined));
    button.classList.toggle('active', file !== undefined);
    button.title = file ? `Recording to ${file}: click to stop` : 'Record to File…: every message from now on, whatever the panel keeps';
    $('recordLabel').textContent = file ? 'Stop recording' : 'Record';
    (button.firstElementChild as HTMLElement).className = `codicon ${file ? 'codicon-debug-stop' : 'codicon-record'}`;
  }

  private updateTimeHeader(): void {
    $('timeHeader').textContent = state.timeMode === 'absolute' ? 'Time' : 'Time (s, relative)';
    $('timeMode').setAttribute('aria-pressed', String(state.timeMode === 'relative'));
  }
}
