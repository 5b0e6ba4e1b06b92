import * as vscode from 'vscode';
import { CHANNELS_VIEW_ID, ChannelsViewProvider, type ChannelsViewNode } from './channelsView';
import { channelsViewCommands } from './channelsView/commands';
import { registerCommands } from './commands/command';
import { showLog } from './commands/showLog';
import { ConnectionManager } from './connections';
import { connectionCommands } from './connections/commands';
import { Debuggees, setActiveDebuggees } from './debugging/debuggees';
import { openInspectorOnPause } from './debugging/openOnPause';
import { watchPeers } from './connections/peerNotifications';
import { describeError } from './errors';
import type { InspectorApi } from './inspector/host/api';
import { registerInspector } from './inspector/host';
import { inspectorCommands } from './inspector/host/commands';
import { exportDissector } from './decode/commands/exportDissector';
import { setChannelSchema } from './decode/commands/setChannelSchema';
import { MESSAGES_VIEW_ID, MessagesPanelProvider } from './messagesPanel';
import { showMessages } from './messagesPanel/commands/showMessages';
import { sendingCommands } from './sending/commands';
import { connectPickerItems, type ConnectPickerItem } from './prompts';
import { readSettings } from './settings';
import { ConnectionStatusBar } from './statusBar';

/** What activate() returns: other extensions and the tests reach the live objects through it. */
export interface SipcExtensionApi {
  readonly connections: ConnectionManager;
  readonly channelsView: ChannelsViewProvider;
  readonly statusBar: ConnectionStatusBar;
  readonly messagesPanel: MessagesPanelProvider;
  /** Undefined when the inspector failed to start (the log says why). */
  readonly inspector: InspectorApi | undefined;
  readonly debuggees: Debuggees;
  /** What the Connect picker would offer now, before anything is typed (busy channels labelled so). */
  connectPickerItems(): Promise<readonly ConnectPickerItem[]>;
}

let activeConnections: ConnectionManager | undefined;

export function activate(context: vscode.ExtensionContext): SipcExtensionApi {
  const log = vscode.window.createOutputChannel('SIPC', { log: true });
  // Connections consult the settings per message: read them once per change, not per message.
  let settings = readSettings();
  const settingsWatcher = vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('sipc')) settings = readSettings();
  });
  const connections = new ConnectionManager(log, () => settings);
  activeConnections = connections;

  const debuggees = new Debuggees(log);
  setActiveDebuggees(debuggees);
  const channelsView = new ChannelsViewProvider(connections, log, debuggees);
  const treeView = vscode.window.createTreeView<ChannelsViewNode>(CHANNELS_VIEW_ID, {
    treeDataProvider: channelsView,
    showCollapseAll: true,
  });
  channelsView.attach(treeView);
  const statusBar = new ConnectionStatusBar(connections);
  const messagesPanel = new MessagesPanelProvider(connections, context.extensionUri, log);

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
    messagesPanel,
    debuggees,
    openInspectorOnPause(debuggees, channelsView, () => inspector, log),
    vscode.window.registerWebviewViewProvider(MESSAGES_VIEW_ID, messagesPanel),
    connections.onDidChange(updateContext),
    watchPeers(connections, log),
    ...registerCommands(
      [...connectionCommands, ...sendingCommands, ...inspectorCommands, ...channelsViewCommands, showLog, showMessages, exportDissector, setChannelSchema],
      { context, connections, channelsView, messagesPanel, log, inspector: () => inspector },
    ),
  );
  log.info('SIPC activated');
  return {
    connections,
    channelsView,
    statusBar,
    messagesPanel,
    inspector,
    debuggees,
    connectPickerItems: () => connectPickerItems(connections, context.globalState, log),
  };
}

/** Closes every channel and waits for the native side, so the peers see a clean close rather than a death. */
export async function deactivate(): Promise<void> {
  const connections = activeConnections;
  activeConnections = undefined;
  setActiveDebuggees(undefined);
  await connections?.close();
}
