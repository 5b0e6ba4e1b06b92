/**
 * sipc for Node: named, synchronous, shared-memory channels between processes. Promise based; every blocking
 * wait runs in a native thread of libsipc, never on the event loop nor in libuv's thread pool.
 */
export { SipcError, type SipcErrorCode } from './errors';
export {
  Channel, open, type ChannelState, type ConnectOptions, type OpenOptions, type PeerInfo, type Role, type TimeoutOptions,
} from './channel';
export {
  Observer, ObservedBatch, observe, TO_CLIENT, TO_SERVER, type ObservedMessage, type ObserveOptions, type ObserverEvent,
} from './observer';
export {
  isUnusable, list, remove, stat, validateName, watchChannels, type ChannelWatch, type ListedChannel, type UnusableChannel,
  type WatchOptions,
} from './manage';
export type { ChannelInfo, DirectionInfo, SharedState } from './status';
export { describeProcess, describeProcessAsync, type ProcessInfo, type ProcessState } from './process';
export { libraryCandidates, libraryFileName, platformTarget } from './native';

import { native } from './native';

/** Version of the loaded libsipc, e.g. "1.0.0". */
export function libraryVersion(): string {
  return native().sipc_version();
}

/** Path of the loaded libsipc (loads it if needed; LIBRARY_NOT_FOUND names the paths tried). */
export function libraryPath(): string {
  return native().path;
}
