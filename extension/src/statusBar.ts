import * as vscode from 'vscode';
import type { Connection, ConnectionManager } from './connections';
import { describeConnectionState } from './format';

/** Traffic updates the text at most this often. */
const TRAFFIC_UPDATE_MS = 200;

function icon(connection: Connection): string {
  switch (connection.state) {
    case 'connected':
      return '$(plug)';
    case 'waiting':
      return '$(watch)';
    case 'peer-gone':
    case 'closed':
      return '$(debug-disconnect)';
  }
}

/** The connected channel(s), role and message counts; a click opens the inspector. Hidden while not connected. */
export class ConnectionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sipc.status', vscode.StatusBarAlignment.Left, 10);
  private readonly disposables: vscode.Disposable[] = [];
  private trafficTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly connections: ConnectionManager) {
    this.item.name = 'SIPC Channels';
    this.item.command = 'sipc.openInspector';
    this.disposables.push(
      connections.onDidChange(() => this.update()),
      connections.onDidMessage(() => this.scheduleUpdate()),
    );
    this.update();
  }

  /** The text shown now; exposed for tests. */
  get text(): string {
    return this.item.text;
  }

  /** The hover text now; exposed for tests. */
  get tooltip(): string {
    return typeof this.item.tooltip === 'string' ? this.item.tooltip : this.item.tooltip?.value ?? '';
  }

  update(): void {
    const all = this.connections.connections();
    if (all.length === 0) {
      this.item.hide();
      return;
    }
    const anyGone = all.some((c) => c.state === 'peer-gone');
    if (all.length === 1) {
      const [c] = all;
      const stateText = c.state === 'connected' ? '' : ` · ${describeConnectionState(c.state, c.role)}`;
      this.item.text = `${icon(c)} ${c.name} (${c.role})${stateText} ↑${c.sentCount} ↓${c.receivedCount}`;
    } else {
      const sent = all.reduce((n, c) => n + c.sentCount, 0);
      const received = all.reduce((n, c) => n + c.receivedCount, 0);
      // Amber alone does not say which one: name the channels whose peer left.
      const gone = all.filter((c) => c.state === 'peer-gone').map((c) => c.name);
      const goneText = gone.length === 0 ? '' : gone.length === 1 ? ` · peer left ${gone[0]}` : ` · peers left ${gone.length}: ${gone.join(', ')}`;
      this.item.text = `${anyGone ? '$(debug-disconnect)' : '$(plug)'} ${all.length} channels ↑${sent} ↓${received}${goneText}`;
    }
    this.item.backgroundColor = anyGone ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    // Plain text, not Markdown: VS Code runs a Markdown tooltip through its Markdown lexer on the extension host's main
    // thread at every update of the item, i.e. every TRAFFIC_UPDATE_MS during traffic (the first time about 30 ms).
    this.item.tooltip = [
      'SIPC channels of this window',
      ...all.map((c) => `• ${c.name} — ${c.role}, ${describeConnectionState(c.state, c.role)}; sent ${c.sentCount}, received ${c.receivedCount}`),
      '',
      'Click to open the inspector.',
    ].join('\n');
    this.item.show();
  }

  dispose(): void {
    if (this.trafficTimer) clearTimeout(this.trafficTimer);
    for (const d of this.disposables) d.dispose();
    this.item.dispose();
  }

  private scheduleUpdate(): void {
    if (this.trafficTimer) return;
    this.trafficTimer = setTimeout(() => {
      this.trafficTimer = undefined;
      this.update();
    }, TRAFFIC_UPDATE_MS);
  }
}
