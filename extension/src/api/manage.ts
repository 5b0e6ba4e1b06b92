/** Channels by name, without attaching: validate, stat, list, remove. */
import { SipcError } from './errors';
import { native } from './native';
import { SIPC_OK, check, emptyRawInfo, errorFor, infoFromRaw, type ChannelInfo } from './status';

/** Throws SipcError INVALID_NAME unless the name is 1..200 characters of [A-Za-z0-9._-], not starting with '.'. */
export function validateName(name: string): void {
  if (typeof name !== 'string') throw new SipcError('INVALID_NAME', 'a channel name must be a string');
  const rc = native().sipc_validate_name(name);
  if (rc !== SIPC_OK) throw errorFor(rc, `'${name}' is not a valid channel name`);
}

/** Snapshot of a channel by name. NOT_FOUND if there is none. */
export function stat(name: string): ChannelInfo {
  validateName(name);
  const raw = emptyRawInfo();
  check(native().sipc_stat(name, raw), `reading the state of channel '${name}' failed`);
  return infoFromRaw(raw);
}

/** Every sipc channel on this machine, sorted by name (channels that vanish meanwhile are skipped). */
export function list(): ChannelInfo[] {
  const names: string[] = [];
  check(
    native().sipc_list((name: string) => {
      names.push(name);
      return 0;
    }, null),
    'listing the channels failed',
  );
  const infos: ChannelInfo[] = [];
  for (const name of names.sort()) {
    try {
      infos.push(stat(name));
    } catch (error) {
      if (!(error instanceof SipcError) || (error.code !== 'NOT_FOUND' && error.code !== 'INVALID_NAME')) throw error;
    }
  }
  return infos;
}

/** Removes a channel's name. BUSY while a live process is attached, unless force. */
export function remove(name: string, force = false): void {
  validateName(name);
  check(native().sipc_remove(name, force ? 1 : 0), `removing channel '${name}' failed`);
}
