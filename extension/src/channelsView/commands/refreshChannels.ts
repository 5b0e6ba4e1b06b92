import type { SipcCommand } from '../../commands/command';

/** SIPC: Refresh Channels — re-reads the channels; resolves to how many the view lists. */
export const refreshChannels: SipcCommand = {
  id: 'sipc.refreshChannels',
  failure: 'Could not refresh the channels',
  async run({ channelsView }): Promise<number> {
    return (await channelsView.refresh()).length;
  },
};
