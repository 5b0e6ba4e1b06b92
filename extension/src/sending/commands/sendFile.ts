import * as vscode from 'vscode';
import { argumentValue, nameArgument, stringArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { pickConnection } from '../../prompts';
import { sendFile as sendFileTo, type SendResult } from '../sendMessages';

export const SEND_FILE_COMMAND = 'sipc.sendFile';

/**
 * SIPC: Send File… — a file as one message. Takes a Uri (the explorer's context menu), `{ name, uri }` or
 * `{ name, path }`; without one the user picks the file. The inspector's send box uses it too.
 */
export const sendFile: SipcCommand = {
  id: SEND_FILE_COMMAND,
  failure: 'Could not send the file',
  async run({ connections }, arg): Promise<SendResult | undefined> {
    const connection = await pickConnection(connections, nameArgument(arg), 'Send the file to which channel?');
    if (!connection) return undefined;
    const given = argumentValue(arg, 'uri');
    let uri = arg instanceof vscode.Uri ? arg : given instanceof vscode.Uri ? given : undefined;
    const givenPath = stringArgument(arg, 'path');
    if (!uri && givenPath !== undefined) uri = vscode.Uri.file(givenPath);
    return sendFileTo(connection, uri);
  },
};
