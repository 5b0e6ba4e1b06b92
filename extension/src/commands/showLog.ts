import type { SipcCommand } from './command';

/** SIPC: Show Log — the extension's output channel. */
export const showLog: SipcCommand = {
  id: 'sipc.showLog',
  failure: 'Could not show the log',
  async run({ log }) {
    log.show();
    return true;
  },
};
