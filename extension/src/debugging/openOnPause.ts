// sipc.debugging.openInspectorOnPause: when a debuggee of this window pauses and it holds a role of a channel, the
// inspector opens on that channel (this window's connection: its own inspector; another process's: an observer),
// so the messages that led up to the breakpoint are in view.
import * as vscode from 'vscode';
import type { ChannelsViewProvider } from '../channelsView';
import { describeError } from '../errors';
import type { InspectorApi } from '../inspector/host/api';
import type { Debuggees } from './debuggees';

export function openInspectorOnPause(
  debuggees: Debuggees,
  channelsView: ChannelsViewProvider,
  inspector: () => InspectorApi | undefined,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return debuggees.onDidChange((debuggee) => {
    if (!debuggee.paused || !vscode.workspace.getConfiguration('sipc.debugging').get<boolean>('openInspectorOnPause', false)) return;
    void channelsView.refresh().then((nodes) => {
      const api = inspector();
      for (const node of nodes) {
        if (node.kind !== 'channel' || node.stale) continue;
        const holds = (node.info.serverAlive && node.info.serverPid === debuggee.pid) || (node.info.clientAlive && node.info.clientPid === debuggee.pid);
        if (!holds || !api) continue;
        log.info(`debugging: pid ${debuggee.pid} paused; opening the inspector on ${node.name}`);
        if (node.connection) api.openForConnection(node.name);
        else api.inspectChannel(node.name);
      }
    }, (error: unknown) => log.error(`debugging: opening the inspector on pause failed: ${describeError(error)}`));
  });
}
