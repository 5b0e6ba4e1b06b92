import * as vscode from 'vscode';
import { nameArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { describeError, UserFacingError } from '../../errors';
import { pickConnection } from '../../prompts';
import { readSettings } from '../../settings';
import { sendMessages, type SendResult } from '../sendMessages';

/** SIPC: Send Selection — each selection of the active editor is one message, in document order. */
export const sendSelection: SipcCommand = {
  id: 'sipc.sendSelection',
  failure: 'Could not send the selection',
  async run({ connections, messagesPanel, log }, arg): Promise<SendResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) throw new UserFacingError('There is no active editor to send a selection from');
    const connection = await pickConnection(connections, nameArgument(arg), 'Send the selection to which channel?');
    if (!connection) return undefined;
    const { textEncoding } = readSettings();
    // Each selection of a multi-cursor is one message, in document order; an empty one sends its line.
    const selections = [...editor.selections].sort((a, b) => a.start.compareTo(b.start));
    const messages = selections.map((selection) => {
      const text = selection.isEmpty ? editor.document.lineAt(selection.active.line).text : editor.document.getText(selection);
      return Buffer.from(text, textEncoding);
    });
    // The peer's answer shows in the messages panel: say so, and show the panel (sipc.messagesPanel.revealOnSend).
    const reveal = vscode.workspace.getConfiguration('sipc.messagesPanel').get<boolean>('revealOnSend', true);
    const result = await sendMessages(connection, messages, 'Selection',
      reveal ? 'answers appear in the SIPC panel below' : 'answers appear in the SIPC panel (SIPC: Show Messages Panel)');
    // Shown without waiting for it: the send is done, whatever the panel takes to appear.
    if (reveal) void messagesPanel.reveal(true).then(undefined, (error: unknown) => log.warn(`Could not show the SIPC panel: ${describeError(error)}`));
    return result;
  },
};
