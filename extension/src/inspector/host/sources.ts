// Where a capture's messages come from: this window's own connection (peer mode: sent/received, can send), or a
// read-only observer of any channel on the machine (observer mode: both directions, cannot send).
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { observe, watchChannels, type ChannelInfo, type ChannelWatch, type ObservedBatch, type Observer, type ObserverEvent, type Role } from '../../api';
import type { Connection, ConnectionManager } from '../../connections';
import { describeError as describe } from '../../errors';
import type { Capture } from '../shared/capture';
import { CaptureDecoder } from '../shared/captureFormat';
import { readCaptureFile } from './captureFile';
import { isWindowDirection, type CaptureRole, type Direction } from '../shared/model';
import type { CaptureFileSummary, InspectorMode } from '../shared/protocol';

/** What the statistics bar needs from the channel's shared header, per direction as the inspector names them. */
export interface SourceStatus {
  readonly state: string;
  readonly info: ChannelInfo | undefined;
  /** Maps the inspector's directions onto the header's to-client/to-server queues. */
  readonly queueOf: (direction: Direction) => { queued: number; capacity: number } | undefined;
  /** An opened capture file (no live peers): what the statistics bar says instead of them. */
  readonly file?: CaptureFileSummary;
}

export interface CaptureSource extends vscode.Disposable {
  readonly mode: InspectorMode;
  readonly name: string;
  readonly directions: readonly Direction[];
  canSend(): boolean;
  /** This window's role on the channel (peer mode, once open); an observer has none. */
  role(): Role | undefined;
  /**
   * The side the capture's rows were taken from, which the files written of it name (exports, Record to File…):
   * this window's role, or the last one it had (the rows of a connection that closed are still its own), an
   * observer, or what an opened file says; undefined when unknown.
   */
  recordingRole(): CaptureRole | undefined;
  send(data: Uint8Array): Promise<void>;
  maxMessageSize(): number | undefined;
  status(): SourceStatus;
  /** Fires when canSend() or the state may have changed. */
  readonly onDidChange: vscode.Event<void>;
  /** The channel the capture is of, when it is not the panel's name (an opened file's first channel). */
  readonly channel?: string;
  /** An observer's lossless mode (undefined: the source has none). */
  readonly lossless?: boolean;
  setLossless?(on: boolean): Promise<void>;
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
  /** The role of the connection followed last (kept after it closes). */
  private lastRole: Role | undefined;
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

  recordingRole(): Role | undefined {
    return this.connection?.role ?? this.lastRole;
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
      this.lastRole = current.role;
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

/**
 * A read-only observer; when the channel goes away (or is not there yet) it observes it again as soon as the name
 * reappears (the channel watch: inotify on /dev/shm, polling where the OS has no such notice), and says how many
 * messages the new channel carried before it could see them.
 */
export class ObserverSource implements CaptureSource {
  readonly mode = 'observer' as const;
  readonly directions: readonly Direction[] = ['to-server', 'to-client'];
  private observer: Observer | undefined;
  private state = 'starting';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Watches the machine's channels while the name is missing; undefined while observing. */
  private watch: ChannelWatch | undefined;
  private attaching = false;
  /** Observed once already: the next attach is a re-attach (its lost messages are reported). */
  private attachedBefore = false;
  /** After a re-attach: the directions whose first message has not come yet (it tells what went by unseen). */
  private unseenPending = new Set<Direction>();
  /** Switching lossless on or off: the next attach is of the same channel. */
  private switching = false;
  /** After such a switch: the directions whose first message has not come yet (it tells what went by meanwhile). */
  private switchGapPending = new Set<Direction>();
  /** The channel's sequence number of the last message seen, per direction. */
  private readonly lastSequence = new Map<Direction, number>();
  private disposed = false;
  private lastFailure = '';
  /** The row of the last attach, until the holders present then have their rows. */
  private attachRow: HeldAttachRow | undefined;
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    readonly name: string,
    private readonly capture: Capture,
    private readonly log: vscode.LogOutputChannel,
    private readonly retryMs = 2000,
    private losslessMode = false,
  ) {
    this.start();
  }

  /** Lossless observation: the peers never overwrite a message this observer has not copied (see observe()). */
  get lossless(): boolean { return this.losslessMode; }

  /**
   * Switches lossless observation on or off: the observer is closed and attached again in the new mode. Messages
   * that went by during the switch are counted (from the channel's sequence numbers) in a 'missed' row.
   */
  async setLossless(on: boolean): Promise<void> {
    if (on === this.losslessMode) return;
    this.losslessMode = on;
    this.capture.addEvent('lossless', on
      ? 'lossless observation on: the peers wait for this observer before overwriting a message it has not copied (it is dropped if it stalls)'
      : 'lossless observation off: the peers no longer wait for this observer', Date.now());
    this.changeEmitter.fire();
    if (!this.observer) return; // attached in the new mode once the channel is there
    this.switching = true;
    await this.stop();
    await this.attach();
  }

  canSend(): boolean {
    return false;
  }

  role(): undefined {
    return undefined;
  }

  recordingRole(): CaptureRole {
    return 'observer';
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
    this.attachRow?.dispose();
    this.unwatch();
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

  /** Attaches the observer (on a native thread); a failure tries again when the channels change (or after retryMs). */
  private async attach(): Promise<void> {
    if (this.disposed || this.attaching || this.observer) return;
    this.attaching = true;
    try {
      const observer = await observe(this.name, { lossless: this.losslessMode });
      if (this.disposed) {
        await observer.close();
        return;
      }
      this.unwatch();
      this.observer = observer;
      observer.on('batch', (batch: ObservedBatch) => {
        for (let i = 0; i < batch.count; i++) this.onMessage(batch, i);
      });
      observer.on('event', (e: ObserverEvent) => this.onEvent(e));
      observer.on('gone', () => this.onGone(observer));
      observer.on('error', (error: Error) => {
        this.log.error(`inspector: observing ${this.name}: ${describe(error)}`);
        this.capture.addEvent('error', describe(error), Date.now());
      });
      this.state = 'observing';
      this.lastFailure = '';
      const info = this.safeInfo();
      if (this.switching) {
        // The same channel, observed again in the other mode: the first message of each direction tells by its
        // sequence number how many went by in between.
        this.switching = false;
        this.switchGapPending = new Set(this.directions);
      } else {
        const at = Date.now();
        const holders = info ? [info.serverPid, info.clientPid].filter((pid) => pid > 0).length : 0;
        let add: () => void;
        if (this.attachedBefore) {
          // The observer starts at the newest message: what the new channel carried before is lost to it. Its first
          // message of each direction says exactly how much (the channel numbers from 0; see onMessage).
          this.unseenPending = new Set(this.directions);
          add = () => this.capture.addEvent('reattached', 'observer re-attached; the first message of each direction says how many were sent before', at);
        } else {
          const detail = info ? `server pid ${info.serverPid || '—'}, client pid ${info.clientPid || '—'}, state ${info.state}` : 'observer attached';
          add = () => this.capture.addEvent('observing', detail, at);
        }
        this.attachRow?.flush();
        this.attachRow = new HeldAttachRow(add, at, holders);
      }
      this.attachedBefore = true;
      this.log.info(`inspector: observing ${this.name}`);
    } catch (error) {
      const text = describe(error);
      if (text !== this.lastFailure) {
        this.capture.addEvent('not-found', `cannot observe "${this.name}": ${text}; observing it as soon as it appears`, Date.now());
        this.log.warn(`inspector: cannot observe ${this.name}: ${text}`);
        this.lastFailure = text;
      }
      this.state = 'not found';
      this.waitForName();
    } finally {
      this.attaching = false;
    }
    this.changeEmitter.fire();
  }

  /** Tries again whenever the machine's channels change; without a watch, every retryMs. */
  private waitForName(): void {
    if (this.disposed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watch) return; // already waiting: the watch calls attach() at the next change
    try {
      this.watch = watchChannels(() => void this.attach(), { persistent: false });
      // Look once more now: the name may have come back between the failed attach and the watch's start.
      this.retryTimer = setTimeout(() => this.start(), 0);
    } catch (error) {
      this.log.warn(`inspector: watching the channels for ${this.name}: ${describe(error)}; retrying every ${this.retryMs} ms`);
      this.retryTimer = setTimeout(() => this.start(), this.retryMs);
    }
  }

  private unwatch(): void {
    this.watch?.dispose();
    this.watch = undefined;
  }

  private onEvent(e: ObserverEvent): void {
    const at = e.timestampUs / 1000;
    const earlierAttach = this.attachRow?.isEarlierAttach(e.kind, at) ?? false;
    if (!earlierAttach) this.attachRow?.flush();
    this.addPeerEvent(e, at);
    if (earlierAttach) this.attachRow?.holderReported();
  }

  private addPeerEvent(e: ObserverEvent, at: number): void {
    if (e.kind === 'lossless-dropped') {
      this.capture.addEvent(e.kind, `the peers dropped this lossless observer (${e.reason ?? 'invalid'}): messages may be missed`, at);
      return;
    }
    const who = `${e.role ?? 'observer'}${e.pid ? ` pid ${e.pid}` : ' (pid unknown: it came and went between two looks)'}`;
    const what = e.kind === 'attached' ? (e.session > 1 ? `${who} attached (replacing an earlier ${e.role}; attach #${e.session})` : `${who} attached`)
      : e.kind === 'closed' ? `${who} closed the channel`
      : `${who} died without closing (killed or crashed)`;
    this.capture.addEvent(`peer-${e.kind}`, what, at);
  }

  /**
   * Message i of a batch: read from the batch's columns, without the object, Date and Buffer of a 'message'. Its bytes
   * go to the capture as a view of the batch: the capture copies what it keeps out of shared memory (blocks.ts).
   */
  private onMessage(batch: ObservedBatch, i: number): void {
    this.attachRow?.flush();
    const at = batch.timestampsUs[i] / 1000;
    const which = batch.direction(i);
    const sequence = batch.sequences[i];
    const missed = batch.missed[i];
    const discarded = batch.discarded[i];
    const direction = which === 'to-client' ? 'server→client' : 'client→server';
    const last = this.lastSequence.get(which);
    this.lastSequence.set(which, sequence);
    if (this.switchGapPending.delete(which) && last !== undefined) {
      const gap = sequence - last - 1 - missed;
      if (gap > 0) this.capture.addEvent('missed', `${gap} ${direction} message(s) went by while the observer switched mode`, at);
    }
    if (this.unseenPending.delete(which)) {
      // Sequence numbers of the new channel start at 0: all before the first one seen (less what the observer itself
      // missed after it started, reported below) went by before the re-attach.
      const unseen = sequence - missed;
      this.capture.addEvent('reattached', `${unseen} ${direction} message(s) were sent before the observer re-attached`, at);
    }
    if (missed > 0) {
      this.capture.addEvent('missed', `${missed} ${direction} message(s) went by before the observer could copy them`, at);
    }
    if (discarded > 0) {
      this.capture.addEvent('discarded', `${discarded} ${direction} message(s) were discarded unread: addressed to a receiver that had left`, at);
    }
    this.capture.addMessage(which, batch.payload(i), at, batch.lengths[i]);
    if (batch.undeliverable[i] !== 0) {
      this.capture.addEvent('undeliverable', `the ${direction} message above will never be delivered: its addressee left without taking it`, at);
    }
  }

  private onGone(observer: Observer): void {
    if (observer !== this.observer) return;
    this.attachRow?.flush();
    this.capture.addEvent('gone', `channel "${this.name}" was removed`, Date.now());
    this.state = 'gone';
    void this.stop();
    this.changeEmitter.fire();
    this.waitForName();
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

/**
 * The row an observer adds when it attaches ('observing', or 'reattached'), held back until the rows of the holders
 * present at attach are in: those come right after the attach as 'attached' events carrying their real, earlier
 * attach time, and placed after the observer's own row they would show a negative Δ (time since the previous row)
 * and the timeline out of order. The row (stamped with the attach time) is added once every holder the channel
 * named at attach was reported, before any other entry, or after `fallbackMs` (a holder may leave unreported).
 */
export class HeldAttachRow {
  private remaining: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private added = false;

  constructor(private readonly add: () => void, readonly attachedAt: number, holders: number, fallbackMs = 1000) {
    this.remaining = holders;
    if (holders <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), fallbackMs);
  }

  /** Whether an entry stamped `timestamp` is a holder's attach from before the observer's (it goes first). */
  isEarlierAttach(kind: string, timestamp: number): boolean {
    return !this.added && kind === 'attached' && timestamp < this.attachedAt;
  }

  /** Call after adding an earlier holder's attach row: the held row follows the last of them. */
  holderReported(): void {
    if (--this.remaining <= 0) this.flush();
  }

  /** Adds the held row now (before an entry that is not an earlier attach, or when the wait is over). */
  flush(): void {
    if (this.added) return;
    this.added = true;
    if (this.timer) clearTimeout(this.timer);
    this.add();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * An opened capture file (Open Capture…): read once, streamed into the capture (whose retention keeps the newest
 * entries of a large file), read-only. A damaged file keeps what was read before the damage, and an event row and
 * `loaded` say what is wrong.
 */
export class FileSource implements CaptureSource {
  readonly mode = 'file' as const;
  private readonly seenDirections: Direction[] = [];
  private state = 'loading';
  private disposed = false;
  private readonly decoder = new CaptureDecoder();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;
  /** Settles once the whole file was read: rejects with the error of a damaged or unreadable file. */
  readonly loaded: Promise<void>;

  constructor(readonly name: string, private readonly capture: Capture, private readonly log: vscode.LogOutputChannel) {
    this.loaded = this.load();
    this.loaded.catch(() => undefined); // the panel reports it; a caller may also await it
  }

  /** The directions the file holds, in order of appearance. */
  get directions(): readonly Direction[] { return this.seenDirections; }

  /** The file's own channel (its first interface or header channel). */
  get channel(): string | undefined { return this.decoder.channel; }

  canSend(): boolean { return false; }
  role(): undefined { return undefined; }
  recordingRole(): CaptureRole | undefined { return this.decoder.role; }
  send(): Promise<void> {
    return Promise.reject(new Error('an opened capture file is read-only'));
  }
  maxMessageSize(): undefined { return undefined; }

  status(): SourceStatus {
    const role = this.decoder.role;
    return { state: this.state, info: undefined, queueOf: () => undefined, file: { name: basename(this.name), ...(role ? { role } : {}) } };
  }

  dispose(): void {
    this.disposed = true;
    this.changeEmitter.dispose();
  }

  private async load(): Promise<void> {
    let entries = 0;
    try {
      await readCaptureFile(this.name, this.decoder, (batch) => {
        for (const entry of batch) {
          if (entry.kind === 'message' && !this.seenDirections.includes(entry.direction)) {
            this.seenDirections.push(entry.direction);
            this.changeEmitter.fire();
          }
          this.capture.addEntry(entry);
        }
        entries += batch.length;
      }, () => this.disposed);
      if (this.disposed) return;
      const channels = this.decoder.channels;
      this.state = `${entries} entries (${this.decoder.detectedFormat ?? 'empty'})`;
      this.capture.addEvent('opened', `${entries} entries of ${channels.length > 1 ? `the channels ${channels.join(', ')}` : `channel ${channels[0] ?? '?'}`} read from ${this.name}`, Date.now());
      this.log.info(`inspector: opened ${this.name}: ${entries} entries, ${this.decoder.detectedFormat}`);
      if (this.seenDirections.some(isWindowDirection)) {
        // A connection panel's file that names no role (an earlier version's): its rows are that window's view.
        this.capture.addEvent('note', 'sent/received are the recording window\'s own view: this file does not say whether that window was '
          + 'the server or the client (an earlier version wrote it), so `sipc replay` reads sent as client→server', Date.now());
      }
    } catch (error) {
      if (this.disposed) return;
      const text = describe(error);
      this.state = 'damaged';
      this.capture.addEvent('error', `${this.name} cannot be read past entry ${entries}: ${text}`, Date.now());
      this.log.warn(`inspector: ${this.name}: ${text} (after ${entries} entries)`);
      throw new CaptureFileError(this.name, entries, text);
    } finally {
      if (!this.disposed) this.changeEmitter.fire();
    }
  }
}

/** A capture file that is damaged or cannot be read; the entries before the damage are shown. */
export class CaptureFileError extends Error {
  readonly code = 'INVALID_CAPTURE';
  constructor(readonly path: string, readonly entriesRead: number, reason: string) {
    super(`${path} cannot be ${entriesRead > 0 ? `read past entry ${entriesRead}` : 'opened'}: ${reason}`);
    this.name = 'CaptureFileError';
  }
}
