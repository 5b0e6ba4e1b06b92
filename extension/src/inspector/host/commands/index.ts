import type { SipcCommand } from '../../../commands/command';
import { inspectChannel } from './inspectChannel';
import { openInspector } from './openInspector';

export const inspectorCommands: readonly SipcCommand[] = [openInspector, inspectChannel];
