// Record to File…: every entry a panel's capture receives (both directions and the event rows) goes to a file for as
// long as the recording runs, whatever the panel's retention keeps. The status bar shows the progress of all
// recordings and stops them on click.
import * as vscode from 'vscode';
import type { Capture } from '../shared/capture';
import type { CaptureEncoder } from '../shared/captureFormat';
import { CaptureFileWriter, type CaptureFileProgress } from './captureFile';

/** Bytes a recording may have waiting for the disk before it drops entries (and says so in the file). */
export const RECORDING_BACKLOG_BYTES = 64 * 1024 * 1024;

export interface RecordingInfo {
  /** The panel's target key (mode:name). */
  readonly key: string;
  readonly label: string;
  readonly path: string;
  readonly started: number;
  readonly progress: CaptureFileProgress;
  /** The write error that ended the recording, if any. */
  readonly error?: string;
}

export class Recording {
  private unsubscribe: (() => void) | undefined;
  readonly started = Date.now();

  private constructor(readonly key: string, readonly label: string, private readonly writer: CaptureFileWriter) {}

  /** Creates the file and starts taking every new entry of `capture`. */
  static async start(key: string, label: string, capture: Capture, path: string, encoder: CaptureEncoder,
    onFailure: (recording: Recording, error: Error) => void): Promise<Recording> {
    const writer = await CaptureFileWriter.open(path, encoder, { maxBacklogBytes: RECORDING_BACKLOG_BYTES });
    const recording = new Recording(key, label, writer);
    recording.unsubscribe = capture.onAppend((entry) => writer.write(entry));
    writer.onError((error) => {
      recording.detach();
      onFailure(recording, error);
    });
    return recording;
  }

  get path(): string { return this.writer.path; }

  get info(): RecordingInfo {
    const error = this.writer.error;
    return { key: this.key, label: this.label, path: this.path, started: this.started, progress: this.writer.progress,
      ...(error ? { error: error.message } : {}) };
  }

  /** Stops taking entries and closes the file (rejects with a write error). */
  async stop(): Promise<CaptureFileProgress> {
    this.detach();
    return this.writer.close();
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/** "1.2 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The text of the recording status: one recording by name, several summed. */
export function recordingStatusText(recordings: readonly RecordingInfo[]): string {
  const messages = recordings.reduce((n, r) => n + r.progress.messages, 0);
  const bytes = recordings.reduce((n, r) => n + r.progress.bytes, 0);
  const what = recordings.length === 1 ? recordings[0].label : `${recordings.length} recordings`;
  return `$(record) ${what}: ${messages.toLocaleString('en-US')} msgs, ${formatBytes(bytes)}`;
}

/**
 * The recording status's hover text: each recording's panel, file and progress. Plain text, not Markdown: VS Code runs
 * a Markdown tooltip through its Markdown lexer on the extension host's main thread at every update of the item
 * (every STATUS_UPDATE_MS while a recording runs), as with the connection status item (statusBar.ts).
 */
export function recordingStatusTooltip(recordings: readonly RecordingInfo[]): string {
  return [
    ...recordings.map((r) => `${r.label} → ${r.path}: ${r.progress.messages} messages, ${formatBytes(r.progress.bytes)}`
      + (r.progress.dropped ? `, ${r.progress.dropped} not recorded (the disk fell behind)` : '')),
    '',
    'Click to stop.',
  ].join('\n');
}

const STATUS_UPDATE_MS = 500;

/** The status bar item of the running recordings (hidden when none), and the `sipc.recording` context key. */
export class RecordingStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sipc.recording', vscode.StatusBarAlignment.Left, 9);
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly recordings: () => readonly RecordingInfo[]) {
    this.item.name = 'SIPC Recording';
    this.item.command = 'sipc.stopRecording';
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
  }

  private shown = false;

  /** The text shown now, empty while hidden (for the tests). */
  get text(): string { return this.shown ? this.item.text : ''; }

  /** The hover text now, empty while hidden (for the tests). */
  get tooltip(): string { return this.shown && typeof this.item.tooltip === 'string' ? this.item.tooltip : ''; }

  update(): void {
    const list = this.recordings();
    void vscode.commands.executeCommand('setContext', 'sipc.recording', list.length > 0);
    this.shown = list.length > 0;
    if (list.length === 0) {
      this.item.hide();
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    this.item.text = recordingStatusText(list);
    this.item.tooltip = recordingStatusTooltip(list);
    this.item.show();
    this.timer ??= setInterval(() => this.update(), STATUS_UPDATE_MS);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.item.dispose();
  }
}
