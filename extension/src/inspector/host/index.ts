// The inspector's entry point for the extension: opens panels for connections (peer mode), for any channel (observer
// mode) and for capture files (Open Capture…), restores them after a reload (with their spills), and runs the panels'
// recordings (Record to File…).
import * as vscode from 'vscode';
import type { ConnectionManager } from '../../connections';
import { UserFacingError, describeError } from '../../errors';
import { formatOfFileName, type CaptureFormat } from '../shared/captureFormat';
import type { InspectorApi, RecordRequest } from './api';
import { INSPECTOR_VIEW_TYPE, InspectorSession, readRetention, safeFileName, targetKey, type InspectorTarget } from './panel';
import { Recording, RecordingStatusBar, type RecordingInfo } from './recording';
import { confirmSaved, defaultSaveUri, diskPath, rememberSaveFolder } from './saveLocation';
import { FileSource, ObserverSource, PeerSource, type CaptureSource } from './sources';
import type { Capture } from '../shared/capture';
import type { CaptureEntry } from '../shared/model';
import { join } from 'node:path';
import { cspNonce } from '../../webviewPage';
import { SPILL_BUDGET_BYTES, SPILL_FOLDER, SpillFile, readSpill, removeOldSpills, removeSpill, spillIdOf } from './spill';
import { WorkspaceSchemas } from '../../decode/workspaceSchemas';

export type { InspectorApi } from './api';

function isTarget(value: unknown): value is InspectorTarget {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (v.mode === 'peer' || v.mode === 'observer' || v.mode === 'file') && typeof v.name === 'string' && v.name.length > 0;
}

/** "orders-20261130-081502": a default file name that does not overwrite the last recording. */
function timestampedName(name: string, now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${safeFileName(name)}-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/** sipc.inspector.restoreAfterReload: live panels spill what they show so that a reload brings it back. */
function restoreAfterReload(): boolean {
  return vscode.workspace.getConfiguration('sipc.inspector').get<boolean>('restoreAfterReload', true);
}

class InspectorRegistry implements vscode.Disposable {
  private readonly sessions = new Map<string, InspectorSession>();
  private readonly schemas: WorkspaceSchemas;
  /** Running recordings by the target key of their panel. */
  private readonly recordings = new Map<string, Recording>();
  readonly recordingStatus = new RecordingStatusBar(() => this.recordingInfos());
  /** Where live panels spill what they show, for a restore after a reload (host/spill.ts). */
  readonly spillFolder: string;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly connections: ConnectionManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.schemas = new WorkspaceSchemas(log);
    this.recordingStatus.update();
    this.spillFolder = join(context.globalStorageUri.fsPath, SPILL_FOLDER);
    void removeOldSpills(this.spillFolder);
  }

  schemasChanged(): void {
    this.schemas.reload();
  }

  /** A live panel's restore spill (none for an opened file, or with sipc.inspector.restoreAfterReload off). */
  private makeSpill(target: InspectorTarget): SpillFile | undefined {
    if (target.mode === 'file' || !restoreAfterReload()) return undefined;
    return new SpillFile(this.spillFolder, cspNonce().slice(0, 24).replace(/[^A-Za-z0-9_-]/g, '_'), target.name, target.mode, SPILL_BUDGET_BYTES,
      (error) => this.log.warn(`inspector: the restore spill of ${target.name} stopped: ${describeError(error)} (a reload will not bring its messages back)`));
  }

  /** `sipc.inspectorOpen`: Record to File… is offered while a panel is open. */
  private updateInspectorOpen(): void {
    void vscode.commands.executeCommand('setContext', 'sipc.inspectorOpen', this.sessions.size > 0);
  }

  recordingInfos(): RecordingInfo[] {
    return [...this.recordings.values()].map((r) => r.info);
  }

  /** The panel a command is about: the one named, else the focused one, else one the user picks. */
  private async sessionFor(request: { mode?: unknown; name?: unknown } | undefined, purpose: string,
    among: (session: InspectorSession) => boolean = () => true): Promise<InspectorSession | undefined> {
    if (request && typeof request.name === 'string' && isTarget(request)) {
      const named = this.find(request);
      if (!named) throw new UserFacingError(`No inspector panel is open on ${request.name} (${request.mode})`);
      return named;
    }
    const candidates = [...this.sessions.values()].filter(among);
    const active = candidates.find((s) => s.panel.active);
    if (active) return active;
    if (candidates.length === 0) return undefined;
    if (candidates.length === 1) return candidates[0];
    const picked = await vscode.window.showQuickPick(candidates.map((session) => ({ label: session.panel.title, session })), { placeHolder: purpose });
    return picked?.session;
  }

  /** Record to File…: starts recording a panel (asking where unless the request names the file). */
  async recordToFile(request: RecordRequest | undefined): Promise<RecordingInfo | undefined> {
    const session = await this.sessionFor(request, 'Record which inspector panel?', (s) => !this.recordings.has(targetKey(s.target)));
    if (!session) {
      if (this.sessions.size === 0) throw new UserFacingError('Open an inspector first (SIPC: Open Inspector, SIPC: Inspect Channel… or SIPC: Open Capture…)');
      if (!request) throw new UserFacingError('Every open inspector panel is being recorded already');
      return undefined;
    }
    const key = targetKey(session.target);
    const running = this.recordings.get(key);
    if (running) throw new UserFacingError(`${session.panel.title} is already being recorded to ${running.path}; stop that first (SIPC: Stop Recording)`);
    let path = request?.file;
    if (path === undefined) {
      const uri = await vscode.window.showSaveDialog({
        title: `Record ${session.target.name} to a file (every message from now on)`,
        defaultUri: defaultSaveUri(`${timestampedName(session.target.name)}.pcapng`),
        filters: { 'pcapng (Wireshark)': ['pcapng'], 'JSON Lines': ['jsonl'] },
      });
      if (!uri) return undefined;
      rememberSaveFolder(uri);
      path = diskPath(uri);
    }
    const format: CaptureFormat = request?.format ?? formatOfFileName(path);
    const recording = await Recording.start(key, session.panel.title, session.capture, path, session.encoder(format),
      (failed, error) => void this.finishRecording(failed, `SIPC: recording ${failed.label} to ${failed.path} failed: ${error.message}`));
    this.recordings.set(key, recording);
    session.showRecording(path);
    session.capture.addEvent('recording', `recording every entry to ${path} (${format})`, Date.now());
    this.log.info(`inspector: recording ${session.panel.title} to ${path} (${format})`);
    this.recordingStatus.update();
    return recording.info;
  }

  /** Stop Recording: the request's panel, else the only recording, else the ones the user picks. */
  async stopRecording(request: { mode?: unknown; name?: unknown } | undefined): Promise<RecordingInfo[]> {
    let chosen: Recording[];
    if (request && isTarget(request)) {
      const recording = this.recordings.get(targetKey(request));
      if (!recording) throw new UserFacingError(`${request.name} is not being recorded`);
      chosen = [recording];
    } else if (this.recordings.size <= 1) {
      chosen = [...this.recordings.values()];
    } else {
      const picked = await vscode.window.showQuickPick([...this.recordings.values()].map((recording) => ({
        label: recording.label, description: recording.path, picked: true, recording })), { canPickMany: true, placeHolder: 'Stop which recordings?' });
      chosen = picked?.map((p) => p.recording) ?? [];
    }
    const stopped: RecordingInfo[] = [];
    for (const recording of chosen) {
      const info = await this.finishRecording(recording);
      if (info) stopped.push(info);
    }
    return stopped;
  }

  /** Ends a recording: closes its file and tells the user (with a failure message when it ended by one). */
  private async finishRecording(recording: Recording, failure?: string): Promise<RecordingInfo | undefined> {
    if (this.recordings.get(recording.key) !== recording) return undefined;
    this.recordings.delete(recording.key);
    this.recordingStatus.update();
    const session = this.sessions.get(recording.key);
    session?.showRecording(undefined);
    let error = failure;
    try {
      await recording.stop();
    } catch (closeError) {
      error ??= `SIPC: recording ${recording.label} to ${recording.path} failed: ${closeError instanceof Error ? closeError.message : String(closeError)}`;
    }
    const info = recording.info;
    const { messages, bytes, dropped } = info.progress;
    session?.capture.addEvent('recording-stopped', `${messages} messages recorded to ${recording.path}${dropped ? `, ${dropped} entries not recorded (the disk fell behind)` : ''}`, Date.now());
    this.log.info(`inspector: recorded ${messages} messages (${bytes} bytes, ${dropped} dropped) of ${recording.label} to ${recording.path}${error ? `; ${error}` : ''}`);
    if (error) void vscode.window.showErrorMessage(error);
    else confirmSaved(`SIPC: recorded ${messages} messages of ${recording.label} to ${recording.path}${dropped ? ` (${dropped} entries could not be written in time)` : ''}`,
      vscode.Uri.file(recording.path), formatOfFileName(recording.path) === 'jsonl');
    return info;
  }

  /** The session open on `target`, if any. */
  find(target: InspectorTarget): InspectorSession | undefined {
    return this.sessions.get(targetKey(target));
  }

  /** Open Capture…: a read-only panel of a pcapng or JSON Lines file; resolves once it is read (a panel open on it is read anew). */
  async openCapture(path: string): Promise<void> {
    const target: InspectorTarget = { mode: 'file', name: path };
    this.sessions.get(targetKey(target))?.dispose();
    let source: FileSource | undefined;
    this.open(target, (capture) => (source = new FileSource(path, capture, this.log)));
    await source?.loaded;
  }

  open(target: InspectorTarget, makeSource?: (capture: Capture) => CaptureSource): InspectorSession {
    const existing = this.sessions.get(targetKey(target));
    if (existing) {
      existing.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, target.name, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'media'), vscode.Uri.joinPath(this.context.extensionUri, 'extension', 'media')],
    });
    return this.attach(target, panel, makeSource);
  }

  /** Restores a panel VS Code kept across a reload; its webview state names what it inspected. */
  async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = typeof state === 'object' && state !== null ? (state as { target?: unknown; spillId?: unknown; lossless?: unknown }) : {};
    const target = saved.target;
    if (!isTarget(target) || this.sessions.has(targetKey(target))) {
      this.log.warn('inspector: a restored panel did not say what it inspected (or is open twice); closing it');
      panel.dispose();
      return;
    }
    this.log.info(`inspector: restoring the ${target.mode} inspector of ${target.name}`);
    // Its earlier entries come from its spill (an opened file is read again instead).
    const spillId = target.mode === 'file' ? undefined : spillIdOf(saved.spillId);
    let earlier: CaptureEntry[] = [];
    if (spillId && restoreAfterReload()) {
      try {
        earlier = await readSpill(this.spillFolder, spillId, readRetention().maxMessages);
      } catch (error) {
        this.log.warn(`inspector: the spill of ${target.name} could not be read: ${describeError(error)}`);
      }
    }
    if (this.sessions.has(targetKey(target))) {
      panel.dispose();
      return;
    }
    // An observer observed losslessly before the reload does so again.
    const lossless = target.mode === 'observer' && saved.lossless === true;
    this.attach(target, panel, lossless ? (capture) => new ObserverSource(target.name, capture, this.log, undefined, true) : undefined, earlier);
    // The new session spills under a new id, starting with what it restored: the old spill can go.
    if (spillId) void removeSpill(this.spillFolder, spillId).catch(() => undefined);
  }

  dispose(): void {
    // The extension is going away: the recordings' files are closed with what reached them.
    for (const recording of this.recordings.values()) void recording.stop().catch(() => undefined);
    this.recordings.clear();
    this.recordingStatus.dispose();
    // The panels may be restored after this (a window reload): their spills stay.
    for (const session of [...this.sessions.values()]) session.dispose(true);
    this.sessions.clear();
    this.schemas.dispose();
  }

  private attach(target: InspectorTarget, panel: vscode.WebviewPanel, makeSource?: (capture: Capture) => CaptureSource,
    earlier: readonly CaptureEntry[] = []): InspectorSession {
    const session = new InspectorSession(target, panel, this.context.extensionUri, this.log, makeSource ?? ((capture) =>
      target.mode === 'peer' ? new PeerSource(target.name, this.connections, capture)
        : target.mode === 'file' ? new FileSource(target.name, capture, this.log)
        : new ObserverSource(target.name, capture, this.log)), this.schemas, { earlier, makeSpill: (t) => this.makeSpill(t) });
    const key = targetKey(target);
    this.sessions.set(key, session);
    this.updateInspectorOpen();
    session.onDidDispose(() => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
      this.updateInspectorOpen();
      // A panel closed while recording ends its recording (the file keeps what was recorded).
      const recording = this.recordings.get(key);
      if (recording) void this.finishRecording(recording);
    });
    return session;
  }
}

export function registerInspector(
  context: vscode.ExtensionContext,
  connections: ConnectionManager,
  log: vscode.LogOutputChannel,
): InspectorApi {
  const registry = new InspectorRegistry(context, connections, log);
  context.subscriptions.push(
    registry,
    vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => registry.restore(panel, state),
    }),
  );
  return {
    openForConnection: (name) => void registry.open({ mode: 'peer', name }),
    inspectChannel: (name) => void registry.open({ mode: 'observer', name }),
    openCapture: (path) => registry.openCapture(path),
    recordToFile: (request) => registry.recordToFile(request),
    stopRecording: (request) => registry.stopRecording(request),
    recordings: () => registry.recordingInfos(),
    recordingStatusText: () => registry.recordingStatus.text,
    recordingStatusTooltip: () => registry.recordingStatus.tooltip,
    snapshot: (mode, name) => {
      const session = registry.find({ mode, name });
      return session && { title: session.panel.title, entries: [...session.capture.entries()], stats: session.shownStats };
    },
    schemasChanged: () => registry.schemasChanged(),
  };
}
