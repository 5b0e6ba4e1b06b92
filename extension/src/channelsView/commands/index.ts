import type { SipcCommand } from '../../commands/command';
import { clearChannelFilter } from './clearChannelFilter';
import { copyChannelName } from './copyChannelName';
import { filterChannels } from './filterChannels';
import { refreshChannels } from './refreshChannels';
import { removeAllStale } from './removeAllStale';
import { removeStaleChannel } from './removeStaleChannel';

export const channelsViewCommands: readonly SipcCommand[] = [
  removeStaleChannel, removeAllStale, copyChannelName, refreshChannels, filterChannels, clearChannelFilter,
];
