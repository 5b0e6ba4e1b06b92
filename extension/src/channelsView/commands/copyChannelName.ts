import * as vscode from 'vscode';
import { nameArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';

/** Copy Channel Name (the view's context menu). */
export const copyChannelName: SipcCommand = {
  id: 'sipc.copyChannelName',
  failure: 'Could not copy the name',
  async run(_services, arg): Promise<string | undefined> {
    const name = nameArgument(arg);
    if (name === undefined) return undefined;
    await vscode.env.clipboard.writeText(name);
    return name;
  },
};
