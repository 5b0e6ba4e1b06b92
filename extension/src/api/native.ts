/**
 * The native side: where libsipc is found, and its functions as koffi bindings. Every platform specific of
 * the Node API lives here (library file names, search folders).
 *
 * koffi type names are process-global and two bundles of this module can live in one process (dist/api.js
 * and dist/extension.js), so every type name carries a suffix unique to this module instance. (Anonymous
 * types are no way out: koffi 3.3 can give an anonymous struct pointer and an anonymous prototype the same
 * internal name.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { SipcError } from './errors';

/** Folder name of the native build for this machine, e.g. linux-x64, win32-x64, darwin-arm64. */
export function platformTarget(): string {
  return `${process.platform}-${process.arch}`;
}

/** File name of the shared library on a platform. */
export function libraryFileName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return 'sipc.dll';
  if (platform === 'darwin') return 'libsipc.dylib';
  return 'libsipc.so';
}

/**
 * Where the library is looked for, in order: $SIPC_LIBRARY; <folder of this bundle>/native/<platform>-<arch>/;
 * <repository>/helper/build/<platform>-<arch>/ (the bundle lives in <repository>/dist/).
 */
export function libraryCandidates(): string[] {
  const fromEnv = process.env.SIPC_LIBRARY;
  if (fromEnv) return [fromEnv];
  const target = platformTarget();
  const file = libraryFileName();
  return [join(__dirname, 'native', target, file), join(__dirname, '..', 'helper', 'build', target, file)];
}

export type Pointer = bigint;

// ---- C types (layouts of helper/include/sipc.h and sipc_async.h) ----
const typeSuffix = `_${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
const typeName = (name: string) => name + typeSuffix;
const NAME_MAX = 200;
const DirectionInfoType = koffi.struct(typeName('sipc_direction_info'), {
  messages: 'uint64_t',
  bytes: 'uint64_t',
  queued: 'uint32_t',
  capacity: 'uint32_t',
  last_activity_ns: 'uint64_t',
});
const ChannelInfoType = koffi.struct(typeName('sipc_channel_info'), {
  struct_size: 'uint32_t',
  protocol_version: 'uint32_t',
  name: koffi.array('char', NAME_MAX + 1, 'String'),
  state: 'int32_t',
  max_message_size: 'uint32_t',
  queue_depth: 'uint32_t',
  mode: 'uint32_t',
  owner_uid: 'uint32_t',
  server_pid: 'int64_t',
  client_pid: 'int64_t',
  server_alive: 'int32_t',
  client_alive: 'int32_t',
  connections: 'uint64_t',
  created_ns: 'uint64_t',
  to_client: DirectionInfoType,
  to_server: DirectionInfoType,
});
const OptionsType = koffi.struct(typeName('sipc_options'), {
  struct_size: 'uint32_t',
  max_message_size: 'uint32_t',
  queue_depth: 'uint32_t',
  mode: 'uint32_t',
  flags: 'uint32_t',
});
const AsyncStatusType = koffi.struct(typeName('sipc_async_status'), {
  connect_status: 'int32_t',
  recv_status: 'int32_t',
  ready_count: 'uint32_t',
  send_results: 'uint32_t',
  ready_bytes: 'uint64_t',
  sends_queued: 'uint32_t',
  notifying: 'uint32_t',
});
const AsyncObserverStatusType = koffi.struct(typeName('sipc_async_observer_status'), {
  status: 'int32_t',
  ready_count: 'uint32_t',
  ready_bytes: 'uint64_t',
  notifying: 'uint32_t',
  reserved: 'uint32_t',
});
const AsyncCallStatusType = koffi.struct(typeName('sipc_async_call_status'), {
  status: 'int32_t',
  entries: 'uint32_t',
  notifying: 'uint32_t',
  os_error: 'int32_t',
});
const NotifyProto = koffi.proto(typeName('sipc_async_notify_fn'), 'void', ['uint32_t']);

export interface RawDirectionInfo {
  messages: number | bigint;
  bytes: number | bigint;
  queued: number;
  capacity: number;
  last_activity_ns: number | bigint;
}
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
export interface RawOptions {
  struct_size: number;
  max_message_size: number;
  queue_depth: number;
  mode: number;
  flags: number;
}
export interface RawAsyncStatus {
  connect_status: number;
  recv_status: number;
  ready_count: number;
  send_results: number;
  ready_bytes: number | bigint;
  sends_queued: number;
  notifying: number;
}
export interface RawAsyncCallStatus {
  status: number;
  entries: number;
  notifying: number;
  os_error: number;
}
export interface RawAsyncObserverStatus {
  status: number;
  ready_count: number;
  ready_bytes: number | bigint;
  notifying: number;
  reserved: number;
}

/** Out-parameter cell for a pointer. */
export type PointerCell = [Pointer | null];

/**
 * The bound functions. Calls by name and closes (which may wait or touch the file system) are bound only in
 * their sipc_async_* form, so that nothing on the main thread can make them synchronously.
 */
export interface SipcNative {
  readonly path: string;
  readonly channelInfoSize: number;
  readonly optionsSize: number;
  sipc_version(): string;
  sipc_status_name(status: number): string;
  sipc_strerror(status: number): string;
  sipc_last_os_error(): number;
  sipc_validate_name(name: string): number;
  sipc_options_init(out: RawOptions): void;
  sipc_get_role(channel: Pointer): number;
  sipc_max_message_size(channel: Pointer): number;
  sipc_connect(channel: Pointer, timeoutMs: number): number;
  sipc_send(channel: Pointer, data: Uint8Array, length: number, timeoutMs: number): number;
  sipc_info(channel: Pointer, info: RawChannelInfo): number;
  sipc_close(channel: Pointer): number;
  sipc_observer_info(observer: Pointer, info: RawChannelInfo): number;
  sipc_observer_close(observer: Pointer): number;

  sipc_async_channel_start(channel: Pointer, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_channel_arm(h: Pointer, armed: number): number;
  sipc_async_channel_demand(h: Pointer, flags: number, wantDelta: number): number;
  sipc_async_channel_reconnect(h: Pointer): number;
  sipc_async_channel_poll(h: Pointer, out: RawAsyncStatus): number;
  sipc_async_channel_take(
    h: Pointer, buffer: Uint8Array, capacity: number, lengths: Uint32Array, maxCount: number, count: Uint32Array,
  ): number;
  sipc_async_channel_take_now(
    h: Pointer, buffer: Uint8Array, capacity: number, lengths: Uint32Array, maxCount: number, count: Uint32Array,
    spinUs: number,
  ): number;
  sipc_async_channel_send(h: Pointer, data: Uint8Array, length: number, timeoutMs: number): number;
  sipc_async_channel_take_send_results(h: Pointer, statuses: Int32Array, maxCount: number, count: Uint32Array): number;
  sipc_async_channel_stop(h: Pointer): number;
  sipc_async_channel_join(h: Pointer): number;
  sipc_async_channel_destroy(h: Pointer): number;

  sipc_async_observer_start(observer: Pointer, capacity: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_observer_arm(h: Pointer, armed: number): number;
  sipc_async_observer_poll(h: Pointer, out: RawAsyncObserverStatus): number;
  sipc_async_observer_take(
    h: Pointer, buffer: Uint8Array, capacity: number, fields: BigUint64Array, maxCount: number, count: Uint32Array,
  ): number;
  sipc_async_observer_stop(h: Pointer): number;
  sipc_async_observer_destroy(h: Pointer): number;

  sipc_async_open(name: string, options: RawOptions, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_observe(name: string, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_stat(name: string, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_remove(name: string, force: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_list(notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_channel_close(h: Pointer, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_observer_close(h: Pointer, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_call_poll(call: Pointer, out: RawAsyncCallStatus): number;
  sipc_async_call_take_channel(call: Pointer, out: PointerCell): number;
  sipc_async_call_take_observer(call: Pointer, out: PointerCell): number;
  sipc_async_call_entry(call: Pointer, index: number, info: RawChannelInfo, status: Int32Array): number;
  sipc_async_call_detail(call: Pointer, index: number): string | null;
  sipc_async_call_take_send_results(call: Pointer, statuses: Int32Array, maxCount: number, count: Uint32Array): number;
  sipc_async_call_arm(call: Pointer, armed: number): number;
  sipc_async_call_release(call: Pointer): number;

  sipc_async_watch_start(intervalMs: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_watch_arm(h: Pointer, armed: number): number;
  sipc_async_watch_poll(h: Pointer, changes: BigUint64Array): number;
  sipc_async_watch_release(h: Pointer): number;

  /** Registers the one process-wide notify callback (never unregistered: see lifecycle.ts). */
  registerNotify(callback: (token: number) => void): Pointer;
}

let loaded: SipcNative | undefined;

/** The bound library, loaded on first use. Throws SipcError LIBRARY_NOT_FOUND naming every path tried. */
export function native(): SipcNative {
  if (loaded) return loaded;
  const candidates = libraryCandidates();
  const path = candidates.find((candidate) => existsSync(candidate));
  if (!path) {
    throw new SipcError(
      'LIBRARY_NOT_FOUND',
      `the sipc native library (${libraryFileName()}) was not found; looked in: ${candidates.join(', ')}` +
        (process.env.SIPC_LIBRARY ? '' : ' (build it with `make -C helper`, or set SIPC_LIBRARY)'),
    );
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(path);
  } catch (error) {
    throw new SipcError(
      'LIBRARY_NOT_FOUND',
      `the sipc native library at ${path} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const voidPtr = 'void *';
  const outPtr = koffi.out(koffi.pointer(voidPtr));
  type ArgType = string | ReturnType<typeof koffi.pointer> | ReturnType<typeof koffi.out>;
  const f = (name: string, result: string, args: ArgType[]) => lib.func(name, result, args);
  const bound = {
    path,
    channelInfoSize: koffi.sizeof(ChannelInfoType),
    optionsSize: koffi.sizeof(OptionsType),
    sipc_version: f('sipc_version', 'const char *', []),
    sipc_status_name: f('sipc_status_name', 'const char *', ['int']),
    sipc_strerror: f('sipc_strerror', 'const char *', ['int']),
    sipc_last_os_error: f('sipc_last_os_error', 'int', []),
    sipc_validate_name: f('sipc_validate_name', 'int', ['const char *']),
    sipc_options_init: f('sipc_options_init', 'void', [koffi.out(koffi.pointer(OptionsType))]),
    sipc_get_role: f('sipc_get_role', 'int', [voidPtr]),
    sipc_max_message_size: f('sipc_max_message_size', 'uint32_t', [voidPtr]),
    sipc_connect: f('sipc_connect', 'int', [voidPtr, 'int32_t']),
    sipc_send: f('sipc_send', 'int', [voidPtr, voidPtr, 'size_t', 'int32_t']),
    sipc_info: f('sipc_info', 'int', [voidPtr, koffi.inout(koffi.pointer(ChannelInfoType))]),
    sipc_close: f('sipc_close', 'int', [voidPtr]),
    sipc_observer_info: f('sipc_observer_info', 'int', [voidPtr, koffi.inout(koffi.pointer(ChannelInfoType))]),
    sipc_observer_close: f('sipc_observer_close', 'int', [voidPtr]),

    sipc_async_channel_start: f('sipc_async_channel_start', 'int', [
      voidPtr, koffi.pointer(NotifyProto), 'uint32_t', outPtr,
    ]),
    sipc_async_channel_arm: f('sipc_async_channel_arm', 'int', [voidPtr, 'int']),
    sipc_async_channel_demand: f('sipc_async_channel_demand', 'int', [voidPtr, 'uint32_t', 'int32_t']),
    sipc_async_channel_reconnect: f('sipc_async_channel_reconnect', 'int', [voidPtr]),
    sipc_async_channel_poll: f('sipc_async_channel_poll', 'int', [voidPtr, koffi.out(koffi.pointer(AsyncStatusType))]),
    sipc_async_channel_take: f('sipc_async_channel_take', 'int', [
      voidPtr, voidPtr, 'size_t', voidPtr, 'uint32_t', voidPtr,
    ]),
    sipc_async_channel_take_now: f('sipc_async_channel_take_now', 'int', [
      voidPtr, voidPtr, 'size_t', voidPtr, 'uint32_t', voidPtr, 'uint32_t',
    ]),
    sipc_async_channel_send: f('sipc_async_channel_send', 'int', [voidPtr, voidPtr, 'size_t', 'int32_t']),
    sipc_async_channel_take_send_results: f('sipc_async_channel_take_send_results', 'int', [
      voidPtr, voidPtr, 'uint32_t', voidPtr,
    ]),
    sipc_async_channel_stop: f('sipc_async_channel_stop', 'int', [voidPtr]),
    sipc_async_channel_join: f('sipc_async_channel_join', 'int', [voidPtr]),
    sipc_async_channel_destroy: f('sipc_async_channel_destroy', 'int', [voidPtr]),

    sipc_async_observer_start: f('sipc_async_observer_start', 'int', [
      voidPtr, 'uint32_t', koffi.pointer(NotifyProto), 'uint32_t', outPtr,
    ]),
    sipc_async_observer_arm: f('sipc_async_observer_arm', 'int', [voidPtr, 'int']),
    sipc_async_observer_poll: f('sipc_async_observer_poll', 'int', [
      voidPtr, koffi.out(koffi.pointer(AsyncObserverStatusType)),
    ]),
    sipc_async_observer_take: f('sipc_async_observer_take', 'int', [
      voidPtr, voidPtr, 'size_t', voidPtr, 'uint32_t', voidPtr,
    ]),
    sipc_async_observer_stop: f('sipc_async_observer_stop', 'int', [voidPtr]),
    sipc_async_observer_destroy: f('sipc_async_observer_destroy', 'int', [voidPtr]),

    sipc_async_open: f('sipc_async_open', 'int', [
      'const char *', koffi.pointer(OptionsType), koffi.pointer(NotifyProto), 'uint32_t', outPtr,
    ]),
    sipc_async_observe: f('sipc_async_observe', 'int', ['const char *', koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_stat: f('sipc_async_stat', 'int', ['const char *', koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_remove: f('sipc_async_remove', 'int', ['const char *', 'int', koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_list: f('sipc_async_list', 'int', [koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_channel_close: f('sipc_async_channel_close', 'int', [voidPtr, koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_observer_close: f('sipc_async_observer_close', 'int', [voidPtr, koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_call_poll: f('sipc_async_call_poll', 'int', [voidPtr, koffi.out(koffi.pointer(AsyncCallStatusType))]),
    sipc_async_call_take_channel: f('sipc_async_call_take_channel', 'int', [voidPtr, outPtr]),
    sipc_async_call_take_observer: f('sipc_async_call_take_observer', 'int', [voidPtr, outPtr]),
    sipc_async_call_entry: f('sipc_async_call_entry', 'int', [
      voidPtr, 'uint32_t', koffi.inout(koffi.pointer(ChannelInfoType)), voidPtr,
    ]),
    sipc_async_call_detail: f('sipc_async_call_detail', 'const char *', [voidPtr, 'int32_t']),
    sipc_async_call_take_send_results: f('sipc_async_call_take_send_results', 'int', [voidPtr, voidPtr, 'uint32_t', voidPtr]),
    sipc_async_call_arm: f('sipc_async_call_arm', 'int', [voidPtr, 'int']),
    sipc_async_call_release: f('sipc_async_call_release', 'int', [voidPtr]),

    sipc_async_watch_start: f('sipc_async_watch_start', 'int', ['uint32_t', koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_watch_arm: f('sipc_async_watch_arm', 'int', [voidPtr, 'int']),
    sipc_async_watch_poll: f('sipc_async_watch_poll', 'int', [voidPtr, voidPtr]),
    sipc_async_watch_release: f('sipc_async_watch_release', 'int', [voidPtr]),

    registerNotify: (callback: (token: number) => void): Pointer =>
      koffi.register(callback, koffi.pointer(NotifyProto)),
  };
  loaded = bound as unknown as SipcNative;
  return loaded;
}

/** A koffi 64-bit integer (number or bigint) as a number; counters and pids stay well below 2^53. */
export function toNumber(value: number | bigint): number {
  return typeof value === 'bigint' ? Number(value) : value;
}
