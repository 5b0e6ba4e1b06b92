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
