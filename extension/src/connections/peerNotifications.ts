import * as vscode from 'vscode';
import type { ChannelState, Connection, ConnectionManager } from '.';
import { describeError } from '../errors';

/**
 * Tells the user when a peer comes and goes: a client whose server went away gets a notification with the
 * ways out; a server (which waits for the next client by itself) only a transient status-bar message.
 */
export function watchPeers(connections: ConnectionManager, log: vscode.LogOutputChannel): vscode.Disposable {
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
