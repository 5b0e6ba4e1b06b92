import type { CommandServices } from '../../../commands/command';
import { UserFacingError } from '../../../errors';
import type { InspectorApi } from '../api';

/** The inspector, or the reason it is missing as the command's error. */
export function requireInspector(services: CommandServices): InspectorApi {
  const api = services.inspector();
  if (!api) throw new UserFacingError('The inspector did not start; see the "SIPC" log for the reason');
  return api;
}
