import type { SipcCommand } from '../../commands/command';

/** SIPC: Clear Channel Filter — the view lists every channel again. */
export const clearChannelFilter: SipcCommand = {
  id: 'sipc.clearChannelFilter',
  failure: 'Could not clear the channel filter',
  async run({ channelsView }): Promise<string> {
    channelsView.setFilter('');
    return '';
  },
};
