// Where a capture's messages come from: this window's own connection (peer mode: sent/received, can send), or a
// read-only observer of any channel on the machine (observer mode: both directions, cannot send).
import * as vscode from 'vscode';
import { observe, type ChannelInfo, type ObservedMessage, type Observer, type Role } from '../../api';
import type { Connection, ConnectionManager } from '../../connections';
import { describeError as describe } from '../../errors';
import type { Capture } from '../shared/capture';
import type { Direction } from '../shared/model';
import type { InspectorMode } from '../shared/protocol';

/** What the statistics bar needs from the channel's shared header, per direction as the inspector names them. */
export interface SourceStatus {
  readonly state: string;
  readonly info: ChannelInfo | undefined;
  /** Maps the inspector's directions onto the header's to-client/to-server queues. */
  readonly queueOf: (direction: Direction) => { queued: number; capacity: number } | undefined;
}

export interface CaptureSource extends vscode.Disposable {
  readonly mode: InspectorMode;
  readonly name: string;
  readonly directions: readonly Direction[];
  canSend(): boolean;
  /** This window's role on the channel (peer mode, once open); an observer has none. */
  role(): Role | undefined;
  send(data: Uint8Array): Promise<void>;
  maxMessageSize(): number | undefined;
  status(): SourceStatus;
  /** Fires when canSend() or the state may have changed. */
  readonly onDidChange: vscode.Event<void>;
}

export class NotConnectedError extends Error {
  readonly code = 'NOT_CONNECTED';
  constructor(name: string) {
    super(`this window is not connected to "${name}"; connect first (SIPC: Connect to Channel…)`);
    this.name = 'NotConnectedError';
  }
}

/** This window's connection of a given name; follows it across disconnect/reconnect. */
export class PeerSource implements CaptureSource {
  readonly mode = 'peer' as const;
  readonly directions: readonly Direction[] = ['sent', 'received'];
  private connection: Connection | undefined;
  private connectionSubscriptions: vscode.Disposable[] = [];
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    readonly name: string,
    private readonly connections: ConnectionManager,
    private readonly capture: Capture,
  ) {
    this.subscriptions.push(connections.onDidChange(() => this.follow()));
    this.follow();
    if (!this.connection) capture.addEvent('not-connected', `this window is not connected to "${name}"`, Date.now());
  }

  canSend(): boolean {
    return this.connection !== undefined && this.connection.state !== 'closed';
  }

  role(): Role | undefined {
    return this.connection?.role;
  }

  async send(data: Uint8Array): Promise<void> {
    const connection = this.connection;
    if (!connection || connection.state === 'closed') throw new NotConnectedError(this.name);
    // The connection fires onDidMessage('sent') once the bytes are in the queue: that is what adds the row.
    await connection.send(data);
  }

  maxMessageSize(): number | undefined {
    return this.connection?.maxMessageSize;
  }

  status(): SourceStatus {
    const connection = this.connection;
    const info = connection?.info();
    const role = connection?.role;
    return {
      state: connection ? connection.state : 'not connected',
      info,
      queueOf: (direction) => {
        if (!info || !role) return undefined;
        const outbound = direction === 'sent';
        const queue = (role === 'server') === outbound ? info.toClient : info.toServer;
        return { queued: queue.queued, capacity: queue.capacity };
      },
    };
  }

  dispose(): void {
    this.unfollow();
    this.subscriptions.forEach((s) => s.dispose());
    this.changeEmitter.dispose();
  }

  private follow(): void {
    const current = this.connections.get(this.name);
    if (current === this.connection) {
      this.changeEmitter.fire();
      return;
    }
    const hadOne = this.connection !== undefined;
    this.unfollow();
    this.connection = current;
    if (current) {
      // Messages the connection received before this panel existed (sipc.receivedMessagesToKeep of them).
      const earlier = hadOne ? [] : current.receivedMessages;
      for (const m of earlier) this.capture.addMessage(m.direction, m.data, m.timestamp);
      if (earlier.length > 0) {
        this.capture.addEvent('history', `${earlier.length} message(s) above were received before the inspector opened`, Date.now());
      }
      const peer = current.peerPid();
      this.capture.addEvent(hadOne ? 'reconnected' : 'attached',
        `${current.role}, state ${current.state}${peer ? `, peer pid ${peer}` : ''}`, Date.now());
      this.connectionSubscriptions = [
        current.onDidMessage((m) => this.capture.addMessage(m.direction, m.data, m.timestamp)),
        current.onDidChangeState((state) => {
          const peerPid = current.peerPid();
          const detail = state === 'connected' ? `peer connected${peerPid ? ` (pid ${peerPid})` : ''}`
            : state === 'peer-gone' ? 'the peer closed the channel or died'
            : state === 'closed' ? 'this window closed the channel' : 'waiting for a peer';
          this.capture.addEvent(state, detail, Date.now());
          this.changeEmitter.fire();
        }),
        current.onDidError((error) => this.capture.addEvent('error', describe(error), Date.now())),
      ];
    } else if (hadOne) {
      this.capture.addEvent('disconnected', 'this window disconnected from the channel', Date.now());
    }
    this.changeEmitter.fire();
  }

  private unfollow(): void {
    this.connectionSubscriptions.forEach((s) => s.dispose());
    this.connectionSubscriptions = [];
    this.connection = undefined;
  }
}

/** A read-only observer; when the channel goes away it keeps trying to observe it again, every few seconds. */
export class ObserverSource implements CaptureSource {
  readonly mode = 'observer' as const;
  readonly directions: readonly Direction[] = ['to-server', 'to-client'];
  private observer: Observer | undefined;
  private state = 'starting';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  private lastFailure = '';
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    readonly name: string,
    private readonly capture: Capture,
    private readonly log: vscode.LogOutputChannel,
    private readonly retryMs = 2000,
  ) {
    this.start();
  }

  canSend(): boolean {
    return false;
  }

  role(): undefined {
    return undefined;
  }

  send(): Promise<void> {
    return Promise.reject(new Error('an observer is read-only: open the inspector on a connection of this window to send'));
  }

  maxMessageSize(): number | undefined {
    return this.safeInfo()?.maxMessageSize;
  }

  status(): SourceStatus {
    const info = this.safeInfo();
    return {
      state: info && this.state === 'observing' ? info.state : this.state,
      info,
      queueOf: (direction) => {
        if (!info) return undefined;
        const queue = direction === 'to-client' ? info.toClient : info.toServer;
        return { queued: queue.queued, capacity: queue.capacity };
      },
    };
  }

  dispose(): void {
    this.disposed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.stop();
    this.changeEmitter.dispose();
  }

  private safeInfo(): ChannelInfo | undefined {
    try {
      return this.observer?.info();
    } catch {
      return undefined;
    }
  }

  private start(): void {
    void this.attach();
  }

  /** Attaches the observer (on a native thread); a failure retries after retryMs. */
  private async attach(): Promise<void> {
    if (this.disposed) return;
    try {
      const observer = await observe(this.name);
      if (this.disposed) {
        await observer.close();
        return;
      }
      this.observer = observer;
      observer.on('message', (m: ObservedMessage) => this.onMessage(m));
      observer.on('gone', () => this.onGone(observer));
      observer.on('error', (error: Error) => {
        this.log.error(`inspector: observing ${this.name}: ${describe(error)}`);
        this.capture.addEvent('error', describe(error), Date.now());
      });
      this.state = 'observing';
      this.lastFailure = '';
      const info = this.safeInfo();
      this.capture.addEvent('observing', info
        ? `server pid ${info.serverPid || '—'}, client pid ${info.clientPid || '—'}, state ${info.state}`
        : 'observer attached', Date.now());
      this.log.info(`inspector: observing ${this.name}`);
    } catch (error) {
      const text = describe(error);
      if (text !== this.lastFailure) {
        this.capture.addEvent('not-found', `cannot observe "${this.name}": ${text}; retrying`, Date.now());
        this.log.warn(`inspector: cannot observe ${this.name}: ${text}`);
        this.lastFailure = text;
      }
      this.state = 'not found';
      this.retryTimer = setTimeout(() => this.start(), this.retryMs);
    }
    this.changeEmitter.fire();
  }

  private onMessage(m: ObservedMessage): void {
    if (m.missed > 0) {
      this.capture.addEvent('missed', `${m.missed} ${m.direction === 'to-client' ? 'server→client' : 'client→server'} message(s) went by before the observer could copy them`, m.timestamp.getTime());
    }
    this.capture.addMessage(m.direction, m.data, m.timestamp.getTime(), m.length);
  }

  private onGone(observer: Observer): void {
    if (observer !== this.observer) return;
    this.capture.addEvent('gone', `channel "${this.name}" was removed`, Date.now());
    this.state = 'gone';
    void this.stop();
    this.changeEmitter.fire();
    if (!this.disposed) this.retryTimer = setTimeout(() => this.start(), this.retryMs);
  }

  private async stop(): Promise<void> {
    const observer = this.observer;
    this.observer = undefined;
    if (!observer) return;
    try {
      await observer.close();
    } catch (error) {
      this.log.warn(`inspector: closing the observer of ${this.name}: ${describe(error)}`);
    }
  }
}
