import * as vscode from 'vscode';
import { open, SipcError, type Channel, type ChannelInfo, type ChannelState, type Role } from '../api';
import { ownedBytes } from '../api/delivery';
import type { SipcSettings } from '../settings';

export type { ChannelState, Role } from '../api';

/** One message that went through a connection of this window, in either direction. */
export interface ConnectionMessage {
  readonly direction: 'sent' | 'received';
  /** In memory of its own (byteOffset 0, its buffer exactly its length), so keeping it keeps nothing else alive. */
  readonly data: Uint8Array;
  /** Wall clock in milliseconds, with microsecond resolution (see wallClockMs), when this window sent or received it. */
  readonly timestamp: number;
}

/** Date.now() resolves only milliseconds; the inspector shows and exports microseconds. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface ConnectOptions {
  /** Only used when this window creates the channel (becomes its server). */
  readonly maxMessageSize?: number;
  readonly queueDepth?: number;
  /** How long to wait for the peer; undefined or 0 waits until connected or aborted. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called once the channel is open (its role known), before the wait for the peer. */
  readonly onOpened?: (connection: Connection) => void;
}

/** `shared`, unless `options.timeoutMs` runs out or `options.signal` aborts first (TIMEOUT / CANCELLED). */
function withOwnLimits(name: string, shared: Promise<Connection>, options: ConnectOptions): Promise<Connection> {
  const { timeoutMs, signal } = options;
  const context = `connect to channel '${name}' failed`;
  if (signal?.aborted) return Promise.reject(new SipcError('CANCELLED', `${context}: the wait was aborted`));
  if (!timeoutMs && !signal) return shared;
  return new Promise<Connection>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(new SipcError('CANCELLED', `${context}: the wait was aborted`));
    };
    if (timeoutMs) {
      timer = setTimeout(() => {
        done();
        reject(new SipcError('TIMEOUT', `${context}: no peer connected within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    shared.then(
      (connection) => {
        done();
        resolve(connection);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/** A connect() in progress; later connect() calls for the same name join it. */
interface PendingConnect {
  readonly ready: Promise<Connection>;
}

/** What a connection needs from the rest of the extension; read on each use so setting changes apply at once. */
interface ConnectionEnvironment {
  readonly log: vscode.LogOutputChannel;
  readonly settings: () => SipcSettings;
}

/**
 * This window's end of one channel. Tracks the peer's comings and goings: when the peer goes away a server
 * waits for the next one by itself; a client stays in 'peer-gone' until it is disconnected or connected anew.
 */
export class Connection {
  /**
   * The one fact about the state that the Channel does not keep: the peer left and no new one has come yet. A server
   * waits for the next client at once (its Channel is 'waiting' again); this window still shows it as 'peer-gone'.
   */
  private peerLeft = false;
  private sent = 0;
  private received = 0;
  private lastActivity: number | undefined;
  private readonly keptReceived: ConnectionMessage[] = [];
  /** Sends run one after another so that messages leave in the order send() was called. */
  private sendChain: Promise<void> = Promise.resolve();
  /** Aborts a server's wait for its next peer when the connection closes. */
  private readonly closing = new AbortController();
  private closed: Promise<void> | undefined;

  private readonly messageEmitter = new vscode.EventEmitter<ConnectionMessage>();
  private readonly stateEmitter = new vscode.EventEmitter<ChannelState>();
  private readonly errorEmitter = new vscode.EventEmitter<SipcError>();
  readonly onDidMessage: vscode.Event<ConnectionMessage> = this.messageEmitter.event;
  readonly onDidChangeState: vscode.Event<ChannelState> = this.stateEmitter.event;
  /** Errors of the channel's background receiving (the channel may still be usable). */
  readonly onDidError: vscode.Event<SipcError> = this.errorEmitter.event;

  constructor(
    readonly channel: Channel,
    private readonly env: ConnectionEnvironment,
  ) {
    channel.on('message', (data) => this.onReceived(data));
    channel.on('connected', () => this.onConnected());
    channel.on('peer-gone', () => this.onPeerGone());
    channel.on('error', (error) => {
      this.env.log.error(`${this.name}: ${error.code}: ${error.message}`);
      this.errorEmitter.fire(error);
    });
  }

  get name(): string {
    return this.channel.name;
  }
  get role(): Role {
    return this.channel.role;
  }
  /** The Channel's state, except that a server waiting for its next client after one left is 'peer-gone'. */
  get state(): ChannelState {
    const state = this.channel.state;
    return state === 'waiting' && this.peerLeft ? 'peer-gone' : state;
  }
  get sentCount(): number {
    return this.sent;
  }
  get receivedCount(): number {
    return this.received;
  }
  get maxMessageSize(): number {
    return this.channel.maxMessageSize;
  }
  /** Date.now() of the last message either way, undefined before the first. */
  get lastActivityTime(): number | undefined {
    return this.lastActivity;
  }
  /** The last `sipc.receivedMessagesToKeep` received messages, oldest first. */
  get receivedMessages(): readonly ConnectionMessage[] {
    const keep = this.env.settings().receivedMessagesToKeep;
    return keep === 0 ? [] : this.keptReceived.slice(-keep);
  }

  /** A snapshot of the channel's shared state, or undefined once it cannot be read (closed). */
  info(): ChannelInfo | undefined {
    if (this.state === 'closed') return undefined;
    try {
      return this.channel.info();
    } catch {
      return undefined;
    }
  }

  /** Process id of the other side, if one is attached. */
  peerPid(): number | undefined {
    const info = this.info();
    if (!info) return undefined;
    const pid = this.role === 'server' ? info.clientPid : info.serverPid;
    return pid > 0 ? pid : undefined;
  }

  /** Sends one message. Rejects with the API's SipcError (TOO_BIG, PEER_GONE, TIMEOUT, CLOSED...). */
  send(data: Uint8Array): Promise<void> {
    const result = this.sendChain.then(async () => {
      const timeoutMs = this.env.settings().sendTimeoutMs;
      await this.channel.send(data, timeoutMs > 0 ? { timeoutMs } : undefined);
      this.sent++;
      this.lastActivity = wallClockMs();
      this.env.log.trace(`${this.name}: sent ${data.byteLength} bytes`);
      // Received messages come owned from the Channel; what was sent may be a view (text encoded into Node's
      // pool, a slice of a file), so its record is made owned here, once, rather than by every listener.
      this.messageEmitter.fire({ direction: 'sent', data: ownedBytes(data), timestamp: this.lastActivity });
    });
    // A failed send must not stop the ones queued behind it.
    this.sendChain = result.catch(() => undefined);
    return result;
  }

  /** Waits for the first peer. Used by ConnectionManager.connect; a rejection leaves the connection to be closed. */
  async waitForPeer(timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    // The Channel is 'connected' when this resolves; its 'connected' event has told the listeners.
    await this.channel.connect({ ...(timeoutMs ? { timeoutMs } : {}), ...(signal ? { signal } : {}) });
  }

  /** Closes the channel; safe to call more than once. Resolves when the native side is released. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      // close() marks the Channel closed at once; it cancels a send still blocked on a full queue (that send
      // rejects with CANCELLED or CLOSED) and resolves once the native side is released.
      const closed = this.channel.close();
      this.stateEmitter.fire('closed');
      try {
        await closed;
      } finally {
        this.messageEmitter.dispose();
        this.stateEmitter.dispose();
        this.errorEmitter.dispose();
      }
    })();
    return this.closed;
  }

  private onReceived(data: Uint8Array): void {
    if (this.state === 'closed') return;
    this.received++;
    this.lastActivity = wallClockMs();
    const message: ConnectionMessage = { direction: 'received', data, timestamp: this.lastActivity };
    const keep = this.env.settings().receivedMessagesToKeep;
    if (keep > 0) {
      this.keptReceived.push(message);
      // Trim in batches so each message costs O(1) amortised.
      if (this.keptReceived.length >= 2 * keep) this.keptReceived.splice(0, this.keptReceived.length - keep);
    } else {
      this.keptReceived.length = 0;
    }
    // A line per message only when someone reads trace: a flood would otherwise build a string per message.
    if (this.env.log.logLevel === vscode.LogLevel.Trace) this.env.log.trace(`${this.name}: received ${data.byteLength} bytes`);
    this.messageEmitter.fire(message);
  }

  private onConnected(): void {
    this.peerLeft = false;
    this.stateEmitter.fire('connected');
  }

  private onPeerGone(): void {
    if (this.peerLeft || this.state === 'closed') return;
    this.env.log.info(`${this.name}: the peer went away`);
    this.peerLeft = true;
    this.stateEmitter.fire('peer-gone');
    if (this.role === 'server') void this.waitForNextPeer();
  }

  private async waitForNextPeer(): Promise<void> {
    this.env.log.info(`${this.name}: waiting for the next peer (this window is the server)`);
    try {
      await this.channel.connect({ signal: this.closing.signal });
      if (this.state === 'closed') return;
      this.env.log.info(`${this.name}: a new peer connected (pid ${this.peerPid() ?? 'unknown'})`);
    } catch (error) {
      if (this.closing.signal.aborted) return;
      this.env.log.error(`${this.name}: waiting for the next peer failed: ${describeUnknown(error)}`);
    }
  }
}

function describeUnknown(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The channels this window is connected to. Shared by the commands, the channels view, the status bar and the
 * inspector; names are unique (one connection per channel name per window).
 */
export class ConnectionManager implements vscode.Disposable {
  private readonly byName = new Map<string, Connection>();
  /** The first wait for a peer of each connection still waiting, so a second connect() joins it. */
  private readonly pending = new Map<string, PendingConnect>();
  /** Connections being closed, by name: a new open of that name waits for them. */
  private readonly releasing = new Map<string, Promise<void>>();
  private readonly subscriptions = new Map<string, vscode.Disposable[]>();
  private lastUsedName: string | undefined;

  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly messageEmitter = new vscode.EventEmitter<{ connection: Connection; message: ConnectionMessage }>();
  /** Connections added or removed, or one changed state. Not fired per message: see onDidMessage. */
  readonly onDidChange: vscode.Event<void> = this.changeEmitter.event;
  /** Every message of every connection. */
  readonly onDidMessage: vscode.Event<{ connection: Connection; message: ConnectionMessage }> =
    this.messageEmitter.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly settings: () => SipcSettings,
  ) {}

  /** In the order they were connected. */
  connections(): Connection[] {
    return [...this.byName.values()];
  }

  get(name: string): Connection | undefined {
    return this.byName.get(name);
  }

  /** The connection most recently connected, sent on or picked; falls back to the newest one. */
  get lastUsed(): Connection | undefined {
    const named = this.lastUsedName === undefined ? undefined : this.byName.get(this.lastUsedName);
    return named ?? this.connections().at(-1);
  }

  markUsed(connection: Connection): void {
    if (this.byName.get(connection.name) === connection) this.lastUsedName = connection.name;
  }

  /**
   * Opens the channel (creating it as server, or joining it as client) and waits for the peer. The connection
   * is listed from the moment it is opened (state 'waiting'); if the wait fails or is aborted it is closed and
   * removed again, and the API's SipcError is rethrown. Connecting to a name already connected returns the
   * existing connection, except a client whose server went away, which is replaced by a fresh one.
   */
  async connect(name: string, options: ConnectOptions = {}): Promise<Connection> {
    const waiting = this.pending.get(name);
    // Joining a connect in progress: this call still gives up on its own timeout and signal (the shared one
    // goes on for its own caller).
    if (waiting) return withOwnLimits(name, waiting.ready, options);
    const existing = this.byName.get(name);
    if (existing && !(existing.role === 'client' && existing.state === 'peer-gone')) {
      this.markUsed(existing);
      return existing;
    }
    if (existing) {
      await this.disconnect(name);
      // Another connect() may have started while the dead one closed: join it rather than open a second end.
      return this.connect(name, options);
    }

    const pending: PendingConnect = { ready: this.openAndWait(name, options, () => pending) };
    this.pending.set(name, pending);
    return pending.ready;
  }

  /** The open (on a native thread) and the wait for the peer of one connect(); `self` is its pending entry. */
  private async openAndWait(name: string, options: ConnectOptions, self: () => PendingConnect): Promise<Connection> {
    try {
      await this.releasing.get(name);
      const channel = await open(name, {
        // No receive spin on the extension host's main thread: every extension shares it, and a flood would spend
        // hundreds of ms there per 100k messages (a CPU profile of the flood bench); the native thread delivers.
        receiveSpinUs: 0,
        ...(options.maxMessageSize !== undefined ? { maxMessageSize: options.maxMessageSize } : {}),
        ...(options.queueDepth !== undefined ? { queueDepth: options.queueDepth } : {}),
      });
      if (this.pending.get(name) !== self()) {
        // disconnect() came while the channel was being opened.
        await channel.close();
        throw new SipcError('CLOSED', `connect to channel '${name}' failed: it was disconnected while opening`);
      }
      const connection = new Connection(channel, { log: this.log, settings: this.settings });
      this.add(connection);
      this.log.info(`${name}: opened as ${connection.role} (max message ${connection.maxMessageSize} bytes)`);
      options.onOpened?.(connection);
      try {
        await connection.waitForPeer(options.timeoutMs, options.signal);
      } catch (error) {
        // Unless disconnect() already took it away (then the wait failed with CLOSED because of that).
        if (this.byName.get(name) === connection) await this.disconnect(name);
        throw error;
      }
      this.log.info(`${name}: connected as ${connection.role}, peer pid ${connection.peerPid() ?? 'unknown'}`);
      this.markUsed(connection);
      return connection;
    } finally {
      if (this.pending.get(name) === self()) this.pending.delete(name);
    }
  }

  /** Closes and forgets the connection; false if there was none of that name. */
  async disconnect(name: string): Promise<boolean> {
    const connection = this.byName.get(name);
    if (!connection) return false;
    this.byName.delete(name);
    this.pending.delete(name);
    for (const subscription of this.subscriptions.get(name) ?? []) subscription.dispose();
    this.subscriptions.delete(name);
    if (this.lastUsedName === name) this.lastUsedName = undefined;
    this.changeEmitter.fire();
    // The close runs on a native thread: a connect() meanwhile must not open a second end before this one is gone.
    const closed = connection.close();
    const released = closed.catch(() => undefined);
    this.releasing.set(name, released);
    void released.then(() => {
      if (this.releasing.get(name) === released) this.releasing.delete(name);
    });
    try {
      await closed;
      this.log.info(`${name}: disconnected`);
    } catch (error) {
      this.log.error(`${name}: closing failed: ${describeUnknown(error)}`);
      throw error;
    }
    return true;
  }

  /** Closes every connection; failures are logged, never stop the others from closing. */
  async disconnectAll(): Promise<void> {
    const results = await Promise.allSettled(this.connections().map((c) => this.disconnect(c.name)));
    const failures = results.filter((r) => r.status === 'rejected').length;
    if (failures > 0) this.log.warn(`${failures} channel(s) did not close cleanly`);
  }

  /** For deactivation: closes everything and waits for it. */
  async close(): Promise<void> {
    await this.disconnectAll();
    this.changeEmitter.dispose();
    this.messageEmitter.dispose();
  }

  dispose(): void {
    void this.close();
  }

  private add(connection: Connection): void {
    this.byName.set(connection.name, connection);
    this.subscriptions.set(connection.name, [
      connection.onDidChangeState(() => this.changeEmitter.fire()),
      connection.onDidMessage((message) => this.messageEmitter.fire({ connection, message })),
    ]);
    this.changeEmitter.fire();
  }
}
