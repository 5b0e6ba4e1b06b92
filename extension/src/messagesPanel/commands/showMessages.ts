import { argumentValue } from '../../commands/arguments';
import type { SipcCommand } from '../../commands/command';

/** SIPC: Show Messages Panel — the live stream of this window's connections in the bottom panel. */
export const showMessages: SipcCommand = {
  id: 'sipc.showMessages',
  failure: 'Could not show the messages panel',
  async run({ messagesPanel }, arg): Promise<boolean> {
    // `{ preserveFocus: true }` (Send Selection): show the panel but leave the cursor in the editor.
    await messagesPanel.reveal(argumentValue(arg, 'preserveFocus') === true);
    return true;
  },
};
