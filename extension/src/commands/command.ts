// How a command of the extension is declared and registered. Each feature keeps its commands next to it, one per
// file (connections/commands/, sending/commands/, channelsView/commands/, inspector/host/commands/,
// messagesPanel/commands/); extension.ts
// registers them all through registerCommands.
import * as vscode from 'vscode';
import type { ChannelsViewProvider } from '../channelsView';
import type { ConnectionManager } from '../connections';
import { isCancellation, reportError } from '../errors';
import type { InspectorApi } from '../inspector/host/api';
import type { MessagesPanelProvider } from '../messagesPanel';

/** What commands work with: the window's connections, the channels view, the log and the inspector. */
export interface CommandServices {
  readonly context: vscode.ExtensionContext;
  readonly connections: ConnectionManager;
  readonly channelsView: ChannelsViewProvider;
  readonly messagesPanel: MessagesPanelProvider;
  readonly log: vscode.LogOutputChannel;
  /** Undefined when the inspector failed to start; its commands then say so. */
  readonly inspector: () => InspectorApi | undefined;
}

export interface SipcCommand {
  /** The id in package.json's contributes.commands. */
  readonly id: string;
  /** How the notification of a failure begins, e.g. "Could not connect". */
  readonly failure: string;
  /** Resolves to the command's result (for other extensions and the tests), undefined when the user cancelled. */
  run(services: CommandServices, arg?: unknown): Promise<unknown>;
}

/** Registers the commands; errors become one notification (and a log entry), cancellations stay silent. */
export function registerCommands(commands: readonly SipcCommand[], services: CommandServices): vscode.Disposable[] {
  return commands.map((command) =>
    vscode.commands.registerCommand(command.id, async (arg?: unknown): Promise<unknown> => {
      try {
        return await command.run(services, arg);
      } catch (error) {
        if (isCancellation(error)) {
          services.log.info(`${command.failure}: cancelled`);
        } else {
          reportError(services.log, command.failure, error);
        }
        return undefined;
      }
    }),
  );
}
