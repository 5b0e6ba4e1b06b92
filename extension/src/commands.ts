import * as path from 'node:path';
import * as vscode from 'vscode';
import { remove, SipcError, stat, validateName, type ChannelInfo, type ChannelState, type Role } from './api';
import { ChannelNode, type ChannelsViewProvider } from './channelsView';
import type { Connection, ConnectionManager } from './connections';
import { ActionError, describeError, isCancellation, reportError, UserFacingError } from './errors';
import { formatBytes } from './format';
import type { InspectorApi } from './inspectorApi';
import {
  listChannelsQuietly,
  pickChannel,
  pickChannelToConnect,
  pickConnection,
  promptNumber,
  recentChannels,
  rememberRecentChannel,
  type RecentChannel,
} from './prompts';
import { MAX_MESSAGE_SIZE_LIMIT, MAX_QUEUE_DEPTH, readSettings } from './settings';

export interface CommandServices {
  readonly context: vscode.ExtensionContext;
  readonly connections: ConnectionManager;
  readonly channelsView: ChannelsViewProvider;
  readonly log: vscode.LogOutputChannel;
  readonly inspector: () => InspectorApi | undefined;
}

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

export interface SendResult {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * The channel name a command was invoked with: a string, `{ name }` (from other extensions, keybindings and
 * tests) or a node of the channels view.
 */
function nameArgument(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof ChannelNode) return arg.name;
  const name = record(arg)?.name;
  return typeof name === 'string' ? name : undefined;
}

function numberArgument(arg: unknown, key: string): number | undefined {
  const value = record(arg)?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new UserFacingError(`"${key}" must be a whole number of at least 0`);
  }
  return value;
}

function stringArgument(arg: unknown, key: string): string | undefined {
  const value = record(arg)?.[key];
  return typeof value === 'string' ? value : undefined;
}

function statOrUndefined(name: string): ChannelInfo | undefined {
  try {
    return stat(name);
  } catch {
    // Not there (or unreadable): open() reports anything that matters.
    return undefined;
  }
}

/** A send TIMEOUT means either no peer came or the peer stopped reading: say which. */
function sendTimeoutReason(connection: Connection, stateBefore: ChannelState, error: unknown): string | undefined {
  if (!(error instanceof SipcError) || error.code !== 'TIMEOUT') return undefined;
  const seconds = Math.round(readSettings().sendTimeoutMs / 1000);
  if (stateBefore !== 'connected') {
    const peer = connection.role === 'server' ? 'client' : 'server';
    return `no ${peer} connected within ${seconds} s (sipc.sendTimeoutSeconds), so nothing was sent`;
  }
  return `the peer did not take messages for ${seconds} s (sipc.sendTimeoutSeconds) and the queue stayed full, so nothing more was sent`;
}

export function registerCommands(services: CommandServices): vscode.Disposable[] {
  const { context, connections, channelsView, log } = services;

  /** Runs a handler; errors become one notification (and a log entry), cancellations stay silent. */
  const command = <T>(id: string, failure: string, handler: (...args: unknown[]) => Promise<T | undefined>) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]): Promise<T | undefined> => {
      try {
        return await handler(...args);
      } catch (error) {
        if (isCancellation(error)) {
          log.info(`${failure}: cancelled`);
        } else {
          reportError(log, failure, error);
        }
        return undefined;
      }
    });

  const inspector = (): InspectorApi => {
    const api = services.inspector();
    if (!api) throw new UserFacingError('The inspector did not start; see the "SIPC" log for the reason');
    return api;
  };

  async function connect(arg: unknown): Promise<ConnectResult | undefined> {
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
      existing = statOrUndefined(name);
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
            const pending = connections.connect(channelName, { maxMessageSize, queueDepth, timeoutMs, signal: controller.signal });
            // open() ran synchronously inside connect(): the role is known before the peer arrives.
            const opened = connections.get(channelName);
            if (opened?.state === 'waiting') {
              progress.report({
                message:
                  opened.role === 'server'
                    ? 'this window created the channel (server) and waits for a client…'
                    : 'this window joined as client and waits for the server…',
              });
            }
            return await pending;
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
  }

  /** Sends messages in order; on failure says how many went out before it. */
  async function sendAll(connection: Connection, messages: readonly Uint8Array[], what: string): Promise<SendResult> {
    const max = connection.maxMessageSize;
    messages.forEach((message, index) => {
      if (message.byteLength > max) {
        const which = messages.length > 1 ? `${what} ${index + 1} of ${messages.length}` : what;
        throw new UserFacingError(
          `${which} is ${formatBytes(message.byteLength)}; "${connection.name}" accepts at most ${formatBytes(max)} per message. Nothing was sent`,
        );
      }
    });
    let bytes = 0;
    for (const [index, message] of messages.entries()) {
      const stateBefore = connection.state;
      try {
        await connection.send(message);
      } catch (error) {
        const timedOut = sendTimeoutReason(connection, stateBefore, error);
        const failure = timedOut ? new UserFacingError(timedOut) : error;
        if (index === 0) throw new ActionError(`Could not send to "${connection.name}"`, failure);
        throw new ActionError(`Sent ${index} of ${messages.length} messages to "${connection.name}", then`, failure);
      }
      bytes += message.byteLength;
    }
    const count = messages.length === 1 ? '1 message' : `${messages.length} messages`;
    vscode.window.setStatusBarMessage(`$(check) SIPC: sent ${count} (${formatBytes(bytes)}) to ${connection.name}`, 4000);
    return { name: connection.name, messages: messages.length, bytes };
  }

  async function sendSelection(arg: unknown): Promise<SendResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) throw new UserFacingError('There is no active editor to send a selection from');
    const connection = await pickConnection(connections, nameArgument(arg), 'Send the selection to which channel?');
    if (!connection) return undefined;
    const { textEncoding } = readSettings();
    // Each selection of a multi-cursor is one message, in document order; an empty one sends its line.
    const selections = [...editor.selections].sort((a, b) => a.start.compareTo(b.start));
    const messages = selections.map((selection) => {
      const text = selection.isEmpty
        ? editor.document.lineAt(selection.active.line).text
        : editor.document.getText(selection);
      return Buffer.from(text, textEncoding);
    });
    return sendAll(connection, messages, 'Selection');
  }

  async function sendText(arg: unknown): Promise<SendResult | undefined> {
    const connection = await pickConnection(connections, nameArgument(arg), 'Send text to which channel?');
    if (!connection) return undefined;
    const { textEncoding } = readSettings();
    let text = stringArgument(arg, 'text');
    if (text === undefined) {
      text = await vscode.window.showInputBox({
        title: `SIPC: Send Text to "${connection.name}"`,
        prompt: `One message, encoded as ${textEncoding} (sipc.textEncoding)`,
        validateInput: (value) => {
          const size = Buffer.byteLength(value, textEncoding);
          return size > connection.maxMessageSize
            ? `${formatBytes(size)} is more than the channel's maximum of ${formatBytes(connection.maxMessageSize)}`
            : undefined;
        },
      });
      if (text === undefined) return undefined;
    }
    return sendAll(connection, [Buffer.from(text, textEncoding)], 'The text');
  }

  async function sendFile(arg: unknown): Promise<SendResult | undefined> {
    const connection = await pickConnection(connections, nameArgument(arg), 'Send the file to which channel?');
    if (!connection) return undefined;
    let uri = arg instanceof vscode.Uri ? arg : record(arg)?.uri instanceof vscode.Uri ? (record(arg)?.uri as vscode.Uri) : undefined;
    const givenPath = stringArgument(arg, 'path');
    if (!uri && givenPath !== undefined) uri = vscode.Uri.file(givenPath);
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({
        title: `SIPC: Send File to "${connection.name}" (at most ${formatBytes(connection.maxMessageSize)})`,
        canSelectFiles: true,
        canSelectFolders: false,
        canSelectMany: false,
        openLabel: 'Send',
      });
      if (!picked || picked.length === 0) return undefined;
      uri = picked[0];
    }
    const fileName = path.basename(uri.path);
    const tooBig = (size: number) =>
      new UserFacingError(
        `"${fileName}" is ${formatBytes(size)}; "${connection.name}" accepts at most ${formatBytes(connection.maxMessageSize)} per message. Nothing was sent`,
      );
    // Check the size before reading, so a huge file is refused without loading it.
    const info = await vscode.workspace.fs.stat(uri);
    if (info.type & vscode.FileType.Directory) throw new UserFacingError(`"${fileName}" is a folder, not a file`);
    if (info.size > connection.maxMessageSize) throw tooBig(info.size);
    const data = await vscode.workspace.fs.readFile(uri);
    if (data.byteLength > connection.maxMessageSize) throw tooBig(data.byteLength);
    return sendAll(connection, [data], `"${fileName}"`);
  }

  async function disconnect(arg: unknown): Promise<string | undefined> {
    const connection = await pickConnection(connections, nameArgument(arg), 'Disconnect from which channel?');
    if (!connection) return undefined;
    await connections.disconnect(connection.name);
    return connection.name;
  }

  async function disconnectAll(): Promise<number> {
    const count = connections.connections().length;
    await connections.disconnectAll();
    return count;
  }

  async function openInspector(arg: unknown): Promise<string | undefined> {
    const api = inspector();
    const connection = await pickConnection(connections, nameArgument(arg), 'Inspect which connection?');
    if (!connection) return undefined;
    api.openForConnection(connection.name);
    return connection.name;
  }

  async function inspectChannel(arg: unknown): Promise<string | undefined> {
    const api = inspector();
    let name = nameArgument(arg);
    if (name === undefined) {
      const picked = await pickChannel(
        listChannelsQuietly(log),
        'Observe which channel? (read-only: its traffic is not consumed)',
        'There are no sipc channels on this machine to inspect',
        connections.lastUsed?.name,
      );
      if (!picked) return undefined;
      name = picked.name;
    } else {
      validateName(name);
    }
    api.inspectChannel(name);
    return name;
  }

  /** Removes the named stale channel, or the stale channels the user picks (several at once). */
  async function removeStaleChannels(arg: unknown): Promise<string[] | undefined> {
    const name = nameArgument(arg);
    let names: string[];
    if (name === undefined) {
      const stale = listChannelsQuietly(log).filter((info) => info.state === 'stale');
      if (stale.length === 0) throw new UserFacingError('There are no stale channels on this machine');
      const picked = await vscode.window.showQuickPick(
        stale.map((info) => ({
          label: info.name,
          description: `last server pid ${info.serverPid || 'none'} · created ${info.created.toLocaleString()}`,
          detail: `${info.toClient.queued + info.toServer.queued} undelivered message(s) · max message ${formatBytes(info.maxMessageSize)}`,
        })),
        { title: 'SIPC: Remove Stale Channels', placeHolder: 'Nobody alive is attached to these; pick the ones to remove', canPickMany: true },
      );
      if (!picked || picked.length === 0) return undefined;
      names = picked.map((item) => item.label);
    } else {
      validateName(name);
      const info = stat(name);
      if (info.state !== 'stale') {
        const alive = [info.serverAlive ? `server pid ${info.serverPid}` : '', info.clientAlive ? `client pid ${info.clientPid}` : '']
          .filter(Boolean)
          .join(', ');
        throw new UserFacingError(`"${name}" is still in use${alive ? ` (${alive})` : ''}; only stale channels can be removed`);
      }
      names = [name];
    }
    const removed: string[] = [];
    const failures: string[] = [];
    for (const staleName of names) {
      try {
        // Without force the library refuses (BUSY) if a process attached since the list was read.
        remove(staleName, false);
        removed.push(staleName);
        log.info(`${staleName}: removed stale channel`);
      } catch (error) {
        log.error(`${staleName}: removing failed: ${describeError(error)}`);
        failures.push(`"${staleName}": ${describeError(error)}`);
      }
    }
    channelsView.refresh();
    if (failures.length > 0) {
      throw new UserFacingError(
        `${removed.length > 0 ? `Removed ${removed.length}; ` : ''}could not remove ${failures.join('; ')}`,
      );
    }
    const what = removed.length === 1 ? `stale channel ${removed[0]}` : `${removed.length} stale channels`;
    vscode.window.setStatusBarMessage(`$(trash) SIPC: removed ${what}`, 4000);
    return removed;
  }

  async function copyChannelName(arg: unknown): Promise<string | undefined> {
    const name = nameArgument(arg);
    if (name === undefined) return undefined;
    await vscode.env.clipboard.writeText(name);
    return name;
  }

  return [
    command('sipc.connect', 'Could not connect', connect),
    command('sipc.disconnect', 'Could not disconnect', disconnect),
    command('sipc.disconnectAll', 'Could not disconnect every channel', disconnectAll),
    command('sipc.sendSelection', 'Could not send the selection', sendSelection),
    command('sipc.sendText', 'Could not send the text', sendText),
    command('sipc.sendFile', 'Could not send the file', sendFile),
    command('sipc.openInspector', 'Could not open the inspector', openInspector),
    command('sipc.inspectChannel', 'Could not inspect the channel', inspectChannel),
    command('sipc.removeStaleChannel', 'Could not remove the stale channel', removeStaleChannels),
    command('sipc.copyChannelName', 'Could not copy the name', copyChannelName),
    command('sipc.refreshChannels', 'Could not refresh the channels', async () => channelsView.refresh().length),
    command('sipc.showLog', 'Could not show the log', async () => {
      log.show();
      return true;
    }),
  ];
}
