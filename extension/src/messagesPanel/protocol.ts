// Messages between the extension host and the SIPC messages panel (the webview view in the bottom panel): the
// host pushes the connections and their lines, the page asks to send and notifies the rest. Pure; both sides
// import it, and the host validates every envelope it receives with parseMessagesEnvelope.
import type { Envelope, ReplyEnvelope } from '../inspector/shared/messaging';

/** One message as the panel shows it: text, or hex when the bytes are not printable UTF-8. */
export interface StreamLine {
  readonly seq: number;
  /** Milliseconds since the Unix epoch (fractional: microseconds). */
  readonly t: number;
  readonly dir: 'sent' | 'received';
  readonly len: number;
  readonly kind: 'text' | 'hex';
  readonly text: string;
}

export interface ConnectionSummary {
  readonly name: string;
  readonly role: 'server' | 'client';
  readonly state: string;
}

export type PanelSendFormat = 'text' | 'hex';

export type MessagesPanelRequests = {
  /** The page is up: the host then pushes the connections and every connection's lines. */
  ready: { request: { readonly type: 'ready' }; reply: Record<string, never> };
  send: {
    request: { readonly type: 'send'; readonly name: string; readonly format: PanelSendFormat; readonly input: string };
    reply: { readonly ok: true } | { readonly ok: false; readonly message: string };
  };
};

export type MessagesPanelRequest = MessagesPanelRequests[keyof MessagesPanelRequests]['request'];
export type MessagesPanelReply = MessagesPanelRequests[keyof MessagesPanelRequests]['reply'];

export type MessagesPanelNotification =
  | { readonly type: 'openInspector'; readonly name: string }
  | { readonly type: 'connect' }
  | { readonly type: 'clear'; readonly name: string };

export type MessagesPanelToHost = MessagesPanelRequest | MessagesPanelNotification;

export type HostToMessagesPanel =
  | { readonly type: 'connections'; readonly connections: readonly ConnectionSummary[] }
  /** `reset`: these are all the lines the host keeps for the connection; otherwise they follow the ones sent before. */
  | { readonly type: 'lines'; readonly name: string; readonly lines: readonly StreamLine[]; readonly reset: boolean;
      /** Messages that arrived before these lines and are not shown (a flood: at most MAX_LINES_PER_POST a post). */
      readonly skipped?: number };

export type MessagesPanelEnvelope = Envelope<MessagesPanelToHost>;
export type HostToMessagesPanelEnvelope = Envelope<HostToMessagesPanel> | ReplyEnvelope<MessagesPanelReply>;

export function isMessagesPanelRequest(message: MessagesPanelToHost): message is MessagesPanelRequest {
  return message.type === 'ready' || message.type === 'send';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Validates a message from the page; undefined for anything malformed. */
export function parseMessagesPanelMessage(value: unknown): MessagesPanelToHost | undefined {
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'ready':
    case 'connect':
      return { type: value.type };
    case 'openInspector':
    case 'clear':
      return typeof value.name === 'string' ? { type: value.type, name: value.name } : undefined;
    case 'send':
      return typeof value.name === 'string' && typeof value.input === 'string' && (value.format === 'text' || value.format === 'hex')
        ? { type: 'send', name: value.name, format: value.format, input: value.input } : undefined;
    default:
      return undefined;
  }
}

export function parseMessagesPanelEnvelope(value: unknown): MessagesPanelEnvelope | undefined {
  if (!isRecord(value) || typeof value.messageId !== 'number' || !Number.isInteger(value.messageId)) return undefined;
  const body = parseMessagesPanelMessage(value.body);
  return body ? { messageId: value.messageId, body } : undefined;
}
