/** libsipc statuses turned into SipcErrors, and channel info snapshots turned into plain objects. */
import { SipcError, isSipcErrorCode, type SipcErrorCode } from './errors';
import { native, toNumber, type RawChannelInfo, type RawDirectionInfo } from './native';

import {
  SIPC_OK, SIPC_STATE_CONNECTED, SIPC_STATE_EMPTY, SIPC_STATE_PEER_GONE, SIPC_STATE_STALE, SIPC_STATE_WAITING,
} from './abi';

export {
  SIPC_ASYNC_PENDING, SIPC_ERR_BUSY, SIPC_ERR_CANCELLED, SIPC_ERR_NOT_CONNECTED, SIPC_ERR_NOT_FOUND, SIPC_ERR_PEER_GONE,
  SIPC_ERR_SYSTEM, SIPC_ERR_TIMEOUT, SIPC_OK,
} from './abi';

/** What the thread that made a call reported besides its status (calls made on a native thread). */
export interface ThreadReport {
  /** sipc_last_os_error() of that thread (0: none). */
  osError: number;
  /** sipc_last_error_message() of that thread, or why a listed entry is unusable ("" if none). */
  detail: string;
}

/**
 * An error for a failed status, e.g. errorFor(-2, "send to channel 'demo' failed"). The OS error is this
 * thread's last one unless the call ran on a native thread, which then reports its own (`report`).
 */
export function errorFor(status: number, context: string, report?: ThreadReport): SipcError {
  const lib = native();
  const name = lib.sipc_status_name(status);
  const code: SipcErrorCode = isSipcErrorCode(name) ? name : 'SYSTEM';
  let osError: number | undefined;
  let detail = lib.sipc_strerror(status);
  if (report?.detail) detail += `: ${report.detail}`;
  if (code === 'SYSTEM' || code === 'PERMISSION' || code === 'NO_MEMORY') {
    osError = (report ? report.osError : lib.sipc_last_os_error()) || undefined;
    if (osError !== undefined) detail += ` (OS error ${osError})`;
  }
  return new SipcError(code, `${context}: ${detail}`, osError);
}

export function check(status: number, context: string): void {
  if (status !== SIPC_OK) throw errorFor(status, context);
}

export interface DirectionInfo {
  /** Messages sent in this direction since the channel was created. */
  messages: number;
  bytes: number;
  /** Messages waiting to be received now. */
  queued: number;
  capacity: number;
  lastActivity: Date | undefined;
}

export type SharedState = 'waiting' | 'connected' | 'peer-gone' | 'stale' | 'empty';

export interface ChannelInfo {
  name: string;
  protocolVersion: number;
  state: SharedState;
  maxMessageSize: number;
  queueDepth: number;
  /** Permission bits of the shared segment, e.g. 0o600. */
  mode: number;
  ownerUid: number;
  serverPid: number;
  clientPid: number;
  serverAlive: boolean;
  clientAlive: boolean;
  /** How many times a client connected. */
  connections: number;
  /**
   * When the channel was created; undefined when the segment does not say (a creator that died before initialising
   * it: a 'stale' or 'empty' half-made object has no creation time, and 1970 would be a lie).
   */
  created: Date | undefined;
  /** Server -> client. */
  toClient: DirectionInfo;
  /** Client -> server. */
  toServer: DirectionInfo;
}

const SHARED_STATES: Readonly<Record<number, SharedState>> = {
  [SIPC_STATE_WAITING]: 'waiting',
  [SIPC_STATE_CONNECTED]: 'connected',
  [SIPC_STATE_PEER_GONE]: 'peer-gone',
  [SIPC_STATE_STALE]: 'stale',
  [SIPC_STATE_EMPTY]: 'empty',
};

function dateFromNs(ns: number | bigint): Date | undefined {
  const big = typeof ns === 'bigint' ? ns : BigInt(Math.trunc(ns));
  return big === 0n ? undefined : new Date(Number(big / 1000000n));
}

function direction(raw: RawDirectionInfo): DirectionInfo {
  return {
    messages: toNumber(raw.messages),
    bytes: toNumber(raw.bytes),
    queued: raw.queued,
    capacity: raw.capacity,
    lastActivity: dateFromNs(raw.last_activity_ns),
  };
}

/** A zeroed info struct with struct_size set, for the info calls (sipc_async_channel_info, sipc_async_observer_info, a stat or list call). */
export function emptyRawInfo(): RawChannelInfo {
  const zero: RawDirectionInfo = { messages: 0, bytes: 0, queued: 0, capacity: 0, last_activity_ns: 0 };
  return {
    struct_size: native().channelInfoSize, protocol_version: 0, name: '', state: 0, max_message_size: 0,
    queue_depth: 0, mode: 0, owner_uid: 0, server_pid: 0, client_pid: 0, server_alive: 0, client_alive: 0,
    connections: 0, created_ns: 0, to_client: { ...zero }, to_server: { ...zero },
  };
}

export function infoFromRaw(raw: RawChannelInfo): ChannelInfo {
  return {
    name: raw.name,
    protocolVersion: raw.protocol_version,
    state: SHARED_STATES[raw.state] ?? 'empty',
    maxMessageSize: raw.max_message_size,
    queueDepth: raw.queue_depth,
    mode: raw.mode,
    ownerUid: raw.owner_uid,
    serverPid: toNumber(raw.server_pid),
    clientPid: toNumber(raw.client_pid),
    serverAlive: raw.server_alive !== 0,
    clientAlive: raw.client_alive !== 0,
    connections: toNumber(raw.connections),
    created: dateFromNs(raw.created_ns),
    toClient: direction(raw.to_client),
    toServer: direction(raw.to_server),
  };
}
