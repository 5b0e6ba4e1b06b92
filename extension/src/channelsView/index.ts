import * as vscode from 'vscode';
import { isUnusable, list, watchChannels, type ChannelInfo, type ProcessInfo, type ChannelWatch, type DirectionInfo, type ListedChannel, type SipcError } from '../api';
import type { Connection, ConnectionManager } from '../connections';
import { describeError } from '../errors';
import { describePeer, describeProcesses, isHalted, peerText, type PeerProcess } from '../debugging/peerProcess';
import type { Debuggees } from '../debugging/debuggees';
import { describeChannelState, describeConnectionState, describeCreated, formatBytes } from '../format';

export const CHANNELS_VIEW_ID = 'sipc.channels';
/** Traffic of this window's connections refreshes the view at most this often. */
const TRAFFIC_REFRESH_MS = 250;

/** A channel on this machine; commands of the view's context menu receive it as their argument. */
export class ChannelNode {
  readonly kind = 'channel';
  constructor(
    readonly name: string,
    readonly info: ChannelInfo,
    /** This window's connection to the channel, if any. */
    readonly connection: Connection | undefined,
    /** The processes holding the roles (alive ones): names, and whether they are halted. */
    readonly server: PeerProcess | undefined = undefined,
    readonly client: PeerProcess | undefined = undefined,
  ) {}
  get stale(): boolean {
    return this.info.state === 'stale';
  }
  /** A holder is alive but paused in a debugger or stopped: the channel is quiet, not dead. */
  get halted(): PeerProcess | undefined {
    return isHalted(this.server) ? this.server : isHalted(this.client) ? this.client : undefined;
  }
}

export type ChannelGroup = 'here' | 'live' | 'stale' | 'unusable';

/** A section of the view: this window's channels, the live ones, the stale ones (collapsed), unusable entries. */
export class GroupNode {
  readonly kind = 'group';
  constructor(
    readonly group: ChannelGroup,
    readonly children: readonly TopNode[],
    /** Entries of this group before the filter. */
    readonly total: number,
  ) {}
}

const GROUP_LABELS: Record<ChannelGroup, string> = { here: 'This window', live: 'Live', stale: 'Stale', unusable: 'Unusable' };
const GROUP_ORDER: readonly ChannelGroup[] = ['here', 'live', 'stale', 'unusable'];

/** Names in natural order: x-2 before x-10. */
const naturalOrder = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare;

export function groupOf(node: TopNode): ChannelGroup {
  if (node.kind === 'unusable') return 'unusable';
  return node.connection ? 'here' : node.stale ? 'stale' : 'live';
}

/**
 * Something in the machine's channel namespace that is no usable channel: a FIFO or another non-file named like a
 * segment, a corrupt segment, another protocol version, one this user may not read. Listed so that the user sees
 * it, with no channel commands.
 */
export class UnusableNode {
  readonly kind = 'unusable';
  constructor(
    readonly name: string,
    /** Why it cannot be used; `code` is stable (NOT_A_CHANNEL, CORRUPT, VERSION, PERMISSION...). */
    readonly error: SipcError,
  ) {}
}

/** One line of detail under a channel. */
export class DetailNode {
  readonly kind = 'detail';
  constructor(
    readonly id: string,
    readonly label: string,
    readonly description: string,
    readonly icon: string,
  ) {}
}

export type ChannelsViewNode = GroupNode | ChannelNode | UnusableNode | DetailNode;
export type TopNode = ChannelNode | UnusableNode;

/**
 * Every sipc channel on the machine (API list(), which runs on a native thread). Nothing polls: the view refreshes
 * when the API's channel watch reports a change (a native thread compares the channels and hears inotify), when this
 * window's connections change or carry traffic, and when it is shown. One listing runs at a time; requests made
 * meanwhile share the next one. Refreshes that change nothing are not announced, so the tree does not flicker.
 */
export class ChannelsViewProvider implements vscode.TreeDataProvider<ChannelsViewNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<ChannelsViewNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;

  private nodes: TopNode[] = [];
  private listing: Promise<TopNode[]> | undefined;
  private nextListing: Promise<TopNode[]> | undefined;
  private snapshot = '';
  private listError: string | undefined;
  private readonly watch: ChannelWatch | undefined;
  private trafficTimer: ReturnType<typeof setTimeout> | undefined;
  private view: vscode.TreeView<ChannelsViewNode> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private filterText = '';
  private groups: GroupNode[] = [];

  constructor(
    private readonly connections: ConnectionManager,
    private readonly log: vscode.LogOutputChannel,
    private readonly debuggees?: Debuggees,
  ) {
    this.disposables.push(
      connections.onDidChange(() => void this.refresh()),
      connections.onDidMessage(() => this.scheduleTrafficRefresh()),
    );
    // A debuggee paused or ran again: the channels it holds say so at once.
    if (debuggees) this.disposables.push(debuggees.onDidChange(() => void this.refresh()));
    try {
      // Not persistent: the watch must not keep the extension host alive.
      this.watch = watchChannels(() => void this.refresh(), { persistent: false });
    } catch (error) {
      log.error(`Watching the channels failed (the view refreshes when shown and on this window's changes): ${describeError(error)}`);
    }
    void this.refresh();
  }

  /** Attaches the tree view: shown again, it refreshes (changes while hidden were not announced to it). */
  attach(view: vscode.TreeView<ChannelsViewNode>): void {
    this.view = view;
    this.disposables.push(view.onDidChangeVisibility(() => {
      if (view.visible) void this.refresh();
    }));
    this.showListError();
  }

  /**
   * Re-reads the channels; resolves with the nodes as they are after this call. Announces a change only if
   * something differs. While a listing runs, every request made meanwhile shares one more listing after it.
   */
  refresh(): Promise<TopNode[]> {
    if (!this.listing) {
      this.listing = this.listAndCollect().finally(() => {
        this.listing = undefined;
      });
      return this.listing;
    }
    this.nextListing ??= this.listing.then(() => {
      this.nextListing = undefined;
      return this.refresh();
    });
    return this.nextListing;
  }

  /** The text the view is filtered by ("" for none). */
  get filter(): string {
    return this.filterText;
  }

  /** Shows only the channels whose name contains `text` (case-insensitive); "" shows all. */
  setFilter(text: string): void {
    this.filterText = text.trim();
    void vscode.commands.executeCommand('setContext', 'sipc.channelsFiltered', this.filterText !== '');
    this.regroup();
    this.changeEmitter.fire(undefined);
  }

  /** The groups as the view shows them (filtered; empty groups left out). */
  get shownGroups(): readonly GroupNode[] {
    return this.groups;
  }

  /** The channels of this window whose holders are halted (paused in a debugger or stopped), by name. */
  haltedChannels(): ChannelNode[] {
    return this.nodes.filter((n): n is ChannelNode => n.kind === 'channel' && n.halted !== undefined);
  }

  getTreeItem(node: ChannelsViewNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': return groupItem(node, this.filterText);
      case 'channel': return channelItem(node);
      case 'unusable': return unusableItem(node);
      case 'detail': return detailItem(node);
    }
  }

  /**
   * A channel's or unusable entry's Markdown tooltip, made when the user hovers it: VS Code parses a Markdown tooltip
   * on the extension host's main thread for every item of every refresh (~75 ms in a flood's profile, when the view
   * refreshes for the traffic), and the first creation time formatted loads the locale's data (~120 ms).
   */
  resolveTreeItem(item: vscode.TreeItem, node: ChannelsViewNode): vscode.TreeItem {
    if (node.kind === 'channel') item.tooltip = channelTooltip(node);
    else if (node.kind === 'unusable') item.tooltip = unusableTooltip(node);
    return item;
  }

  getChildren(node?: ChannelsViewNode): ChannelsViewNode[] {
    if (!node) return [...this.groups];
    if (node.kind === 'group') return [...node.children];
    return node.kind === 'channel' ? details(node) : [];
  }

  getParent(node: ChannelsViewNode): ChannelsViewNode | undefined {
    if (node.kind === 'group') return undefined;
    if (node.kind === 'detail') return this.nodes.find((n) => node.id.startsWith(`${n.name}/`));
    return this.groups.find((g) => g.children.includes(node));
  }

  dispose(): void {
    this.watch?.dispose();
    if (this.trafficTimer) clearTimeout(this.trafficTimer);
    for (const d of this.disposables) d.dispose();
    this.changeEmitter.dispose();
  }

  private async listAndCollect(): Promise<TopNode[]> {
    const listing = await this.listChannels();
    // The holders' names and states come from /proc (Linux): described off the main thread, before the nodes are made.
    const listed = 'entries' in listing ? listing.entries : [];
    const unlisted = this.connections.connections().filter((c) => !listed.some((e) => e.name === c.name)).map((c) => c.info());
    const holders = [...listed, ...unlisted]
      .flatMap((info) => (info && !isUnusable(info) ? [info.serverAlive ? info.serverPid : 0, info.clientAlive ? info.clientPid : 0] : []));
    if (this.collect(listing, await describeProcesses(holders))) this.changeEmitter.fire(undefined);
    return this.nodes;
  }

  /** Every entry of the channel namespace, or the error that kept them from being listed. */
  private async listChannels(): Promise<{ entries: ListedChannel[] } | { error: string }> {
    try {
      return { entries: await list() };
    } catch (error) {
      return { error: describeError(error) };
    }
  }

  /** Rebuilds the nodes from a listing and the holders' descriptions; true if they differ from the last ones. */
  private collect(listing: { entries: ListedChannel[] } | { error: string }, processes: ReadonlyMap<number, ProcessInfo>): boolean {
    const previousError = this.listError;
    const entries = 'entries' in listing ? listing.entries : [];
    const infos = entries.filter((entry): entry is ChannelInfo => !isUnusable(entry));
    this.listError = 'error' in listing ? listing.error : undefined;
    if (previousError !== this.listError) {
      if (this.listError !== undefined) this.log.error(`Listing channels failed: ${this.listError}`);
      this.showListError();
    }

    const byName = new Map(infos.map((info) => [info.name, info]));
    // A channel this window holds is shown even if listing missed it (e.g. listing failed).
    for (const connection of this.connections.connections()) {
      if (byName.has(connection.name)) continue;
      const info = connection.info();
      if (info) byName.set(connection.name, info);
    }
    const unusable = entries.filter(isUnusable).filter((entry) => !byName.has(entry.name))
      .map((entry) => new UnusableNode(entry.name, entry.unusable));
    // This window's channels first, then the live ones, stale ones, unusable entries last; in natural name order
    // within each group.
    const peer = (pid: number, alive: boolean) => (alive ? describePeer(pid, processes.get(pid), this.debuggees) : undefined);
    const nodes: TopNode[] = [
      ...[...byName.values()].map((info) => new ChannelNode(info.name, info, this.connections.get(info.name),
        peer(info.serverPid, info.serverAlive), peer(info.clientPid, info.clientAlive))),
      ...unusable,
    ].sort((a, b) => GROUP_ORDER.indexOf(groupOf(a)) - GROUP_ORDER.indexOf(groupOf(b)) || naturalOrder(a.name, b.name));
    const snapshot = JSON.stringify(
      nodes.map((n) => n.kind === 'unusable' ? [n.name, n.error.code, n.error.message] : [
        n.info, n.server, n.client,
        n.connection ? [n.connection.role, n.connection.state, n.connection.sentCount, n.connection.receivedCount] : null,
      ]),
    );
    this.nodes = nodes;
    this.regroup();
    if (snapshot === this.snapshot) return false;
    this.snapshot = snapshot;
    return true;
  }

  /** Sorts the nodes into the shown groups, applying the filter. */
  private regroup(): void {
    const needle = this.filterText.toLowerCase();
    const previous = new Map(this.groups.map((g) => [g.group, g]));
    this.groups = GROUP_ORDER.map((group) => {
      const all = this.nodes.filter((n) => groupOf(n) === group);
      const shown = needle === '' ? all : all.filter((n) => n.name.toLowerCase().includes(needle));
      const same = previous.get(group);
      return same && same.total === all.length && same.children.length === shown.length && same.children.every((c, i) => c === shown[i])
        ? same : new GroupNode(group, shown, all.length);
    }).filter((g) => g.children.length > 0);
    if (this.view) {
      const total = this.nodes.length;
      const shown = this.groups.reduce((sum, g) => sum + g.children.length, 0);
      this.view.description = this.filterText ? `"${this.filterText}": ${shown} of ${total}` : undefined;
    }
  }

  private showListError(): void {
    if (this.view) this.view.message = this.listError ? `Cannot list channels: ${this.listError}.` : undefined;
  }

  private scheduleTrafficRefresh(): void {
    if (this.trafficTimer || !(this.view?.visible ?? false)) return;
    this.trafficTimer = setTimeout(() => {
      this.trafficTimer = undefined;
      void this.refresh();
    }, TRAFFIC_REFRESH_MS);
  }
}

function groupItem(node: GroupNode, filter: string): vscode.TreeItem {
  // Stale channels are kept out of the way: the group starts collapsed.
  const state = node.group === 'stale' || node.group === 'unusable'
    ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded;
  const item = new vscode.TreeItem(GROUP_LABELS[node.group], state);
  item.id = `group:${node.group}`;
  item.description = filter && node.children.length !== node.total ? `${node.children.length} of ${node.total}` : String(node.total);
  item.contextValue = `sipcGroup ${node.group}`;
  item.tooltip = node.group === 'stale' ? 'Channels nobody alive is attached to; "Remove All Stale" deletes them' : undefined;
  return item;
}

function stateIcon(node: ChannelNode): vscode.ThemeIcon {
  if (node.halted) return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('debugIcon.pauseForeground'));
  switch (node.info.state) {
    case 'connected':
      return new vscode.ThemeIcon('plug', new vscode.ThemeColor('charts.green'));
    case 'waiting':
      return new vscode.ThemeIcon('watch', new vscode.ThemeColor('charts.yellow'));
    case 'peer-gone':
      return new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('charts.orange'));
    case 'stale':
      return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    case 'empty':
      return new vscode.ThemeIcon('circle-outline');
  }
}

function fill(direction: DirectionInfo): string {
  return `${direction.queued}/${direction.capacity}`;
}

function channelItem(node: ChannelNode): vscode.TreeItem {
  const { info, connection } = node;
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `channel:${node.name}`;
  item.iconPath = stateIcon(node);
  const parts: string[] = [];
  if (connection) parts.push(`this window: ${connection.role}`);
  const halted = node.halted;
  // A peer halted by a debugger or a signal is why nothing moves: say so first, not "connected".
  if (halted) parts.push(`${halted === node.server ? 'server' : 'client'} ${halted.activity}`);
  parts.push(connection ? describeConnectionState(connection.state, connection.role) : describeChannelState(info.state));
  if (info.state !== 'stale') parts.push(`s→c ${fill(info.toClient)} · c→s ${fill(info.toServer)}`);
  item.description = parts.join(' · ');
  // Space-separated flags, matched with regular expressions in package.json's `when` clauses.
  item.contextValue = ['sipcChannel', connection ? 'here' : 'elsewhere', node.stale ? 'stale' : 'live', ...(halted ? ['halted'] : [])].join(' ');
  return item;
}

function pidText(pid: number, alive: boolean, peer?: PeerProcess): string {
  if (pid <= 0) return 'none';
  if (!alive) return `pid ${pid} (exited)`;
  return peer ? `pid ${peerText(peer)}` : `pid ${pid}`;
}

function directionText(direction: DirectionInfo): string {
  const count = direction.messages === 1 ? '1 message' : `${direction.messages} messages`;
  return `${fill(direction)} queued · ${count} · ${formatBytes(direction.bytes)}`;
}

function details(node: ChannelNode): DetailNode[] {
  const { info, connection } = node;
  const id = (key: string) => `${node.name}/${key}`;
  const own = (role: 'server' | 'client') => (connection?.role === role ? ' (this window)' : '');
  const rows = [
    new DetailNode(id('server'), 'Server', pidText(info.serverPid, info.serverAlive, node.server) + own('server'), isHalted(node.server) ? 'debug-pause' : 'server-process'),
    new DetailNode(id('client'), 'Client', pidText(info.clientPid, info.clientAlive, node.client) + own('client'), isHalted(node.client) ? 'debug-pause' : 'vm'),
    new DetailNode(id('to-client'), 'Server → client', directionText(info.toClient), 'arrow-right'),
    new DetailNode(id('to-server'), 'Client → server', directionText(info.toServer), 'arrow-left'),
    new DetailNode(
      id('limits'),
      'Limits',
      `max message ${formatBytes(info.maxMessageSize)} · queue depth ${info.queueDepth}`,
      'settings',
    ),
  ];
  if (connection) {
    rows.push(
      new DetailNode(
        id('window'),
        'This window',
        `sent ${connection.sentCount} · received ${connection.receivedCount}`,
        'window',
      ),
    );
  }
  return rows;
}

function unusableItem(node: UnusableNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
  item.id = `unusable:${node.name}`;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
  item.description = `unusable: ${node.error.code}`;
  // No channel flags: none of the channel commands apply.
  item.contextValue = 'sipcUnusable';
  return item;
}

function unusableTooltip(node: UnusableNode): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escapeMarkdown(node.name)}** is named like a sipc channel but cannot be used:\n\n`);
  md.appendMarkdown(`${escapeMarkdown(node.error.message)} (\`${node.error.code}\`)\n\n`);
  md.appendMarkdown('Another program or user may have put it there, or a process died while creating it. ' +
    'sipc never waits on it; remove it by hand if it is yours.');
  return md;
}

function detailItem(node: DetailNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = `detail:${node.id}`;
  item.description = node.description;
  item.tooltip = `${node.label}: ${node.description}`;
  item.iconPath = new vscode.ThemeIcon(node.icon);
  item.contextValue = 'sipcDetail';
  return item;
}

function channelTooltip(node: ChannelNode): vscode.MarkdownString {
  const { info, connection } = node;
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escapeMarkdown(node.name)}** — ${describeChannelState(info.state)}\n\n`);
  if (connection) {
    md.appendMarkdown(
      `This window is the **${connection.role}** (${describeConnectionState(connection.state, connection.role)}); ` +
        `sent ${connection.sentCount}, received ${connection.receivedCount}.\n\n`,
    );
  }
  md.appendMarkdown(`- Server: ${escapeMarkdown(pidText(info.serverPid, info.serverAlive, node.server))}\n`);
  md.appendMarkdown(`- Client: ${escapeMarkdown(pidText(info.clientPid, info.clientAlive, node.client))}\n`);
  md.appendMarkdown(`- Server → client: ${directionText(info.toClient)}\n`);
  md.appendMarkdown(`- Client → server: ${directionText(info.toServer)}\n`);
  md.appendMarkdown(`- Max message ${formatBytes(info.maxMessageSize)}, queue depth ${info.queueDepth}\n`);
  md.appendMarkdown(`- Clients so far: ${info.connections}; ${describeCreated(info.created)}\n`);
  md.appendMarkdown(`- Mode ${info.mode.toString(8).padStart(4, '0')}, owner uid ${info.ownerUid}, protocol ${info.protocolVersion}\n`);
  if (node.stale) md.appendMarkdown('\nNobody alive is attached: *Remove Stale Channel* deletes it.\n');
  if (node.halted) {
    md.appendMarkdown(`\nThe ${node.halted === node.server ? 'server' : 'client'} is alive but ${node.halted.activity}: ` +
      'it takes and sends nothing until it is continued.\n');
  }
  return md;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
