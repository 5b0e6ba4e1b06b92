import type { SipcCommand } from '../../../commands/command';
import { inspectChannel } from './inspectChannel';
import { openCapture } from './openCapture';
import { openInspector } from './openInspector';
import { recordToFile, stopRecording } from './recordToFile';

export const inspectorCommands: readonly SipcCommand[] = [openInspector, inspectChannel, recordToFile, stopRecording, openCapture];
