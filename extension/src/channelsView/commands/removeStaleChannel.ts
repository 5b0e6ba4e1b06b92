import * as vscode from 'vscode';
import { remove, stat, validateName } from '../../api';
import { nameArgument } from '../../commands/arguments';
import type { CommandServices, SipcCommand } from '../../commands/command';
import { describeError, UserFacingError } from '../../errors';
import { describeCreated, formatBytes } from '../../format';
import { listChannelsQuietly } from '../../prompts';

/** The named stale channel, or the stale channels the user picks; undefined if the user picked none. */
async function staleChannelsToRemove(arg: unknown, log: vscode.LogOutputChannel): Promise<string[] | undefined> {
  const name = nameArgument(arg);
  if (name !== undefined) {
    validateName(name);
    const info = await stat(name);
    if (info.state !== 'stale') {
      const alive = [info.serverAlive ? `server pid ${info.serverPid}` : '', info.clientAlive ? `client pid ${info.clientPid}` : '']
        .filter(Boolean)
        .join(', ');
      throw new UserFacingError(`"${name}" is still in use${alive ? ` (${alive})` : ''}; only stale channels can be removed`);
    }
    return [name];
  }
  const stale = (await listChannelsQuietly(log)).filter((info) => info.state === 'stale');
  if (stale.length === 0) throw new UserFacingError('There are no stale channels on this machine');
  const picked = await vscode.window.showQuickPick(
    stale.map((info) => ({
      label: info.name,
      description: `last server pid ${info.serverPid || 'none'} · ${describeCreated(info.created)}`,
      detail: `${info.toClient.queued + info.toServer.queued} undelivered message(s) · max message ${formatBytes(info.maxMessageSize)}`,
    })),
    { title: 'SIPC: Remove Stale Channels', placeHolder: 'Nobody alive is attached to these; pick the ones to remove', canPickMany: true },
  );
  if (!picked || picked.length === 0) return undefined;
  return picked.map((item) => item.label);
}

/**
 * Removes the named stale channels one by one (the library refuses, BUSY, one that a process attached to since it
 * was listed); says what was removed, and throws with every failure. The one removal path of the view's commands.
 */
export async function removeStale(names: readonly string[], { channelsView, log }: CommandServices): Promise<string[]> {
  const removed: string[] = [];
  const failures: string[] = [];
  for (const staleName of names) {
    try {
      await remove(staleName, false);
      removed.push(staleName);
      log.info(`${staleName}: removed stale channel`);
    } catch (error) {
      log.error(`${staleName}: removing failed: ${describeError(error)}`);
      failures.push(`"${staleName}": ${describeError(error)}`);
    }
  }
  await channelsView.refresh();
  if (failures.length > 0) {
    throw new UserFacingError(`${removed.length > 0 ? `Removed ${removed.length}; ` : ''}could not remove ${failures.join('; ')}`);
  }
  const what = removed.length === 1 ? `stale channel ${removed[0]}` : `${removed.length} stale channels`;
  vscode.window.setStatusBarMessage(`$(trash) SIPC: removed ${what}`, 4000);
  return removed;
}

/** SIPC: Remove Stale Channel — removes the named stale channel, or the stale channels the user picks (several at once). */
export const removeStaleChannel: SipcCommand = {
  id: 'sipc.removeStaleChannel',
  failure: 'Could not remove the stale channel',
  async run(services, arg): Promise<string[] | undefined> {
    const names = await staleChannelsToRemove(arg, services.log);
    if (!names) return undefined;
    return removeStale(names, services);
  },
};
