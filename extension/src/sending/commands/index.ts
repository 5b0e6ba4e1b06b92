import type { SipcCommand } from '../../commands/command';
import { sendFile } from './sendFile';
import { sendSelection } from './sendSelection';
import { sendText } from './sendText';

export const sendingCommands: readonly SipcCommand[] = [sendSelection, sendText, sendFile];
