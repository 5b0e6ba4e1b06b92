// The arguments commands accept: a channel name as a string, `{ name, ... }` (from other extensions, keybindings
// and the tests) or a node of the channels view.
import { ChannelNode } from '../channelsView';
import { UserFacingError } from '../errors';

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The channel name a command was invoked with, if any. */
export function nameArgument(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof ChannelNode) return arg.name;
  const name = record(arg)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** A whole number of at least 0 under `key`; throws a UserFacingError for anything else but absence. */
export function numberArgument(arg: unknown, key: string): number | undefined {
  const value = record(arg)?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new UserFacingError(`"${key}" must be a whole number of at least 0`);
  }
  return value;
}

export function stringArgument(arg: unknown, key: string): string | undefined {
  const value = record(arg)?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** The value under `key`, whatever it is (for arguments checked by the caller, such as a Uri). */
export function argumentValue(arg: unknown, key: string): unknown {
  return record(arg)?.[key];
}
