// The one way this window's commands and the inspector send: size checks first, messages in order, a failure
// says how many went out before it and why a TIMEOUT happened.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SipcError, type ChannelState } from '../api';
import type { Connection } from '../connections';
import { ActionError, UserFacingError } from '../errors';
import { formatBytes } from '../format';
import { readSettings } from '../settings';

export interface SendResult {
  readonly name: string;
  readonly messages: number;
  readonly bytes: number;
}

/** A send TIMEOUT means either no peer came or the peer stopped reading: say which. */
function sendTimeoutReason(connection: Connection, stateBefore: ChannelState, error: unknown): string | undefined {
  if (!(error instanceof SipcError) || error.code !== 'TIMEOUT') return undefined;
  const seconds = Math.round(readSettings().sendTimeoutMs / 1000);
  if (stateBefore !== 'connected') {
    const peer = connection.role === 'server' ? 'client' : 'server';
    return `no ${peer} connected within ${seconds} s (sipc.sendTimeoutSeconds), so nothing was sent`;
  }
  return `the peer did not take messages for ${seconds} s (sipc.sendTimeoutSeconds) and the queue stayed full, so nothing more was sent`;
}

/**
 * Sends messages in order; on failure says how many went out before it. `what` names them in errors ("Selection");
 * `answers`, if given, ends the confirmation by saying where the peer's answer can be seen.
 */
export async function sendMessages(connection: Connection, messages: readonly Uint8Array[], what: string, answers?: string): Promise<SendResult> {
  const max = connection.maxMessageSize;
  messages.forEach((message, index) => {
    if (message.byteLength > max) {
      const which = messages.length > 1 ? `${what} ${index + 1} of ${messages.length}` : what;
      throw new UserFacingError(
        `${which} is ${formatBytes(message.byteLength)}; "${connection.name}" accepts at most ${formatBytes(max)} per message. Nothing was sent`,
      );
    }
  });
  let bytes = 0;
  for (const [index, message] of messages.entries()) {
    const stateBefore = connection.state;
    try {
      await connection.send(message);
    } catch (error) {
      const timedOut = sendTimeoutReason(connection, stateBefore, error);
      const failure = timedOut ? new UserFacingError(timedOut) : error;
      if (index === 0) throw new ActionError(`Could not send to "${connection.name}"`, failure);
      throw new ActionError(`Sent ${index} of ${messages.length} messages to "${connection.name}", then`, failure);
    }
    bytes += message.byteLength;
  }
  const count = messages.length === 1 ? '1 message' : `${messages.length} messages`;
  vscode.window.setStatusBarMessage(`$(check) SIPC: sent ${count} (${formatBytes(bytes)}) to ${connection.name}${answers ? ` — ${answers}` : ''}`, answers ? 8000 : 4000);
  return { name: connection.name, messages: messages.length, bytes };
}

/**
 * Sends a file as one message; without a uri the user picks one. Resolves undefined if the user cancelled.
 * The size is checked before reading, so a huge file is refused without loading it.
 */
export async function sendFile(connection: Connection, uri: vscode.Uri | undefined): Promise<SendResult | undefined> {
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      title: `SIPC: Send File to "${connection.name}" (at most ${formatBytes(connection.maxMessageSize)})`,
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: false,
      openLabel: 'Send',
    });
    if (!picked || picked.length === 0) return undefined;
    uri = picked[0];
  }
  const fileName = path.basename(uri.path);
  const tooBig = (size: number) =>
    new UserFacingError(
      `"${fileName}" is ${formatBytes(size)}; "${connection.name}" accepts at most ${formatBytes(connection.maxMessageSize)} per message. Nothing was sent`,
    );
  const info = await vscode.workspace.fs.stat(uri);
  if (info.type & vscode.FileType.Directory) throw new UserFacingError(`"${fileName}" is a folder, not a file`);
  if (info.size > connection.maxMessageSize) throw tooBig(info.size);
  const data = await vscode.workspace.fs.readFile(uri);
  if (data.byteLength > connection.maxMessageSize) throw tooBig(data.byteLength);
  return sendMessages(connection, [data], `"${fileName}"`);
}
