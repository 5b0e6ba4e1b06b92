// Generated from helper/include/sipc.h and sipc_async.h by extension/scripts/generate-abi.mjs: do not edit.
// test/node/abi.test.mjs checks that it matches the headers and a C compiler's offsetof/sizeof.

// ---- constants: numeric #defines and enum values ----
export const SIPC_VERSION_MAJOR = 1;
export const SIPC_VERSION_MINOR = 0;
export const SIPC_VERSION_PATCH = 0;
export const SIPC_INFINITE = -1;
export const SIPC_DEFAULT_LOCK_TIMEOUT_MS = 5000;
export const SIPC_EXIT_LOCK_TIMEOUT_MS = 100;
export const SIPC_NAME_MAX = 200;
export const SIPC_DEFAULT_MAX_MESSAGE = 65536;
export const SIPC_DEFAULT_QUEUE_DEPTH = 16;
export const SIPC_MAX_MESSAGE_LIMIT = 67108864;
export const SIPC_MAX_QUEUE_DEPTH = 4096;
export const SIPC_OPEN_INHERIT_HANDLES = 1;
export const SIPC_OPEN_NO_CREATE = 2;
export const SIPC_OPEN_GLOBAL = 4;
export const SIPC_OPEN_NO_SPIN = 8;
export const SIPC_PROCESS_NAME_MAX = 63;
export const SIPC_REMOVE_FORCE = 1;
export const SIPC_OBSERVED_MESSAGE = 0;
export const SIPC_OBSERVED_EVENT = 1;
export const SIPC_OBSERVE_LOSSLESS = 1;
export const SIPC_OBSERVE_EVENTS = 2;
export const SIPC_OBSERVE_LOSSLESS_MAX = 2;
export const SIPC_OBSERVE_STALL_DEFAULT_MS = 1000;
export const SIPC_OBSERVE_STALL_MAX_MS = 10000;
export const SIPC_OK = 0;
export const SIPC_ERR_TIMEOUT = -1;
export const SIPC_ERR_PEER_GONE = -2;
export const SIPC_ERR_BUSY = -3;
export const SIPC_ERR_TOO_BIG = -4;
export const SIPC_ERR_CANCELLED = -5;
export const SIPC_ERR_CLOSED = -6;
export const SIPC_ERR_INVALID_NAME = -7;
export const SIPC_ERR_INVALID_ARGUMENT = -8;
export const SIPC_ERR_BUFFER_TOO_SMALL = -9;
export const SIPC_ERR_NOT_FOUND = -10;
export const SIPC_ERR_CORRUPT = -11;
export const SIPC_ERR_VERSION = -12;
export const SIPC_ERR_PERMISSION = -13;
export const SIPC_ERR_NO_MEMORY = -14;
export const SIPC_ERR_MISMATCH = -15;
export const SIPC_ERR_NOT_CONNECTED = -16;
export const SIPC_ERR_SYSTEM = -17;
export const SIPC_ERR_NOT_A_CHANNEL = -18;
export const SIPC_ROLE_NONE = 0;
export const SIPC_ROLE_SERVER = 1;
export const SIPC_ROLE_CLIENT = 2;
export const SIPC_STATE_WAITING = 0;
export const SIPC_STATE_CONNECTED = 1;
export const SIPC_STATE_PEER_GONE = 2;
export const SIPC_STATE_STALE = 3;
export const SIPC_STATE_EMPTY = 4;
export const SIPC_PROCESS_UNKNOWN = 0;
export const SIPC_PROCESS_RUNNING = 1;
export const SIPC_PROCESS_STOPPED = 2;
export const SIPC_PROCESS_GONE = 3;
export const SIPC_DIR_TO_CLIENT = 0;
export const SIPC_DIR_TO_SERVER = 1;
export const SIPC_EVENT_NONE = 0;
export const SIPC_EVENT_ATTACHED = 1;
export const SIPC_EVENT_CLOSED = 2;
export const SIPC_EVENT_DIED = 3;
export const SIPC_EVENT_LOSSLESS_DROPPED = 4;
export const SIPC_ASYNC_PENDING = 1;
export const SIPC_ASYNC_FLOWING = 1;
export const SIPC_ASYNC_PAUSED = 2;
export const SIPC_ASYNC_MAX_SPIN_US = 1000;
export const SIPC_ASYNC_RELAY_CAPACITY = 1024;
export const SIPC_ASYNC_RELAY_ID_BITS = 24;
export const SIPC_ASYNC_RELAY_MAX = 255;

/** sipc_status_name() of every error status (SIPC_ERR_<name>). */
export const STATUS_ERROR_NAMES = ['TIMEOUT', 'PEER_GONE', 'BUSY', 'TOO_BIG', 'CANCELLED', 'CLOSED', 'INVALID_NAME', 'INVALID_ARGUMENT', 'BUFFER_TOO_SMALL', 'NOT_FOUND', 'CORRUPT', 'VERSION', 'PERMISSION', 'NO_MEMORY', 'MISMATCH', 'NOT_CONNECTED', 'SYSTEM', 'NOT_A_CHANNEL'] as const;

// ---- structs: fields in declaration order ----
export type CScalar = 'int32_t' | 'uint32_t' | 'int64_t' | 'uint64_t' | 'const char *';
/** One field: a scalar, a char array of `length` (a string), or another struct of this file. */
export interface CField { readonly name: string; readonly type: CScalar | 'char' | StructName; readonly length?: number }
export type StructName = 'sipc_options' | 'sipc_direction_info' | 'sipc_channel_info' | 'sipc_process_info' | 'sipc_list_entry' | 'sipc_observed_message' | 'sipc_observe_options' | 'sipc_observer_stats' | 'sipc_async_status' | 'sipc_async_observer_status' | 'sipc_async_call_status';
export const STRUCTS = {
  sipc_options: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'max_message_size', type: 'uint32_t' },
    { name: 'queue_depth', type: 'uint32_t' },
    { name: 'mode', type: 'uint32_t' },
    { name: 'flags', type: 'uint32_t' },
  ],
  sipc_direction_info: [
    { name: 'messages', type: 'uint64_t' },
    { name: 'bytes', type: 'uint64_t' },
    { name: 'queued', type: 'uint32_t' },
    { name: 'capacity', type: 'uint32_t' },
    { name: 'last_activity_ns', type: 'uint64_t' },
  ],
  sipc_channel_info: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'protocol_version', type: 'uint32_t' },
    { name: 'name', type: 'char', length: 201 },
    { name: 'state', type: 'int32_t' },
    { name: 'max_message_size', type: 'uint32_t' },
    { name: 'queue_depth', type: 'uint32_t' },
    { name: 'mode', type: 'uint32_t' },
    { name: 'owner_uid', type: 'uint32_t' },
    { name: 'server_pid', type: 'int64_t' },
    { name: 'client_pid', type: 'int64_t' },
    { name: 'server_alive', type: 'int32_t' },
    { name: 'client_alive', type: 'int32_t' },
    { name: 'connections', type: 'uint64_t' },
    { name: 'created_ns', type: 'uint64_t' },
    { name: 'to_client', type: 'sipc_direction_info' },
    { name: 'to_server', type: 'sipc_direction_info' },
  ],
  sipc_process_info: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'state', type: 'int32_t' },
    { name: 'traced', type: 'int32_t' },
    { name: 'name', type: 'char', length: 64 },
  ],
  sipc_list_entry: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'status', type: 'int32_t' },
    { name: 'key', type: 'const char *' },
    { name: 'detail', type: 'const char *' },
    { name: 'name', type: 'char', length: 201 },
  ],
  sipc_observed_message: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'direction', type: 'int32_t' },
    { name: 'sequence', type: 'uint64_t' },
    { name: 'timestamp_ns', type: 'uint64_t' },
    { name: 'length', type: 'uint32_t' },
    { name: 'copied', type: 'uint32_t' },
    { name: 'missed', type: 'uint64_t' },
    { name: 'discarded', type: 'uint64_t' },
    { name: 'undeliverable', type: 'uint32_t' },
    { name: 'reserved', type: 'uint32_t' },
    { name: 'kind', type: 'uint32_t' },
    { name: 'event', type: 'int32_t' },
    { name: 'role', type: 'int32_t' },
    { name: 'session', type: 'uint32_t' },
    { name: 'pid', type: 'int64_t' },
    { name: 'count', type: 'uint64_t' },
  ],
  sipc_observe_options: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'flags', type: 'uint32_t' },
    { name: 'stall_timeout_ms', type: 'uint32_t' },
    { name: 'reserved', type: 'uint32_t' },
  ],
  sipc_observer_stats: [
    { name: 'struct_size', type: 'uint32_t' },
    { name: 'reserved', type: 'uint32_t' },
    { name: 'messages', type: 'uint64_t' },
    { name: 'missed', type: 'uint64_t' },
    { name: 'missed_asleep', type: 'uint64_t' },
    { name: 'missed_away', type: 'uint64_t' },
    { name: 'missed_running', type: 'uint64_t' },
    { name: 'sleeps', type: 'uint64_t' },
    { name: 'woken', type: 'uint64_t' },
    { name: 'polls', type: 'uint64_t' },
    { name: 'spins', type: 'uint64_t' },
    { name: 'spin_hits', type: 'uint64_t' },
    { name: 'wake_latency_count', type: 'uint64_t' },
    { name: 'wake_latency_total_ns', type: 'uint64_t' },
    { name: 'wake_latency_max_ns', type: 'uint64_t' },
    { name: 'longest_miss_gap_ns', type: 'uint64_t' },
    { name: 'longest_away_ns', type: 'uint64_t' },
    { name: 'producer_wakes', type: 'uint64_t' },
  ],
  sipc_async_status: [
    { name: 'connect_status', type: 'int32_t' },
    { name: 'recv_status', type: 'int32_t' },
    { name: 'ready_count', type: 'uint32_t' },
    { name: 'send_results', type: 'uint32_t' },
    { name: 'ready_bytes', type: 'uint64_t' },
    { name: 'sends_queued', type: 'uint32_t' },
    { name: 'notifying', type: 'uint32_t' },
  ],
  sipc_async_observer_status: [
    { name: 'status', type: 'int32_t' },
    { name: 'ready_count', type: 'uint32_t' },
    { name: 'ready_bytes', type: 'uint64_t' },
    { name: 'notifying', type: 'uint32_t' },
    { name: 'reserved', type: 'uint32_t' },
  ],
  sipc_async_call_status: [
    { name: 'status', type: 'int32_t' },
    { name: 'entries', type: 'uint32_t' },
    { name: 'notifying', type: 'uint32_t' },
    { name: 'os_error', type: 'int32_t' },
  ],
} as const satisfies { readonly [S in StructName]: readonly CField[] };

/** sipc_options, as koffi reads and writes it. */
export interface RawOptions {
  struct_size: number;
  max_message_size: number;
  queue_depth: number;
  mode: number;
  flags: number;
}

/** sipc_direction_info, as koffi reads and writes it. */
export interface RawDirectionInfo {
  messages: number | bigint;
  bytes: number | bigint;
  queued: number;
  capacity: number;
  last_activity_ns: number | bigint;
}

/** sipc_channel_info, as koffi reads and writes it. */
export interface RawChannelInfo {
  struct_size: number;
  protocol_version: number;
  name: string;
  state: number;
  max_message_size: number;
  queue_depth: number;
  mode: number;
  owner_uid: number;
  server_pid: number | bigint;
  client_pid: number | bigint;
  server_alive: number;
  client_alive: number;
  connections: number | bigint;
  created_ns: number | bigint;
  to_client: RawDirectionInfo;
  to_server: RawDirectionInfo;
}

/** sipc_process_info, as koffi reads and writes it. */
export interface RawProcessInfo {
  struct_size: number;
  state: number;
  traced: number;
  name: string;
}

/** sipc_list_entry, as koffi reads and writes it. */
export interface RawListEntry {
  struct_size: number;
  status: number;
  key: string | null;
  detail: string | null;
  name: string;
}

/** sipc_observed_message, as koffi reads and writes it. */
export interface RawObservedMessage {
  struct_size: number;
  direction: number;
  sequence: number | bigint;
  timestamp_ns: number | bigint;
  length: number;
  copied: number;
  missed: number | bigint;
  discarded: number | bigint;
  undeliverable: number;
  reserved: number;
  kind: number;
  event: number;
  role: number;
  session: number;
  pid: number | bigint;
  count: number | bigint;
}

/** sipc_observe_options, as koffi reads and writes it. */
export interface RawObserveOptions {
  struct_size: number;
  flags: number;
  stall_timeout_ms: number;
  reserved: number;
}

/** sipc_observer_stats, as koffi reads and writes it. */
export interface RawObserverStats {
  struct_size: number;
  reserved: number;
  messages: number | bigint;
  missed: number | bigint;
  missed_asleep: number | bigint;
  missed_away: number | bigint;
  missed_running: number | bigint;
  sleeps: number | bigint;
  woken: number | bigint;
  polls: number | bigint;
  spins: number | bigint;
  spin_hits: number | bigint;
  wake_latency_count: number | bigint;
  wake_latency_total_ns: number | bigint;
  wake_latency_max_ns: number | bigint;
  longest_miss_gap_ns: number | bigint;
  longest_away_ns: number | bigint;
  producer_wakes: number | bigint;
}

/** sipc_async_status, as koffi reads and writes it. */
export interface RawAsyncStatus {
  connect_status: number;
  recv_status: number;
  ready_count: number;
  send_results: number;
  ready_bytes: number | bigint;
  sends_queued: number;
  notifying: number;
}

/** sipc_async_observer_status, as koffi reads and writes it. */
export interface RawAsyncObserverStatus {
  status: number;
  ready_count: number;
  ready_bytes: number | bigint;
  notifying: number;
  reserved: number;
}

/** sipc_async_call_status, as koffi reads and writes it. */
export interface RawAsyncCallStatus {
  status: number;
  entries: number;
  notifying: number;
  os_error: number;
}
