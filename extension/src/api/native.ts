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
import { STRUCTS, type RawAsyncCallStatus, type RawAsyncObserverStatus, type RawAsyncStatus, type RawChannelInfo, type RawObserveOptions, type RawObserverStats, type RawOptions, type RawProcessInfo, type StructName } from './abi';
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

// ---- C types: made from the generated description of helper/include/sipc.h and sipc_async.h (abi.ts) ----
const typeSuffix = `_${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
const typeName = (name: string) => name + typeSuffix;

type KoffiType = ReturnType<typeof koffi.struct>;
const structTypes = new Map<StructName, KoffiType>();

/** The koffi type of a struct of abi.ts (char arrays read as strings; nested structs made first). */
export function structType(name: StructName): KoffiType {
  const made = structTypes.get(name);
  if (made) return made;
  const members: Record<string, string | KoffiType> = {};
  for (const field of STRUCTS[name]) {
    if (field.type === 'char') members[field.name] = koffi.array('char', field.length ?? 0, 'String');
    else if (field.type in STRUCTS) members[field.name] = structType(field.type as StructName);
    else members[field.name] = field.type;
  }
  const type = koffi.struct(typeName(name), members);
  structTypes.set(name, type);
  return type;
}

const ChannelInfoType = structType('sipc_channel_info');
const OptionsType = structType('sipc_options');
const ObserveOptionsType = structType('sipc_observe_options');
const ObserverStatsType = structType('sipc_observer_stats');
const ProcessInfoType = structType('sipc_process_info');
const AsyncStatusType = structType('sipc_async_status');
const AsyncObserverStatusType = structType('sipc_async_observer_status');
const AsyncCallStatusType = structType('sipc_async_call_status');
const NotifyProto = koffi.proto(typeName('sipc_async_notify_fn'), 'void', ['uint32_t']);

/** Size and field offsets of a struct of abi.ts, for reading arrays of it out of a Buffer. */
export interface StructLayout<S extends StructName> {
  readonly size: number;
  readonly offset: { readonly [F in (typeof STRUCTS)[S][number]['name']]: number };
}

export function structLayout<S extends StructName>(name: S): StructLayout<S> {
  const type = structType(name);
  const offset: Record<string, number> = {};
  for (const field of STRUCTS[name]) offset[field.name] = koffi.offsetof(type, field.name);
  return { size: koffi.sizeof(type), offset: offset as StructLayout<S>['offset'] };
}

export type {
  RawAsyncCallStatus, RawAsyncObserverStatus, RawAsyncStatus, RawChannelInfo, RawDirectionInfo, RawObservedMessage,
  RawObserveOptions, RawObserverStats, RawOptions, RawProcessInfo,
} from './abi';

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
  readonly processInfoSize: number;
  sipc_version(): string;
  sipc_status_name(status: number): string;
  sipc_strerror(status: number): string;
  sipc_last_os_error(): number;
  sipc_validate_name(name: string): number;
  sipc_options_init(out: RawOptions): void;
  sipc_observe_options_init(out: RawObserveOptions): void;
  sipc_get_role(channel: Pointer): number;
  sipc_max_message_size(channel: Pointer): number;
  /** Only with timeout 0 on this thread (one try of the channel's lock, never a wait): see NativeHandle. */
  sipc_close_ex(channel: Pointer, timeoutMs: number): number;
  sipc_observer_get_stats(observer: Pointer, stats: RawObserverStats): number;
  sipc_observer_close(observer: Pointer): number;
  /**
   * Reads a few small /proc files: only the Node API's documented synchronous describeProcess() calls it; the
   * extension uses sipc_async_process_describe (test/unit/extension-host-blocking.test.mjs holds it to that).
   */
  sipc_process_describe(pid: number, info: RawProcessInfo): number;

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
  /** sipc_async.h: the main thread's calls, which neither wait nor look up another process (no /proc). */
  sipc_async_channel_send_now(h: Pointer, data: Uint8Array, length: number): number;
  sipc_async_channel_connect_now(h: Pointer): number;
  sipc_async_channel_info(h: Pointer, info: RawChannelInfo): number;
  sipc_async_channel_take_send_results(h: Pointer, statuses: Int32Array, maxCount: number, count: Uint32Array): number;
  sipc_async_channel_stop(h: Pointer): number;
  /** At process exit only, with SIPC_EXIT_LOCK_TIMEOUT_MS (NativeHandle.shutdownForExit). */
  sipc_async_channel_destroy_ex(h: Pointer, closeTimeoutMs: number): number;

  sipc_async_observer_start(observer: Pointer, capacity: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_observer_arm(h: Pointer, armed: number): number;
  sipc_async_observer_poll(h: Pointer, out: RawAsyncObserverStatus): number;
  sipc_async_observer_take(
    h: Pointer, buffer: Uint8Array, capacity: number, messages: Uint8Array, maxCount: number, count: Uint32Array,
  ): number;
  sipc_async_observer_info(h: Pointer, info: RawChannelInfo): number;
  sipc_async_observer_stop(h: Pointer): number;
  /** At process exit only, with SIPC_EXIT_LOCK_TIMEOUT_MS (NativeHandle.shutdownForExit). */
  sipc_async_observer_destroy_ex(h: Pointer, joinTimeoutMs: number): number;

  sipc_async_open(name: string, options: RawOptions, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_observe_ex(name: string, options: RawObserveOptions, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_stat_ex(name: string, timeoutMs: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_remove(name: string, force: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_list(notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_channel_close(h: Pointer, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_observer_close(h: Pointer, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_call_poll(call: Pointer, out: RawAsyncCallStatus): number;
  sipc_async_call_take_channel(call: Pointer, out: PointerCell): number;
  sipc_async_call_take_observer(call: Pointer, out: PointerCell): number;
  sipc_async_call_entry(call: Pointer, index: number, info: RawChannelInfo, status: Int32Array): number;
  sipc_async_call_detail(call: Pointer, index: number): string | null;
  sipc_async_process_describe(pid: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_call_process_info(call: Pointer, info: RawProcessInfo): number;
  sipc_async_call_take_send_results(call: Pointer, statuses: Int32Array, maxCount: number, count: Uint32Array): number;
  sipc_async_call_arm(call: Pointer, armed: number): number;
  sipc_async_call_release(call: Pointer): number;

  sipc_async_watch_start(intervalMs: number, notify: Pointer, token: number, out: PointerCell): number;
  sipc_async_watch_arm(h: Pointer, armed: number): number;
  sipc_async_watch_poll(h: Pointer, changes: BigUint64Array): number;
  sipc_async_watch_release(h: Pointer): number;

  /** Relays (POSIX): notifications through a descriptor that the event loop reads (lifecycle.ts). */
  sipc_async_relay_open(out: PointerCell): number;
  sipc_async_relay_fd(relay: Pointer): number;
  sipc_async_relay_token(relay: Pointer, id: number, token: Uint32Array): number;
  sipc_async_relay_take(relay: Pointer, tokens: Uint32Array, maxCount: number, count: Uint32Array, overflowed: Uint32Array): number;
  /** The address of sipc_async_relay_notify, the notify function to pass with a relay's tokens. */
  readonly relayNotify: Pointer;

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
    processInfoSize: koffi.sizeof(ProcessInfoType),
    sipc_version: f('sipc_version', 'const char *', []),
    sipc_status_name: f('sipc_status_name', 'const char *', ['int']),
    sipc_strerror: f('sipc_strerror', 'const char *', ['int']),
    sipc_last_os_error: f('sipc_last_os_error', 'int', []),
    sipc_validate_name: f('sipc_validate_name', 'int', ['const char *']),
    sipc_options_init: f('sipc_options_init', 'void', [koffi.out(koffi.pointer(OptionsType))]),
    sipc_observe_options_init: f('sipc_observe_options_init', 'void', [koffi.out(koffi.pointer(ObserveOptionsType))]),
    sipc_get_role: f('sipc_get_role', 'int', [voidPtr]),
    sipc_max_message_size: f('sipc_max_message_size', 'uint32_t', [voidPtr]),
    sipc_close_ex: f('sipc_close_ex', 'int', [voidPtr, 'int32_t']),
    sipc_observer_get_stats: f('sipc_observer_get_stats', 'int', [voidPtr, koffi.inout(koffi.pointer(ObserverStatsType))]),
    sipc_observer_close: f('sipc_observer_close', 'int', [voidPtr]),
    sipc_process_describe: f('sipc_process_describe', 'int', ['int64_t', koffi.inout(koffi.pointer(ProcessInfoType))]),

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
    sipc_async_channel_send_now: f('sipc_async_channel_send_now', 'int', [voidPtr, voidPtr, 'size_t']),
    sipc_async_channel_connect_now: f('sipc_async_channel_connect_now', 'int', [voidPtr]),
    sipc_async_channel_info: f('sipc_async_channel_info', 'int', [voidPtr, koffi.inout(koffi.pointer(ChannelInfoType))]),
    sipc_async_channel_take_send_results: f('sipc_async_channel_take_send_results', 'int', [
      voidPtr, voidPtr, 'uint32_t', voidPtr,
    ]),
    sipc_async_channel_stop: f('sipc_async_channel_stop', 'int', [voidPtr]),
    sipc_async_channel_destroy_ex: f('sipc_async_channel_destroy_ex', 'int', [voidPtr, 'int32_t']),

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
    sipc_async_observer_info: f('sipc_async_observer_info', 'int', [voidPtr, koffi.inout(koffi.pointer(ChannelInfoType))]),
    sipc_async_observer_stop: f('sipc_async_observer_stop', 'int', [voidPtr]),
    sipc_async_observer_destroy_ex: f('sipc_async_observer_destroy_ex', 'int', [voidPtr, 'int32_t']),

    sipc_async_open: f('sipc_async_open', 'int', [
      'const char *', koffi.pointer(OptionsType), koffi.pointer(NotifyProto), 'uint32_t', outPtr,
    ]),
    sipc_async_observe_ex: f('sipc_async_observe_ex', 'int', [
      'const char *', koffi.pointer(ObserveOptionsType), koffi.pointer(NotifyProto), 'uint32_t', outPtr,
    ]),
    sipc_async_stat_ex: f('sipc_async_stat_ex', 'int', ['const char *', 'int32_t', koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
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
    sipc_async_process_describe: f('sipc_async_process_describe', 'int', [
      'int64_t', koffi.pointer(NotifyProto), 'uint32_t', outPtr,
    ]),
    sipc_async_call_process_info: f('sipc_async_call_process_info', 'int', [voidPtr, koffi.inout(koffi.pointer(ProcessInfoType))]),
    sipc_async_call_take_send_results: f('sipc_async_call_take_send_results', 'int', [voidPtr, voidPtr, 'uint32_t', voidPtr]),
    sipc_async_call_arm: f('sipc_async_call_arm', 'int', [voidPtr, 'int']),
    sipc_async_call_release: f('sipc_async_call_release', 'int', [voidPtr]),

    sipc_async_watch_start: f('sipc_async_watch_start', 'int', ['uint32_t', koffi.pointer(NotifyProto), 'uint32_t', outPtr]),
    sipc_async_watch_arm: f('sipc_async_watch_arm', 'int', [voidPtr, 'int']),
    sipc_async_watch_poll: f('sipc_async_watch_poll', 'int', [voidPtr, voidPtr]),
    sipc_async_watch_release: f('sipc_async_watch_release', 'int', [voidPtr]),

    sipc_async_relay_open: f('sipc_async_relay_open', 'int', [outPtr]),
    sipc_async_relay_fd: f('sipc_async_relay_fd', 'int', [voidPtr]),
    sipc_async_relay_token: f('sipc_async_relay_token', 'int', [voidPtr, 'uint32_t', voidPtr]),
    sipc_async_relay_take: f('sipc_async_relay_take', 'int', [voidPtr, voidPtr, 'uint32_t', voidPtr, voidPtr]),
    relayNotify: lib.symbol('sipc_async_relay_notify') as Pointer,

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
