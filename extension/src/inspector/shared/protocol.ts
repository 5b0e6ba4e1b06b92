// Messages between the extension host and the inspector webview: requests with typed replies (correlated by
// messageId/inReplyTo, see messaging.ts), notifications, and the host's pushes. Pure; both sides import these
// types, and the host validates every envelope it receives with parseWebviewEnvelope.
import type { WireDecoded } from './decoded';
import type { PlotPush } from './plot';
import type { RowBatch } from './rowBatch';
import type { FormField } from '../../decode/encoder';
import type { FilterSpec } from './filter';
import type { Envelope, ReplyEnvelope } from './messaging';
import { isDirection, type CaptureRole, type Direction } from './model';

/** A panel of this window's connection, a read-only observer of any channel, or an opened capture file (offline). */
export type InspectorMode = 'peer' | 'observer' | 'file';

export interface RowSummary {
  readonly seq: number;
  /** Milliseconds since the Unix epoch. */
  readonly t: number;
  /** Milliseconds since the previous captured entry, if that one is still retained. */
  readonly delta: number | undefined;
  readonly kind: 'message' | 'event';
  readonly dir?: Direction;
  readonly len: number;
  /** Bytes held; less than len when an observer saw a truncated copy. */
  readonly captured: number;
  readonly preview: string;
  readonly event?: string;
  /** Set when the filter highlights instead of hiding: whether this row matches it. */
  readonly match?: boolean;
  /** The decoded columns the user picked (a channel with a schema): one value per column, in their order, as the
   * field tree shows it; '—' where the message has no such field. */
  readonly fields?: readonly string[];
  /** The channel, in an opened recording of several channels, when it is not the panel's own. */
  readonly channel?: string;
}

export interface DirectionStats {
  readonly direction: Direction;
  readonly messages: number;
  readonly bytes: number;
  readonly messagesPerSecond: number;
  readonly bytesPerSecond: number;
  /** Queue fill from the channel's shared header; absent when unknown. */
  readonly queued?: number;
  readonly capacity?: number;
}

export interface CaptureFileSummary {
  readonly name: string;
  readonly role?: CaptureRole;
}

export interface StatsSnapshot {
  readonly state: string;
  readonly directions: readonly DirectionStats[];
  readonly serverPid?: number;
  readonly clientPid?: number;
  /** The holders as "4242 node", with "· paused in debugger" / "· stopped" when halted. */
  readonly serverProcess?: string;
  readonly clientProcess?: string;
  /** Set while a holder is alive but halted: "server paused in debugger", "client stopped". */
  readonly halted?: string;
  readonly serverAlive?: boolean;
  readonly clientAlive?: boolean;
  /** An opened capture file, which has no live peers: its name and the side it was recorded from, when it says. */
  readonly file?: CaptureFileSummary;
  readonly maxMessageSize?: number;
  readonly retained: number;
  readonly retainedBytes: number;
  readonly dropped: number;
  readonly maxMessages: number;
}

export type SendFormat = 'text' | 'hex' | 'base64';
export type LineEnding = 'none' | 'lf' | 'crlf';
export type CopyFormat = 'text' | 'hex' | 'base64';
export type EditorFormat = 'text' | 'hex' | 'json';
export type ExportFormat = 'jsonl' | 'pcapng';

/** A message as the extension host shows it: the detail pane's bytes, or why there are none. */
export type DetailReply =
  | { readonly found: true; readonly data: Uint8Array; readonly length: number; readonly row: RowSummary;
      /** The message decoded with the channel's schema, when it has one. */
      readonly decoded?: WireDecoded }
  | { readonly found: false };

export type SendReply = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * Every request the webview makes and the reply the host gives to it. The host must answer each request exactly
 * once (InspectorSession's handlers are typed against this map); the webview awaits the answer.
 */
export type InspectorRequests = {
  /** The page is up: the host then pushes 'target', a 'reset' and 'stats'; the reply says whether the list is paused. */
  ready: { request: { readonly type: 'ready' }; reply: { readonly paused: boolean } };
  select: { request: { readonly type: 'select'; readonly seq: number }; reply: DetailReply };
  /** The reply carries the reason an invalid filter was refused (the previous one then stays in effect). */
  filter: { request: { readonly type: 'filter'; readonly spec: FilterSpec }; reply: { readonly error?: string } };
  pause: { request: { readonly type: 'pause'; readonly paused: boolean }; reply: { readonly paused: boolean } };
  /** Plot these decoded fields over time (none: stop); the host then pushes 'plot' columns. */
  plot: { request: { readonly type: 'plot'; readonly paths: readonly string[] }; reply: { readonly error?: string } };
  /** The send form of the channel's schema: its message types and the inputs of one (the first when none is named). */
  form: {
    request: { readonly type: 'form'; readonly messageType?: string };
    reply: { readonly types: readonly string[]; readonly messageType?: string; readonly fields: readonly FormField[];
      readonly defaults: Readonly<Record<string, string>>; readonly error?: string };
  };
  /** Encodes the form's values; the page then sends the hex through the send box (one history for all). */
  encode: {
    request: { readonly type: 'encode'; readonly messageType: string; readonly values: Readonly<Record<string, string>> };
    reply: { readonly hex?: string; readonly error?: string };
  };
  /** Lossless observation on or off (observer panels); the reply says the mode in effect. */
  lossless: { request: { readonly type: 'lossless'; readonly on: boolean }; reply: { readonly lossless: boolean; readonly error?: string } };
  /** Decoded fields shown as a column of the list (none: no column); the host then resets the rows. */
  columns: { request: { readonly type: 'columns'; readonly paths: readonly string[] }; reply: { readonly error?: string } };
  send: {
    request: { readonly type: 'send'; readonly format: SendFormat; readonly input: string; readonly lineEnding: LineEnding };
    reply: SendReply;
  };
};

export type InspectorRequest = InspectorRequests[keyof InspectorRequests]['request'];
export type InspectorReply = InspectorRequests[keyof InspectorRequests]['reply'];
/** The reply type of one request type. */
export type ReplyTo<R extends InspectorRequest> = InspectorRequests[R['type']]['reply'];

/** What the webview tells the host without waiting for an answer (failures are the host's to report). */
export type InspectorNotification =
  | { readonly type: 'clear' }
  | { readonly type: 'sendFile' }
  | { readonly type: 'copy'; readonly seq: number; readonly format: CopyFormat; readonly start?: number; readonly end?: number }
  | { readonly type: 'openInEditor'; readonly seq: number; readonly format: EditorFormat }
  | { readonly type: 'saveBytes'; readonly seq: number }
  | { readonly type: 'export'; readonly format: ExportFormat; readonly filtered: boolean }
  /** Record to File… for this panel (the host asks where), or stop its recording. */
  | { readonly type: 'record' }
  | { readonly type: 'stopRecording' };

export type WebviewToHost = InspectorRequest | InspectorNotification;

/** What the host pushes on its own: the inspected channel, the rows to show, the statistics. */
export type HostToWebview =
  | { readonly type: 'target'; readonly name: string; readonly mode: InspectorMode; readonly canSend: boolean;
      /** This window's role on the channel (peer mode, once open). */
      readonly role?: 'server' | 'client';
      /** Changes when the capture is a new one (after a reload): seqs then mean other messages. */
      readonly captureId: string;
      /** The directions the filter offers (an opened file's; else the mode's). */
      readonly directions?: readonly Direction[];
      /** The panel's restore spill, kept in the webview state so a restored panel finds its earlier messages. */
      readonly spillId?: string;
      /** An observer panel's lossless mode (absent: the panel cannot observe losslessly). */
      readonly lossless?: boolean }
  /** The list's rows, column by column (rowBatch.ts): all of them (reset), or the new ones (append). */
  | { readonly type: 'reset'; readonly rows: RowBatch; readonly firstSeq: number; readonly dropped: number; readonly retained: number }
  | { readonly type: 'append'; readonly rows: RowBatch; readonly firstSeq: number; readonly dropped: number; readonly retained: number }
  | { readonly type: 'stats'; readonly stats: StatsSnapshot }
  /** The panel's recording: the file it goes to, or none. */
  | { readonly type: 'recording'; readonly file?: string }
  /** The channel's schema (.sipc/channels.json): what messages decode as, or why the schema could not be loaded. */
  | { readonly type: 'schema'; readonly description?: string; readonly source?: string; readonly error?: string;
      /** The schema can encode messages (C structs): the send box offers its form. */
      readonly form?: boolean }
  | PlotPush;

/** Fields one plot (or the list's decoded column) shows at most. */
export const MAX_PLOTTED_FIELDS = 8;

const REQUEST_TYPES: ReadonlySet<string> = new Set<keyof InspectorRequests>(['ready', 'select', 'filter', 'pause', 'send', 'plot', 'form', 'encode', 'columns', 'lossless']);

export function isRequest(message: WebviewToHost): message is InspectorRequest {
  return REQUEST_TYPES.has(message.type);
}

/** The webview's envelope: every message is numbered, so that the reply to a request can name it. */
export type WebviewEnvelope = Envelope<WebviewToHost>;
/** The host's envelope: a push, or (with inReplyTo) the reply to a request. */
export type HostEnvelope = Envelope<HostToWebview> | ReplyEnvelope<InspectorReply>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
function oneOf<T extends string>(value: unknown, options: readonly T[]): value is T {
  return typeof value === 'string' && (options as readonly string[]).includes(value);
}

function parseFilterSpec(value: unknown): FilterSpec | undefined {
  if (!isRecord(value)) return undefined;
  const directions = Array.isArray(value.directions) ? value.directions.filter(isDirection) : undefined;
  return {
    directions,
    text: typeof value.text === 'string' ? value.text : undefined,
    hex: typeof value.hex === 'string' ? value.hex : undefined,
    minSize: optionalNumber(value.minSize),
    maxSize: optionalNumber(value.maxSize),
    events: typeof value.events === 'boolean' ? value.events : undefined,
    highlight: typeof value.highlight === 'boolean' ? value.highlight : undefined,
    ...(typeof value.fields === 'string' ? { fields: value.fields } : {}),
  };
}

/** Validates a message from the webview; undefined for anything malformed. */
export function parseWebviewMessage(value: unknown): WebviewToHost | undefined {
  if (!isRecord(value) || typeof value.type !== 'string') return undefined;
  switch (value.type) {
    case 'ready':
    case 'clear':
    case 'sendFile':
    case 'record':
    case 'stopRecording':
      return { type: value.type };
    case 'filter': {
      const spec = parseFilterSpec(value.spec);
      return spec ? { type: 'filter', spec } : undefined;
    }
    case 'select':
    case 'saveBytes':
      return isSeq(value.seq) ? { type: value.type, seq: value.seq } : undefined;
    case 'form':
      return value.messageType === undefined || (typeof value.messageType === 'string' && value.messageType.length <= 256)
        ? { type: 'form', ...(typeof value.messageType === 'string' ? { messageType: value.messageType } : {}) } : undefined;
    case 'encode': {
      if (typeof value.messageType !== 'string' || !isRecord(value.values)) return undefined;
      const entries = Object.entries(value.values);
      if (entries.length > 4096 || !entries.every(([, v]) => typeof v === 'string')) return undefined;
      return { type: 'encode', messageType: value.messageType, values: Object.fromEntries(entries) as Record<string, string> };
    }
    case 'columns':
      return Array.isArray(value.paths) && value.paths.length <= MAX_PLOTTED_FIELDS
        && value.paths.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 256)
        ? { type: 'columns', paths: value.paths as string[] } : undefined;
    case 'plot':
      return Array.isArray(value.paths) && value.paths.length <= MAX_PLOTTED_FIELDS
        && value.paths.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 256)
        ? { type: 'plot', paths: value.paths as string[] } : undefined;
    case 'pause':
      return typeof value.paused === 'boolean' ? { type: 'pause', paused: value.paused } : undefined;
    case 'lossless':
      return typeof value.on === 'boolean' ? { type: 'lossless', on: value.on } : undefined;
    case 'send':
      return oneOf(value.format, ['text', 'hex', 'base64'] as const) && typeof value.input === 'string'
        && oneOf(value.lineEnding, ['none', 'lf', 'crlf'] as const)
        ? { type: 'send', format: value.format, input: value.input, lineEnding: value.lineEnding } : undefined;
    case 'copy':
      if (!isSeq(value.seq) || !oneOf(value.format, ['text', 'hex', 'base64'] as const)) return undefined;
      return { type: 'copy', seq: value.seq, format: value.format,
        start: isSeq(value.start) ? value.start : undefined, end: isSeq(value.end) ? value.end : undefined };
    case 'openInEditor':
      return isSeq(value.seq) && oneOf(value.format, ['text', 'hex', 'json'] as const)
        ? { type: 'openInEditor', seq: value.seq, format: value.format } : undefined;
    case 'export':
      return oneOf(value.format, ['jsonl', 'pcapng'] as const) && typeof value.filtered === 'boolean'
        ? { type: 'export', format: value.format, filtered: value.filtered } : undefined;
    default:
      return undefined;
  }
}

/** Validates an envelope from the webview; undefined for anything malformed. */
export function parseWebviewEnvelope(value: unknown): WebviewEnvelope | undefined {
  if (!isRecord(value) || !isSeq(value.messageId)) return undefined;
  const body = parseWebviewMessage(value.body);
  return body ? { messageId: value.messageId, body } : undefined;
}
