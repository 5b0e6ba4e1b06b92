import * as vscode from 'vscode';
import { isUnusable, list, validateName, type ChannelInfo } from './api';
import type { Connection, ConnectionManager } from './connections';
import { describeError, UserFacingError } from './errors';
import { describeChannelState, describeConnectionState, formatBytes, parseSize } from './format';

/** A channel this user connected to before, with the options it was created with. */
export interface RecentChannel {
  readonly name: string;
  readonly maxMessageSize: number;
  readonly queueDepth: number;
}

const RECENT_KEY = 'sipc.recentChannels';
const RECENT_LIMIT = 10;

function isRecentChannel(value: unknown): value is RecentChannel {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.maxMessageSize === 'number' && typeof v.queueDepth === 'number';
}

export function recentChannels(state: vscode.Memento): RecentChannel[] {
  const stored = state.get<unknown>(RECENT_KEY);
  return Array.isArray(stored) ? stored.filter(isRecentChannel) : [];
}

export async function rememberRecentChannel(state: vscode.Memento, channel: RecentChannel): Promise<void> {
  const rest = recentChannels(state).filter((c) => c.name !== channel.name);
  await state.update(RECENT_KEY, [channel, ...rest].slice(0, RECENT_LIMIT));
}

/** The usable channels of list(), or an empty list if listing failed: pickers still work for typed names. */
export async function listChannelsQuietly(log: vscode.LogOutputChannel): Promise<ChannelInfo[]> {
  try {
    return (await list()).filter((entry): entry is ChannelInfo => !isUnusable(entry));
  } catch (error) {
    log.warn(`Listing channels failed: ${describeError(error)}`);
    return [];
  }
}

export interface ChannelChoice {
  readonly name: string;
  /** Set when the user picked a channel that exists now. */
  readonly info?: ChannelInfo;
  /** Set when the user picked a recent channel (its remembered options apply). */
  readonly recent?: RecentChannel;
}

/** An entry of the Connect picker: a channel to choose, a separator, or the name typed in the box. */
export type ConnectPickerItem = vscode.QuickPickItem & { choice?: ChannelChoice; invalid?: boolean };

/**
 * What the Connect picker offers before anything is typed: the channels on this machine this window is not
 * connected to (busy ones labelled so), then the recent ones.
 */
export async function connectPickerItems(
  connections: ConnectionManager,
  state: vscode.Memento,
  log: vscode.LogOutputChannel,
): Promise<ConnectPickerItem[]> {
  const onMachine = (await listChannelsQuietly(log)).filter((info) => !connections.get(info.name));
  const machineNames = new Set(onMachine.map((info) => info.name));
  const recents = recentChannels(state).filter((r) => !machineNames.has(r.name) && !connections.get(r.name));

  const base: ConnectPickerItem[] = [];
  if (onMachine.length > 0) {
    base.push({ label: 'On this machine', kind: vscode.QuickPickItemKind.Separator });
    for (const info of onMachine) {
      const joinable = info.state === 'waiting' || info.state === 'peer-gone';
      // Both roles held by live processes: a third one cannot join (BUSY); say so before the user tries.
      const busy = info.serverAlive && info.clientAlive && info.serverPid > 0 && info.clientPid > 0;
      base.push({
        label: info.name,
        iconPath: new vscode.ThemeIcon(info.state === 'stale' ? 'warning' : busy ? 'lock' : joinable ? 'watch' : 'plug'),
        description:
          info.state === 'stale'
            ? 'stale: connecting takes it over as server'
            : busy
              ? `busy: server pid ${info.serverPid} and client pid ${info.clientPid} hold both roles`
              : `${describeChannelState(info.state)}${info.serverPid > 0 ? ` · server pid ${info.serverPid}` : ''}`,
        detail: `max message ${formatBytes(info.maxMessageSize)} · queue depth ${info.queueDepth}`,
        choice: { name: info.name, info },
      });
    }
  }
  if (recents.length > 0) {
    base.push({ label: 'Recent', kind: vscode.QuickPickItemKind.Separator });
    for (const recent of recents) {
      base.push({
        label: recent.name,
        iconPath: new vscode.ThemeIcon('history'),
        description: `new channel · max message ${formatBytes(recent.maxMessageSize)} · queue depth ${recent.queueDepth}`,
        choice: { name: recent.name, recent },
      });
    }
  }
  return base;
}

/**
 * Asks which channel to connect to: channels on this machine, recent ones, or a new name typed in the box
 * (validated as it is typed). Undefined if the user dismissed it.
 */
export async function pickChannelToConnect(
  connections: ConnectionManager,
  state: vscode.Memento,
  log: vscode.LogOutputChannel,
): Promise<ChannelChoice | undefined> {
  const base = await connectPickerItems(connections, state, log);
  return new Promise((resolve) => {
    const picker = vscode.window.createQuickPick<ConnectPickerItem>();
    picker.title = 'SIPC: Connect to Channel';
    picker.placeholder = 'Type a channel name, or pick one on this machine or a recent one';
    picker.items = base;
    picker.matchOnDescription = false;
    let settled = false;
    const finish = (choice: ChannelChoice | undefined) => {
      if (settled) return;
      settled = true;
      resolve(choice);
      picker.dispose();
    };
    picker.onDidChangeValue((value) => {
      const typed = value.trim();
      if (typed === '' || base.some((item) => item.choice?.name === typed)) {
        picker.items = base;
        return;
      }
      let typedItem: ConnectPickerItem;
      try {
        validateName(typed);
        typedItem = {
          label: typed,
          iconPath: new vscode.ThemeIcon('add'),
          description: 'new channel',
          alwaysShow: true,
          choice: { name: typed },
        };
      } catch (error) {
        typedItem = {
          label: typed,
          iconPath: new vscode.ThemeIcon('error'),
          description: 'invalid name',
          detail: describeError(error),
          alwaysShow: true,
          invalid: true,
        };
      }
      picker.items = [typedItem, ...base];
    });
    picker.onDidAccept(() => {
      const [item] = picker.selectedItems;
      // An invalid name stays in the box so the user can correct it.
      if (!item || item.invalid || !item.choice) return;
      finish(item.choice);
    });
    picker.onDidHide(() => finish(undefined));
    picker.show();
  });
}

/** Asks for a size or count within [min, max]; accepts "64k", "1M". Undefined if dismissed. */
export async function promptNumber(options: {
  title: string;
  prompt: string;
  value: number;
  min: number;
  max: number;
  bytes: boolean;
}): Promise<number | undefined> {
  const describe = (n: number) => (options.bytes ? `${formatBytes(n)} (${n})` : String(n));
  const parse = (text: string) => (options.bytes ? parseSize(text) : /^\s*\d+\s*$/.test(text) ? Number(text) : undefined);
  const answer = await vscode.window.showInputBox({
    title: options.title,
    prompt: options.prompt,
    value: String(options.value),
    validateInput: (text) => {
      const value = parse(text);
      if (value === undefined) return options.bytes ? 'Enter a size in bytes, e.g. 65536, 64k or 1M' : 'Enter a whole number';
      if (value < options.min || value > options.max) return `Enter a value from ${describe(options.min)} to ${describe(options.max)}`;
      return undefined;
    },
  });
  return answer === undefined ? undefined : parse(answer);
}

/**
 * The connection a command acts on: the named one, the only one, or one the user picks (the last used first).
 * Throws UserFacingError when there is none; undefined when the user dismissed the pick.
 */
export async function pickConnection(
  connections: ConnectionManager,
  name: string | undefined,
  placeHolder: string,
): Promise<Connection | undefined> {
  if (name !== undefined) {
    const named = connections.get(name);
    if (!named) throw new UserFacingError(`This window is not connected to "${name}"`);
    connections.markUsed(named);
    return named;
  }
  const all = connections.connections();
  if (all.length === 0) {
    throw new UserFacingError('This window is not connected to any channel; run "SIPC: Connect to Channel…" first');
  }
  if (all.length === 1) {
    connections.markUsed(all[0]);
    return all[0];
  }
  const last = connections.lastUsed;
  const ordered = last ? [last, ...all.filter((c) => c !== last)] : all;
  const picked = await vscode.window.showQuickPick(
    ordered.map((connection) => ({
      label: connection.name,
      description: `${connection.role} · ${describeConnectionState(connection.state, connection.role)}${connection === last ? ' · last used' : ''}`,
      detail: `sent ${connection.sentCount} · received ${connection.receivedCount} · max message ${formatBytes(connection.maxMessageSize)}`,
      connection,
    })),
    { placeHolder, title: 'SIPC' },
  );
  if (!picked) return undefined;
  connections.markUsed(picked.connection);
  return picked.connection;
}

/** Picks any channel on the machine (for inspection or removal). Undefined if dismissed. */
export async function pickChannel(
  channels: readonly ChannelInfo[],
  placeHolder: string,
  emptyMessage: string,
  preferred: string | undefined,
): Promise<ChannelInfo | undefined> {
  if (channels.length === 0) throw new UserFacingError(emptyMessage);
  const ordered = [...channels].sort((a, b) => (a.name === preferred ? -1 : b.name === preferred ? 1 : a.name.localeCompare(b.name)));
  const picked = await vscode.window.showQuickPick(
    ordered.map((info) => ({
      label: info.name,
      description: `${describeChannelState(info.state)}${info.serverPid > 0 ? ` · server pid ${info.serverPid}` : ''}${info.clientPid > 0 ? ` · client pid ${info.clientPid}` : ''}`,
      info,
    })),
    { placeHolder, title: 'SIPC' },
  );
  return picked?.info;
}
