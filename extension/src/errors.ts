import * as vscode from 'vscode';
import { SipcError, type SipcErrorCode } from './api';

/** Plain sentences for users, one per stable error code of the API. */
const SENTENCES: Record<SipcErrorCode, string> = {
  TIMEOUT: 'no answer from the other side in time',
  PEER_GONE: 'the other side closed the channel or exited',
  BUSY: 'the channel already has a server and a client; a third process cannot join it',
  TOO_BIG: "the message is larger than the channel's maximum message size",
  CANCELLED: 'the operation was cancelled',
  CLOSED: 'the channel is already closed',
  INVALID_NAME: "channel names are 1 to 200 letters, digits, '.', '_' or '-', and must not start with '.'",
  INVALID_ARGUMENT: 'an option is out of range',
  BUFFER_TOO_SMALL: 'a received message did not fit the receive buffer',
  NOT_FOUND: 'there is no channel of that name',
  CORRUPT: "the channel's shared memory is damaged; remove the channel and connect again",
  VERSION: 'the channel was created by an incompatible version of sipc',
  PERMISSION: 'the operating system refused access to the channel (it may belong to another user)',
  NO_MEMORY: 'the system is out of memory or shared-memory space',
  MISMATCH: 'the channel already exists with a different maximum message size or queue depth',
  NOT_CONNECTED: 'no peer has connected to the channel yet',
  SYSTEM: 'the operating system reported an error',
  NOT_A_CHANNEL: "the channel's name leads to something that is not a sipc channel (e.g. a FIFO another user made); remove it with sipc rm --force",
  LIBRARY_NOT_FOUND: 'the sipc native library for this platform was not found; reinstall the extension',
};

export function isSipcError(error: unknown): error is SipcError {
  return error instanceof SipcError;
}

/** One sentence describing the error, never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof SipcError) {
    const sentence = SENTENCES[error.code] ?? error.message;
    // SYSTEM errors carry the OS detail in the message; the sentence alone would hide it.
    return error.code === 'SYSTEM' && error.message ? `${sentence} (${error.message})` : sentence;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isCancellation(error: unknown): boolean {
  if (error instanceof ActionError) return isCancellation(error.failure);
  return error instanceof SipcError && error.code === 'CANCELLED';
}

/** An error with the action that failed spelled out once it is known, e.g. `Could not connect to "x"`. */
export class ActionError extends Error {
  constructor(
    readonly action: string,
    readonly failure: unknown,
  ) {
    super(`${action}: ${describeError(failure)}`);
    this.name = 'ActionError';
  }
}

/** Logs the full error and shows the user `<action>: <sentence>.` */
export function reportError(log: vscode.LogOutputChannel, defaultAction: string, reported: unknown): void {
  const action = reported instanceof ActionError ? reported.action : defaultAction;
  const error = reported instanceof ActionError ? reported.failure : reported;
  log.error(`${action}: ${error instanceof SipcError ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`);
  void vscode.window.showErrorMessage(`${action}: ${describeError(error)}.`);
}

/** A user-facing failure detected by the extension itself (not by the library). */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserFacingError';
  }
}
