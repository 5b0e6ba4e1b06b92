import type { SipcCommand } from '../../commands/command';
import { copyChannelName } from './copyChannelName';
import { refreshChannels } from './refreshChannels';
import { removeStaleChannel } from './removeStaleChannel';

export const channelsViewCommands: readonly SipcCommand[] = [removeStaleChannel, copyChannelName, refreshChannels];
