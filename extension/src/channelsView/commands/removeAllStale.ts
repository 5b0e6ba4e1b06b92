import * as vscode from 'vscode';
import { argumentValue } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { UserFacingError } from '../../errors';
import { removeStale } from './removeStaleChannel';

/**
 * SIPC: Remove All Stale Channels — after one confirmation, every stale channel the view shows: all of them, or
 * the ones matching the view's filter.
 */
export const removeAllStale: SipcCommand = {
  id: 'sipc.removeAllStale',
  failure: 'Could not remove the stale channels',
  async run(services, arg): Promise<string[] | undefined> {
    await services.channelsView.refresh();
    const filter = services.channelsView.filter;
    const stale = (services.channelsView.shownGroups.find((g) => g.group === 'stale')?.children ?? []).map((n) => n.name);
    if (stale.length === 0) {
      throw new UserFacingError(filter ? `No stale channel matches the filter "${filter}"` : 'There are no stale channels on this machine');
    }
    // `{ confirm: false }` (tests, keybindings) skips the question.
    if (argumentValue(arg, 'confirm') !== false) {
      const remove = `Remove ${stale.length}`;
      const answer = await vscode.window.showWarningMessage(
        `Remove ${stale.length === 1 ? 'the stale channel' : `all ${stale.length} stale channels`}? Nobody alive is attached to ${stale.length === 1 ? 'it' : 'them'}.`,
        { modal: true, detail: stale.slice(0, 20).join('\n') + (stale.length > 20 ? `\n… and ${stale.length - 20} more` : '') },
        remove,
      );
      if (answer !== remove) return undefined;
    }
    return removeStale(stale, services);
  },
};
