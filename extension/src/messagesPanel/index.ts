// The SIPC messages panel: a webview view in the bottom panel (beside Terminal and Output) that shows what each of
// this window's connections sends and receives as it happens, with a one-line send box — where users look first.
// The host keeps the last lines of each connection (LineLog), so the page can be destroyed while hidden and is
// redrawn from them; new lines reach a visible page in batches, at most one post per connection every 50 ms.
import * as vscode from 'vscode';
import type { Connection, ConnectionManager, ConnectionMessage } from '../connections';
import { describeError } from '../errors';
import { answerRequest, Responder, type RequestHandlers } from '../inspector/shared/messaging';
import { encodeSendInput } from '../inspector/shared/send';
import { sendMessages } from '../sending/sendMessages';
import { LineLog } from './lines';
import { messagesPanelPage } from './page';
import {
  isMessagesPanelRequest, parseMessagesPanelEnvelope, type HostToMessagesPanel, type HostToMessagesPanelEnvelope,
  type MessagesPanelNotification, type MessagesPanelReply, type MessagesPanelRequests, type StreamLine,
} from './protocol';

export const MESSAGES_VIEW_ID = 'sipc.messages';
/** Lines kept per connection (the inspector keeps the full capture). */
export const LINES_KEPT = 2000;
const FLUSH_INTERVAL_MS = 50;
/**
 * Lines one post carries per connection. A flood (100k messages a second) must not turn into 100k DOM lines a
 * second nor keep the extension host serialising them: the newest lines go, and the page says how many it skipped.
 */
export const MAX_LINES_PER_POST = 200;

export class MessagesPanelProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private viewSubscriptions: vscode.Disposable[] = [];
  private readonly logs = new Map<string, LineLog>();
  private readonly pending = new Map<string, { lines: StreamLine[]; skipped: number }>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFlush = 0;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly responder = new Responder<HostToMessagesPanel, MessagesPanelReply>((envelope) => this.post(envelope));
  private readonly requests: RequestHandlers<MessagesPanelRequests> = {
    ready: () => {
      this.pushConnections();
      for (const [name, log] of this.logs) this.responder.push({ type: 'lines', name, lines: log.all, reset: true });
      this.pending.clear();
      return {};
    },
    send: async (request) => {
      const connection = this.connections.get(request.name);
      if (!connection) return { ok: false, message: `this window is not connected to "${request.name}"` };
      try {
        await sendMessages(connection, [encodeSendInput(request.format, request.input, 'none')], 'The message');
        return { ok: true };
      } catch (error) {
        return { ok: false, message: describeError(error) };
      }
    },
  };

  constructor(
    private readonly connections: ConnectionManager,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      connections.onDidChange(() => this.syncConnections()),
      connections.onDidMessage(({ connection, message }) => this.onMessage(connection, message)),
    );
    this.syncConnections();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.viewSubscriptions.forEach((s) => s.dispose());
    this.view = view;
    view.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'media'), vscode.Uri.joinPath(this.extensionUri, 'extension', 'media')],
    };
    const media = (...path: string[]): string => view.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...path)).toString();
    view.webview.html = messagesPanelPage({
      cspSource: view.webview.cspSource,
      codiconCss: media('dist', 'media', 'codicons', 'codicon.css'),
      css: media('extension', 'media', 'messagesPanel', 'messages.css'),
      script: media('dist', 'media', 'messages.js'),
    });
    this.viewSubscriptions = [
      view.webview.onDidReceiveMessage((raw: unknown) => this.onPageMessage(raw)),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
      }),
    ];
  }

  /** Shows the panel without taking the focus (after Send Selection: the answer appears there). */
  async reveal(preserveFocus: boolean): Promise<void> {
    if (this.view) {
      this.view.show(preserveFocus);
      return;
    }
    await vscode.commands.executeCommand(`${MESSAGES_VIEW_ID}.focus`);
    if (preserveFocus) await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  }

  /** Whether the panel is on screen (for the tests and other extensions). */
  get isVisible(): boolean {
    return this.view?.visible === true;
  }

  /** The lines kept for a connection (for the tests and other extensions). */
  linesOf(name: string): readonly StreamLine[] {
    return this.logs.get(name)?.all ?? [];
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.viewSubscriptions.forEach((s) => s.dispose());
    this.subscriptions.forEach((s) => s.dispose());
  }

  private syncConnections(): void {
    const current = new Map(this.connections.connections().map((c) => [c.name, c] as const));
    for (const name of [...this.logs.keys()]) {
      if (!current.has(name)) {
        this.logs.delete(name);
        this.pending.delete(name);
      }
    }
    for (const [name, connection] of current) {
      if (this.logs.has(name)) continue;
      const log = new LineLog(LINES_KEPT);
      // What the connection received before the panel knew it (sipc.receivedMessagesToKeep of them).
      for (const message of connection.receivedMessages) log.add(message);
      this.logs.set(name, log);
      this.responder.push({ type: 'lines', name, lines: log.all, reset: true });
    }
    this.pushConnections();
  }

  private pushConnections(): void {
    this.responder.push({
      type: 'connections',
      connections: this.connections.connections().map((c) => ({ name: c.name, role: c.role, state: c.state })),
    });
  }

  private onMessage(connection: Connection, message: ConnectionMessage): void {
    let log = this.logs.get(connection.name);
    if (!log) {
      log = new LineLog(LINES_KEPT);
      this.logs.set(connection.name, log);
    }
    log.add(message);
    if (!this.view?.visible) return;
    const line = log.last as StreamLine;
    const queue = this.pending.get(connection.name);
    if (queue) {
      queue.lines.push(line);
      // Trimmed in chunks, so a flood does not shift the array on every message.
      if (queue.lines.length >= 2 * MAX_LINES_PER_POST) {
        queue.skipped += queue.lines.length - MAX_LINES_PER_POST;
        queue.lines = queue.lines.slice(-MAX_LINES_PER_POST);
      }
    } else {
      this.pending.set(connection.name, { lines: [line], skipped: 0 });
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    const wait = Math.max(0, this.lastFlush + FLUSH_INTERVAL_MS - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.lastFlush = Date.now();
      for (const [name, queue] of this.pending) {
        const extra = Math.max(0, queue.lines.length - MAX_LINES_PER_POST);
        this.responder.push({ type: 'lines', name, lines: queue.lines.slice(extra), reset: false, skipped: queue.skipped + extra });
      }
      this.pending.clear();
    }, wait);
  }

  private post(envelope: HostToMessagesPanelEnvelope): void {
    const view = this.view;
    if (!view) return;
    void view.webview.postMessage(envelope).then(undefined, (error: unknown) =>
      this.log.warn(`messages panel: posting to the webview failed: ${describeError(error)}`));
  }

  private onPageMessage(raw: unknown): void {
    const envelope = parseMessagesPanelEnvelope(raw);
    if (!envelope) {
      this.log.warn(`messages panel: ignored a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const message = envelope.body;
    const handled = isMessagesPanelRequest(message)
      ? answerRequest(this.requests, envelope.messageId, message, this.responder)
      : this.onNotification(message);
    void handled.catch((error: unknown) => this.log.error(`messages panel: ${message.type} failed: ${describeError(error)}`));
  }

  private async onNotification(message: MessagesPanelNotification): Promise<void> {
    switch (message.type) {
      case 'openInspector':
        await vscode.commands.executeCommand('sipc.openInspector', { name: message.name });
        return;
      case 'connect':
        await vscode.commands.executeCommand('sipc.connect');
        return;
      case 'clear':
        this.logs.get(message.name)?.clear();
        this.pending.delete(message.name);
        this.responder.push({ type: 'lines', name: message.name, lines: [], reset: true });
        return;
    }
  }
}
