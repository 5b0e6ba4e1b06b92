import * as vscode from 'vscode';
import { nameArgument, stringArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { formatBytes } from '../../format';
import { pickConnection } from '../../prompts';
import { readSettings } from '../../settings';
import { sendMessages, type SendResult } from '../sendMessages';

/** SIPC: Send Text… — one message typed into an input box (or given as `{ text }`). */
export const sendText: SipcCommand = {
  id: 'sipc.sendText',
  failure: 'Could not send the text',
  async run({ connections }, arg): Promise<SendResult | undefined> {
    const connection = await pickConnection(connections, nameArgument(arg), 'Send text to which channel?');
    if (!connection) return undefined;
    const { textEncoding } = readSettings();
    let text = stringArgument(arg, 'text');
    if (text === undefined) {
      text = await vscode.window.showInputBox({
        title: `SIPC: Send Text to "${connection.name}"`,
        prompt: `One message, encoded as ${textEncoding} (sipc.textEncoding)`,
        validateInput: (value) => {
          const size = Buffer.byteLength(value, textEncoding);
          return size > connection.maxMessageSize
            ? `${formatBytes(size)} is more than the channel's maximum of ${formatBytes(connection.maxMessageSize)}`
            : undefined;
        },
      });
      if (text === undefined) return undefined;
    }
    return sendMessages(connection, [Buffer.from(text, textEncoding)], 'The text');
  },
};
