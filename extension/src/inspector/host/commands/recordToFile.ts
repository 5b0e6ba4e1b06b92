import { argumentValue, stringArgument } from '../../../commands/arguments';
import type { SipcCommand } from '../../../commands/command';
import { UserFacingError } from '../../../errors';
import type { RecordRequest } from '../api';
import { RECORD_TO_FILE_COMMAND, STOP_RECORDING_COMMAND } from '../panel';
import { requireInspector } from './requireInspector';

/** `{ mode, name, file?, format? }` as other extensions, the page and the tests pass it; undefined: ask. */
export function recordRequest(arg: unknown): RecordRequest | undefined {
  const mode = argumentValue(arg, 'mode');
  const name = stringArgument(arg, 'name');
  if (name === undefined) return undefined;
  if (mode !== 'peer' && mode !== 'observer' && mode !== 'file') throw new UserFacingError('"mode" must be peer, observer or file');
  const format = argumentValue(arg, 'format');
  if (format !== undefined && format !== 'pcapng' && format !== 'jsonl') throw new UserFacingError('"format" must be pcapng or jsonl');
  const file = stringArgument(arg, 'file');
  return { mode, name, ...(file !== undefined ? { file } : {}), ...(format !== undefined ? { format } : {}) };
}

/** SIPC: Record to File… — streams every new entry of an inspector panel to pcapng or JSON Lines until stopped. */
export const recordToFile: SipcCommand = {
  id: RECORD_TO_FILE_COMMAND,
  failure: 'Could not start recording',
  async run(services, arg): Promise<unknown> {
    return requireInspector(services).recordToFile(recordRequest(arg));
  },
};

/** SIPC: Stop Recording — closes the file of a recording (the status bar item runs it too). */
export const stopRecording: SipcCommand = {
  id: STOP_RECORDING_COMMAND,
  failure: 'Could not stop the recording',
  async run(services, arg): Promise<unknown> {
    const request = recordRequest(arg);
    return requireInspector(services).stopRecording(request && { mode: request.mode, name: request.name });
  },
};
