import { nameArgument } from '../../../commands/arguments';
import type { SipcCommand } from '../../../commands/command';
import { pickConnection } from '../../../prompts';
import { requireInspector } from './requireInspector';

/** SIPC: Open Inspector — the inspector of one of this window's connections (peer mode, can send). */
export const openInspector: SipcCommand = {
  id: 'sipc.openInspector',
  failure: 'Could not open the inspector',
  async run(services, arg): Promise<string | undefined> {
    const api = requireInspector(services);
    const connection = await pickConnection(services.connections, nameArgument(arg), 'Inspect which connection?');
    if (!connection) return undefined;
    api.openForConnection(connection.name);
    return connection.name;
  },
};
