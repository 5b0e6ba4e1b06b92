import * as vscode from 'vscode';
import { SIPC_MAX_MESSAGE_LIMIT, SIPC_MAX_QUEUE_DEPTH } from './api/abi';

/** Text encodings offered for text sends; each is a Node Buffer encoding. */
export const TEXT_ENCODINGS = ['utf8', 'utf16le', 'latin1'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** Limits of the C library (generated from sipc.h), to validate user input before it reaches the library. */
export const MAX_MESSAGE_SIZE_LIMIT = SIPC_MAX_MESSAGE_LIMIT;
export const MAX_QUEUE_DEPTH = SIPC_MAX_QUEUE_DEPTH;

export interface SipcSettings {
  readonly defaultMaxMessageSize: number;
  readonly defaultQueueDepth: number;
  /** 0 means wait for the peer until the user cancels. */
  readonly connectTimeoutMs: number;
  /** 0 means a send blocks on a full queue until the peer makes room. */
  readonly sendTimeoutMs: number;
  readonly textEncoding: TextEncoding;
  readonly receivedMessagesToKeep: number;
}

function clampInteger(value: unknown, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/** Reads the `sipc.*` settings afresh; values out of range are clamped, unknown ones fall back to defaults. */
export function readSettings(): SipcSettings {
  const config = vscode.workspace.getConfiguration('sipc');
  const encoding = config.get<string>('textEncoding');
  return {
    defaultMaxMessageSize: clampInteger(config.get('defaultMaxMessageSize'), 64 * 1024, 1, MAX_MESSAGE_SIZE_LIMIT),
    defaultQueueDepth: clampInteger(config.get('defaultQueueDepth'), 16, 1, MAX_QUEUE_DEPTH),
    connectTimeoutMs: clampInteger(config.get('connectTimeoutSeconds'), 30, 0, 24 * 3600) * 1000,
    sendTimeoutMs: clampInteger(config.get('sendTimeoutSeconds'), 10, 0, 24 * 3600) * 1000,
    textEncoding: (TEXT_ENCODINGS as readonly string[]).includes(encoding ?? '') ? (encoding as TextEncoding) : 'utf8',
    receivedMessagesToKeep: clampInteger(config.get('receivedMessagesToKeep'), 1000, 0, 100_000),
  };
}
