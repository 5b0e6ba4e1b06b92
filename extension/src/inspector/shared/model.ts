// Shapes of what the inspector captures. Pure: no `vscode` import, shared by the extension host, the webview
// bundle, the unit tests and the benchmark.

/** Peer mode sees its own traffic as sent/received; observer mode sees both directions of someone else's channel. */
export type Direction = 'sent' | 'received' | 'to-client' | 'to-server';

export const DIRECTIONS: readonly Direction[] = ['sent', 'received', 'to-client', 'to-server'];

export function isDirection(value: unknown): value is Direction {
  return typeof value === 'string' && (DIRECTIONS as readonly string[]).includes(value);
}

/** Outbound from the inspected side's point of view: what pcapng calls "outbound" and the UI draws as an up arrow. */
export function isOutbound(direction: Direction): boolean {
  return direction === 'sent' || direction === 'to-server';
}

export function directionLabel(direction: Direction): string {
  switch (direction) {
    case 'sent': return 'sent';
    case 'received': return 'received';
    case 'to-client': return 'server→client';
    case 'to-server': return 'client→server';
  }
}

/** A connection's side (the channel API's Role, repeated here to keep this module free of the native API). */
export type PeerRole = 'server' | 'client';
/** The side a capture was taken from, as a file names it: an observer, or a connection panel's window as that peer. */
export type CaptureRole = PeerRole | 'observer';

export function isCaptureRole(value: unknown): value is CaptureRole {
  return value === 'server' || value === 'client' || value === 'observer';
}

/**
 * A connection panel's own direction ('sent'/'received') as the channel's, given the window's role (a server sends
 * server→client); the channel's directions come back as they are.
 */
export function channelDirection(direction: Direction, role: PeerRole): Direction {
  if (direction === 'sent') return role === 'server' ? 'to-client' : 'to-server';
  if (direction === 'received') return role === 'server' ? 'to-server' : 'to-client';
  return direction;
}

/** Whether a direction is a connection panel's own view (sent/received), which needs the window's role to place. */
export function isWindowDirection(direction: Direction): boolean {
  return direction === 'sent' || direction === 'received';
}

export interface CapturedMessage {
  readonly kind: 'message';
  /** Position in the capture, contiguous from 0 across messages and events; never reused after clear. */
  readonly seq: number;
  readonly direction: Direction;
  /** Wall clock, milliseconds since the Unix epoch (fractional part carries sub-millisecond precision). */
  readonly timestamp: number;
  /** Length of the message as sent; larger than data.length when an observer could copy only a prefix. */
  readonly length: number;
  readonly data: Uint8Array;
  /**
   * The channel, when it is not the capture's own (an opened recording of `sipc record A B` shows A's entries without
   * it and B's with it); absent in a live panel.
   */
  readonly channel?: string;
}

/** Something that happened to the channel rather than a message: state changes, a dead peer, lost messages. */
export interface CapturedEvent {
  readonly kind: 'event';
  readonly seq: number;
  readonly timestamp: number;
  /** Stable short name, e.g. 'connected', 'peer-gone', 'missed', 'error', 'cleared'. */
  readonly event: string;
  readonly detail: string;
  /** As CapturedMessage.channel. */
  readonly channel?: string;
}

export type CaptureEntry = CapturedMessage | CapturedEvent;

/** Bytes an entry keeps alive, for the retention limit: payload plus a fixed overhead per entry. */
export function retainedSize(entry: CaptureEntry): number {
  const overhead = 96;
  return entry.kind === 'message' ? overhead + entry.data.byteLength : overhead + 2 * (entry.event.length + entry.detail.length);
}
