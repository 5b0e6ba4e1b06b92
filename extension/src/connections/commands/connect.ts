import * as vscode from 'vscode';
import { SipcError, stat, validateName, type ChannelInfo, type ChannelState, type Role } from '../../api';
import { nameArgument, numberArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { ActionError, isCancellation, UserFacingError } from '../../errors';
import { pickChannelToConnect, promptNumber, recentChannels, rememberRecentChannel, type RecentChannel } from '../../prompts';
import { MAX_MESSAGE_SIZE_LIMIT, MAX_QUEUE_DEPTH, readSettings } from '../../settings';
import type { Connection } from '..';

/** Arguments of `sipc.connect` (all optional; missing ones are asked for or taken from the settings). */
export interface ConnectArguments {
  readonly name?: string;
  readonly maxMessageSize?: number;
  readonly queueDepth?: number;
  /** Overrides sipc.connectTimeoutSeconds; 0 waits until cancelled. */
  readonly timeoutMs?: number;
}

export interface ConnectResult {
  readonly name: string;
  readonly role: Role;
  readonly state: ChannelState;
  readonly maxMessageSize: number;
}

async function statOrUndefined(name: string): Promise<ChannelInfo | undefined> {
  try {
    return await stat(name);
  } catch {
    // Not there (or unreadable): open() reports anything that matters.
    return undefined;
  }
}

/** SIPC: Connect to Channel… — creates the channel (server) or joins it (client) and waits for the peer. */
export const connect: SipcCommand = {
  id: 'sipc.connect',
  failure: 'Could not connect',
  async run({ context, connections, log }, arg): Promise<ConnectResult | undefined> {
    const settings = readSettings();
    let name = nameArgument(arg);
    let maxMessageSize = numberArgument(arg, 'maxMessageSize');
    let queueDepth = numberArgument(arg, 'queueDepth');
    const timeoutMs = numberArgument(arg, 'timeoutMs') ?? settings.connectTimeoutMs;

    let existing: ChannelInfo | undefined;
    let recent: RecentChannel | undefined;
    if (name === undefined) {
      const choice = await pickChannelToConnect(connections, context.globalState, log);
      if (!choice) return undefined;
      name = choice.name;
      existing = choice.info;
      recent = choice.recent;
    } else {
      validateName(name);
      existing = await statOrUndefined(name);
      recent = recentChannels(context.globalState).find((r) => r.name === name);
    }

    // Joining a live channel takes its options (others would be refused as MISMATCH); a new or stale one
    // is created with the given, remembered, asked-for or default options.
    const joining = existing !== undefined && existing.state !== 'stale';
    if (joining && existing) {
      maxMessageSize ??= existing.maxMessageSize;
      queueDepth ??= existing.queueDepth;
    } else if (recent) {
      maxMessageSize ??= recent.maxMessageSize;
      queueDepth ??= recent.queueDepth;
    } else if (nameArgument(arg) === undefined) {
      maxMessageSize = await promptNumber({
        title: `SIPC: New channel "${name}" (1/2)`,
        prompt: 'Maximum message size in bytes (e.g. 65536, 64k, 1M)',
        value: existing?.maxMessageSize ?? settings.defaultMaxMessageSize,
        min: 1,
        max: MAX_MESSAGE_SIZE_LIMIT,
        bytes: true,
      });
      if (maxMessageSize === undefined) return undefined;
      queueDepth = await promptNumber({
        title: `SIPC: New channel "${name}" (2/2)`,
        prompt: 'Queue depth: how many messages each direction holds before a send waits',
        value: existing?.queueDepth ?? settings.defaultQueueDepth,
        min: 1,
        max: MAX_QUEUE_DEPTH,
        bytes: false,
      });
      if (queueDepth === undefined) return undefined;
    }
    maxMessageSize ??= settings.defaultMaxMessageSize;
    queueDepth ??= settings.defaultQueueDepth;

    const channelName = name;
    const controller = new AbortController();
    let connection: Connection;
    try {
      connection = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `SIPC: connecting to "${channelName}"`, cancellable: true },
        async (progress, token) => {
          const cancelled = token.onCancellationRequested(() => controller.abort());
          try {
            // The role is known once the channel is open, before the peer arrives.
            const onOpened = (opened: Connection) => {
              if (opened.state !== 'waiting') return;
              progress.report({
                message:
                  opened.role === 'server'
                    ? 'this window created the channel (server) and waits for a client…'
                    : 'this window joined as client and waits for the server…',
              });
            };
            return await connections.connect(channelName, { maxMessageSize, queueDepth, timeoutMs, signal: controller.signal, onOpened });
          } finally {
            cancelled.dispose();
          }
        },
      );
    } catch (error) {
      if (controller.signal.aborted || isCancellation(error)) {
        log.info(`${channelName}: connecting cancelled`);
        return undefined;
      }
      if (error instanceof SipcError && error.code === 'CLOSED' && !connections.get(channelName)) {
        log.info(`${channelName}: disconnected while waiting for the peer`);
        return undefined;
      }
      if (error instanceof SipcError && error.code === 'TIMEOUT') {
        const seconds = Math.round(timeoutMs / 1000);
        throw new UserFacingError(`No peer connected to "${channelName}" within ${seconds} s; the channel was closed`);
      }
      throw new ActionError(`Could not connect to "${channelName}"`, error);
    }

    await rememberRecentChannel(context.globalState, {
      name: channelName,
      maxMessageSize: connection.maxMessageSize,
      queueDepth: connection.info()?.queueDepth ?? queueDepth,
    });
    const peer = connection.peerPid();
    void vscode.window.showInformationMessage(
      `SIPC: connected to "${channelName}" as ${connection.role}` +
        (peer !== undefined ? `; the ${connection.role === 'server' ? 'client' : 'server'} is pid ${peer}.` : '.'),
    );
    return {
      name: connection.name,
      role: connection.role,
      state: connection.state,
      maxMessageSize: connection.maxMessageSize,
    };
  },
};
