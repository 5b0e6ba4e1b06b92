import * as vscode from 'vscode';
import { CHANNELS_VIEW_ID, ChannelsViewProvider, type ChannelsViewNode } from './channelsView';
import { registerCommands } from './commands';
import { ConnectionManager, type ChannelState, type Connection } from './connections';
import { describeError } from './errors';
import { registerInspector } from './inspector';
import type { InspectorApi } from './inspectorApi';
import { readSettings } from './settings';
import { ConnectionStatusBar } from './statusBar';

/** What activate() returns: other extensions and the tests reach the live objects through it. */
export interface SipcExtensionApi {
  readonly connections: ConnectionManager;
  readonly channelsView: ChannelsViewProvider;
  readonly statusBar: ConnectionStatusBar;
}

let activeConnections: ConnectionManager | undefined;

/**
 * Tells the user when a peer comes and goes: a client whose server went away gets a notification with the
 * ways out; a server (which waits for the next client by itself) only a transient status-bar message.
 */
function watchPeers(connections: ConnectionManager, log: vscode.LogOutputChannel): vscode.Disposable {
  const watched = new Map<Connection, vscode.Disposable[]>();
  const onState = (connection: Connection, state: ChannelState) => {
    if (state === 'connected') {
      log.info(`${connection.name}: peer connected (pid ${connection.peerPid() ?? 'unknown'})`);
    } else if (state === 'peer-gone' && connection.role === 'server') {
      vscode.window.setStatusBarMessage(`$(debug-disconnect) SIPC: the client of ${connection.name} left; waiting for the next`, 5000);
    } else if (state === 'peer-gone') {
      void vscode.window
        .showWarningMessage(`SIPC: the server of "${connection.name}" closed the channel or exited.`, 'Reconnect', 'Disconnect')
        .then((answer) => {
          if (connections.get(connection.name) !== connection) return;
          if (answer === 'Reconnect') void vscode.commands.executeCommand('sipc.connect', { name: connection.name });
          if (answer === 'Disconnect') void vscode.commands.executeCommand('sipc.disconnect', { name: connection.name });
        });
    }
  };
  const sync = () => {
    const current = new Set(connections.connections());
    for (const [connection, subscriptions] of watched) {
      if (current.has(connection)) continue;
      subscriptions.forEach((s) => s.dispose());
      watched.delete(connection);
    }
    for (const connection of current) {
      if (watched.has(connection)) continue;
      // A failing channel may report the same error repeatedly: one notification per kind is enough (the log
      // has every one).
      const notified = new Set<string>();
      watched.set(connection, [
        connection.onDidChangeState((state) => onState(connection, state)),
        connection.onDidError((error) => {
          if (notified.has(error.code)) return;
          notified.add(error.code);
          void vscode.window.showErrorMessage(`SIPC: "${connection.name}": ${describeError(error)}.`);
        }),
      ]);
    }
  };
  const subscription = connections.onDidChange(sync);
  return new vscode.Disposable(() => {
    subscription.dispose();
    for (const subscriptions of watched.values()) subscriptions.forEach((s) => s.dispose());
    watched.clear();
  });
}

export function activate(context: vscode.ExtensionContext): SipcExtensionApi {
  const log = vscode.window.createOutputChannel('SIPC', { log: true });
  // Connections consult the settings per message: read them once per change, not per message.
  let settings = readSettings();
  const settingsWatcher = vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('sipc')) settings = readSettings();
  });
  const connections = new ConnectionManager(log, () => settings);
  activeConnections = connections;

  const channelsView = new ChannelsViewProvider(connections, log);
  const treeView = vscode.window.createTreeView<ChannelsViewNode>(CHANNELS_VIEW_ID, {
    treeDataProvider: channelsView,
    showCollapseAll: true,
  });
  channelsView.attach(treeView);
  const statusBar = new ConnectionStatusBar(connections);

  // The rest of the extension works without the inspector; its commands then say why it is missing.
  let inspector: InspectorApi | undefined;
  try {
    inspector = registerInspector(context, connections, log);
  } catch (error) {
    log.error(`The inspector did not start: ${describeError(error)}`);
  }

  const updateContext = () =>
    void vscode.commands.executeCommand('setContext', 'sipc.hasConnections', connections.connections().length > 0);
  updateContext();

  context.subscriptions.push(
    log,
    settingsWatcher,
    treeView,
    channelsView,
    statusBar,
    connections.onDidChange(updateContext),
    watchPeers(connections, log),
    ...registerCommands({ context, connections, channelsView, log, inspector: () => inspector }),
  );
  log.info('SIPC activated');
  return { connections, channelsView, statusBar };
}

/** Closes every channel and waits for the native side, so the peers see a clean close rather than a death. */
export async function deactivate(): Promise<void> {
  const connections = activeConnections;
  activeConnections = undefined;
  await connections?.close();
}
