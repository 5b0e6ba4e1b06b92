import { validateName } from '../../../api';
import { nameArgument } from '../../../commands/arguments';
import type { SipcCommand } from '../../../commands/command';
import { listChannelsQuietly, pickChannel } from '../../../prompts';
import { requireInspector } from './requireInspector';

/** SIPC: Inspect Channel… — a read-only observer of any channel on the machine. */
export const inspectChannel: SipcCommand = {
  id: 'sipc.inspectChannel',
  failure: 'Could not inspect the channel',
  async run(services, arg): Promise<string | undefined> {
    const api = requireInspector(services);
    let name = nameArgument(arg);
    if (name === undefined) {
      const picked = await pickChannel(
        await listChannelsQuietly(services.log),
        'Observe which channel? (read-only: its traffic is not consumed)',
        'There are no sipc channels on this machine to inspect',
        services.connections.lastUsed?.name,
      );
      if (!picked) return undefined;
      name = picked.name;
    } else {
      validateName(name);
    }
    api.inspectChannel(name);
    return name;
  },
};
