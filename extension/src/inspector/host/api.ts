import type * as vscode from 'vscode';
import type { ConnectionManager } from '../../connections';
import type { CaptureEntry } from '../shared/model';
import type { CaptureFormat } from '../shared/captureFormat';
import type { InspectorMode, StatsSnapshot } from '../shared/protocol';
import type { RecordingInfo } from './recording';

export type { RecordingInfo } from './recording';

/** Which panel to record, and (optionally, instead of asking) the file and its format. */
export interface RecordRequest {
  readonly mode: InspectorMode;
  readonly name: string;
  /** A local path; the save dialog is skipped. */
  readonly file?: string;
  /** Default: from the file's extension (.jsonl: JSON Lines, else pcapng). */
  readonly format?: CaptureFormat;
}

/** What an open inspector panel shows: its tab's title, the capture its page lists, and its stats bar. */
export interface InspectorSnapshot {
  readonly title: string;
  readonly entries: readonly CaptureEntry[];
  /** The statistics last sent to the page (state badge: `halted ?? state`); undefined until it first showed any. */
  readonly stats: StatsSnapshot | undefined;
}

/**
 * What the extension's commands need from the inspector (extension/src/inspector/index.ts). The inspector
 * module exports `registerInspector`, of type RegisterInspector; extension.ts calls it once on activation.
 */
export interface InspectorApi {
  /** Opens (or reveals) the inspector on a channel this window is connected to. */
  openForConnection(name: string): void;
  /** Opens the inspector as a read-only observer of any channel on the machine. */
  inspectChannel(name: string): void;
  /**
   * Open Capture…: a read-only panel of a pcapng or JSON Lines file (from an export, Record to File… or `sipc record`).
   * Resolves once the file is read; rejects (code INVALID_CAPTURE) when it is damaged, after showing what came before.
   */
  openCapture(path: string): Promise<void>;
  /** Record to File…: the panel of the request (else the focused one, else one the user picks); undefined if cancelled. */
  recordToFile(request: RecordRequest | undefined): Promise<RecordingInfo | undefined>;
  /** Stops the recording of the request's panel (else the only one, else the ones the user picks). */
  stopRecording(request: { readonly mode: InspectorMode; readonly name: string } | undefined): Promise<RecordingInfo[]>;
  /** The running recordings. */
  recordings(): RecordingInfo[];
  /** The recording status bar item's text (empty while none runs). */
  recordingStatusText(): string;
  /** The recording status bar item's hover text, plain text (empty while none runs). */
  recordingStatusTooltip(): string;
  /** The panel open on `name` in that mode ('peer': this window's connection, 'observer'), if any. */
  snapshot(mode: InspectorMode, name: string): InspectorSnapshot | undefined;
  /**
   * This window changed the schema mapping (Set Channel Schema…): open panels decode with it at once. Edits from
   * elsewhere arrive through the file watcher, which may report late (or, for a folder created after it started, not
   * at all on some file systems).
   */
  schemasChanged(): void;
}

export type RegisterInspector = (
  context: vscode.ExtensionContext,
  connections: ConnectionManager,
  log: vscode.LogOutputChannel,
) => InspectorApi;
