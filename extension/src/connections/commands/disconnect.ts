import { nameArgument } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';
import { pickConnection } from '../../prompts';

/** SIPC: Disconnect — closes one of this window's connections; resolves to its name. */
export const disconnect: SipcCommand = {
  id: 'sipc.disconnect',
  failure: 'Could not disconnect',
  async run({ connections }, arg): Promise<string | undefined> {
    const connection = await pickConnection(connections, nameArgument(arg), 'Disconnect from which channel?');
    if (!connection) return undefined;
    await connections.disconnect(connection.name);
    return connection.name;
  },
};
