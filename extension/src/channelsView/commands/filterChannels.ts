import * as vscode from 'vscode';
import { stringArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';

/** SIPC: Filter Channels… — shows only the channels whose name contains the text; resolves to the filter set. */
export const filterChannels: SipcCommand = {
  id: 'sipc.filterChannels',
  failure: 'Could not filter the channels',
  async run({ channelsView }, arg): Promise<string | undefined> {
    const text = stringArgument(arg, 'text') ?? await vscode.window.showInputBox({
      title: 'SIPC: Filter Channels',
      prompt: 'Show the channels whose name contains this text (empty: all)',
      value: channelsView.filter,
    });
    if (text === undefined) return undefined;
    channelsView.setFilter(text);
    return channelsView.filter;
  },
};
