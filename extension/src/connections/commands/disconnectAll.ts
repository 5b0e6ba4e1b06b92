import type { SipcCommand } from '../../commands/command';

/** SIPC: Disconnect All — closes every connection of this window; resolves to how many there were. */
export const disconnectAll: SipcCommand = {
  id: 'sipc.disconnectAll',
  failure: 'Could not disconnect every channel',
  async run({ connections }): Promise<number> {
    const count = connections.connections().length;
    await connections.disconnectAll();
    return count;
  },
};
