// The inspector's entry point for the extension: opens panels for connections (peer mode) and for any channel
// (observer mode), and restores them after a reload.
import * as vscode from 'vscode';
import type { ConnectionManager } from '../../connections';
import type { InspectorApi } from './api';
import { INSPECTOR_VIEW_TYPE, InspectorSession, targetKey, type InspectorTarget } from './panel';
import { ObserverSource, PeerSource } from './sources';
import { WorkspaceSchemas } from '../../decode/workspaceSchemas';

export type { InspectorApi } from './api';

function isTarget(value: unknown): value is InspectorTarget {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (v.mode === 'peer' || v.mode === 'observer') && typeof v.name === 'string' && v.name.length > 0;
}

class InspectorRegistry implements vscode.Disposable {
  private readonly sessions = new Map<string, InspectorSession>();
  private readonly schemas: WorkspaceSchemas;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly connections: ConnectionManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.schemas = new WorkspaceSchemas(log);
  }

  /** The session open on `target`, if any. */
  find(target: InspectorTarget): InspectorSession | undefined {
    return this.sessions.get(targetKey(target));
  }

  open(target: InspectorTarget): InspectorSession {
    const existing = this.sessions.get(targetKey(target));
    if (existing) {
      existing.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(INSPECTOR_VIEW_TYPE, target.name, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'media'), vscode.Uri.joinPath(this.context.extensionUri, 'extension', 'media')],
    });
    return this.attach(target, panel);
  }

  /** Restores a panel VS Code kept across a reload; its webview state names what it inspected. */
  restore(panel: vscode.WebviewPanel, state: unknown): void {
    const target = typeof state === 'object' && state !== null ? (state as { target?: unknown }).target : undefined;
    if (!isTarget(target) || this.sessions.has(targetKey(target))) {
      this.log.warn('inspector: a restored panel did not say what it inspected (or is open twice); closing it');
      panel.dispose();
      return;
    }
    this.log.info(`inspector: restoring the ${target.mode} inspector of ${target.name}`);
    this.attach(target, panel);
  }

  dispose(): void {
    for (const session of [...this.sessions.values()]) session.dispose();
    this.sessions.clear();
    this.schemas.dispose();
  }

  private attach(target: InspectorTarget, panel: vscode.WebviewPanel): InspectorSession {
    const session = new InspectorSession(target, panel, this.context.extensionUri, this.log, (capture) =>
      target.mode === 'peer' ? new PeerSource(target.name, this.connections, capture) : new ObserverSource(target.name, capture, this.log), this.schemas);
    const key = targetKey(target);
    this.sessions.set(key, session);
    session.onDidDispose(() => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
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
    snapshot: (mode, name) => {
      const session = registry.find({ mode, name });
      return session && { title: session.panel.title, entries: [...session.capture.entries()], stats: session.shownStats };
    },
  };
}
