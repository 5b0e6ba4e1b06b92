import type { SipcCommand } from '../../commands/command';
import { connect } from './connect';
import { disconnect } from './disconnect';
import { disconnectAll } from './disconnectAll';

export const connectionCommands: readonly SipcCommand[] = [connect, disconnect, disconnectAll];
