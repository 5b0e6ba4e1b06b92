import type * as vscode from 'vscode';
import type { ConnectionManager } from '../../connections';
import type { CaptureEntry } from '../shared/model';
import type { StatsSnapshot } from '../shared/protocol';

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
  /** The panel open on `name` in that mode ('peer': this window's connection, 'observer'), if any. */
  snapshot(mode: 'peer' | 'observer', name: string): InspectorSnapshot | undefined;
}

export type RegisterInspector = (
  context: vscode.ExtensionContext,
  connections: ConnectionManager,
  log: vscode.LogOutputChannel,
) => InspectorApi;
