/**
 * Channels by name, without attaching: validate, stat, list, remove, and a watch on the machine's channels.
 * Everything that touches the file system runs on a native thread (calls.ts); only validateName, which is
 * pure, answers synchronously.
 */
import { SIPC_DEFAULT_LOCK_TIMEOUT_MS } from './abi';
import { runCall } from './calls';
import { checkTimeout, type TimeoutOptions } from './channel';
import { SipcError } from './errors';
import { registerClient, setBusy, unregisterClient, type NativeClient } from './lifecycle';
import { native, type Pointer, type PointerCell } from './native';
import { SIPC_ERR_SYSTEM, SIPC_OK, emptyRawInfo, errorFor, infoFromRaw, type ChannelInfo } from './status';

/** Throws SipcError INVALID_NAME unless the name is 1..200 characters of [A-Za-z0-9._-], not starting with '.'. */
export function validateName(name: string): void {
  if (typeof name !== 'string') throw new SipcError('INVALID_NAME', 'a channel name must be a string');
  const rc = native().sipc_validate_name(name);
  if (rc !== SIPC_OK) throw errorFor(rc, `'${name}' is not a valid channel name`);
}

/** Validation as a rejected promise, so that every async function of the API fails the same way. */
function validated<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    validateName(name);
  } catch (error) {
    return Promise.reject(error);
  }
  return run();
}

/**
 * Snapshot of a channel by name. NOT_FOUND if there is none. Bounded by `timeoutMs` (default 5000) like every
 * call by name; it takes no lock, so a process holding the channel's lock never delays it. A channel whose
 * creator died before initialising it is 'stale'; one being created 'empty'.
 */
export function stat(name: string, options: TimeoutOptions = {}): Promise<ChannelInfo> {
  const context = `reading the state of channel '${name}' failed`;
  try {
    checkTimeout(options.timeoutMs, `reading the state of channel '${name}'`);
  } catch (error) {
    return Promise.reject(error);
  }
  const timeoutMs = options.timeoutMs ?? SIPC_DEFAULT_LOCK_TIMEOUT_MS;
  return validated(name, () =>
    runCall(
      context,
      (notify, token, out) => native().sipc_async_stat_ex(name, timeoutMs, notify, token, out),
      (call) => {
        const raw = emptyRawInfo();
        const status = new Int32Array(1);
        const rc = native().sipc_async_call_entry(call, 0, raw, status);
        if (rc !== SIPC_OK) throw errorFor(rc, context);
        if (status[0] !== SIPC_OK) {
          throw errorFor(status[0], context, { osError: 0, detail: native().sipc_async_call_detail(call, 0) ?? '' });
        }
        return infoFromRaw(raw);
      },
    ),
  );
}

/**
 * An object named like a channel that is no usable channel (corrupt, another protocol version, not ours to
 * read, not a shared-memory object at all...). `name` is the channel's name or, when the object's header
 * cannot be trusted, the part of the object's name after "sipc.".
 */
export interface UnusableChannel {
  readonly name: string;
  /** Why it cannot be used: `code` is stable (CORRUPT, VERSION, PERMISSION, ...). */
  readonly unusable: SipcError;
}

export type ListedChannel = ChannelInfo | UnusableChannel;

export function isUnusable(entry: ListedChannel): entry is UnusableChannel {
  return 'unusable' in entry;
}

/**
 * Every object named like a sipc channel on this machine, sorted by name: the usable channels' snapshots,
 * and an UnusableChannel entry (never an exception) for each one that cannot be used. Channels that vanish
 * while it looks are left out.
 */
export function list(): Promise<ListedChannel[]> {
  const context = 'listing the channels failed';
  return runCall(
    context,
    (notify, token, out) => native().sipc_async_list(notify, token, out),
    (call, done) => {
      const lib = native();
      const entries: ListedChannel[] = [];
      const status = new Int32Array(1);
      for (let index = 0; index < done.entries; index++) {
        const raw = emptyRawInfo();
        const rc = lib.sipc_async_call_entry(call, index, raw, status);
        if (rc !== SIPC_OK) throw errorFor(rc, context);
        const detail = native().sipc_async_call_detail(call, index) ?? '';
        entries.push(
          status[0] === SIPC_OK
            ? infoFromRaw(raw)
            : { name: raw.name, unusable: errorFor(status[0], `channel '${raw.name}' cannot be used`, { osError: 0, detail }) },
        );
      }
      return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
  );
}

/** Removes a channel's name. BUSY while a live process is attached, unless force. */
export function remove(name: string, force = false): Promise<void> {
  return validated(name, () =>
    runCall(
      `removing channel '${name}' failed`,
      (notify, token, out) => native().sipc_async_remove(name, force ? 1 : 0, notify, token, out),
      () => undefined,
    ),
  );
}

export interface WatchOptions {
  /**
   * How often the watch's native thread compares the channels' states (default 1000 ms). Channels that
   * appear or vanish are reported at once where the OS says so (inotify on Linux), else at this pace.
   */
  intervalMs?: number;
  /** Whether the watch keeps the process alive, as fs.watch's option of that name (default true). */
  persistent?: boolean;
}

/** A running watch; dispose() stops it. */
export interface ChannelWatch {
  dispose(): void;
}

const DEFAULT_WATCH_INTERVAL_MS = 1000;

class Watch implements NativeClient, ChannelWatch {
  private handle: Pointer | undefined;
  private readonly token: number;
  private readonly changes = new BigUint64Array(1);
  private seen = 0n;

  constructor(private readonly listener: () => void, intervalMs: number, persistent: boolean) {
    const { token, notify } = registerClient(this);
    this.token = token;
    const out: PointerCell = [null];
    const rc = native().sipc_async_watch_start(intervalMs, notify, token, out);
    if (rc !== SIPC_OK || out[0] === null) {
      unregisterClient(token);
      throw errorFor(rc === SIPC_OK ? SIPC_ERR_SYSTEM : rc, 'watching the channels failed');
    }
    this.handle = out[0];
    setBusy(token, persistent);
  }

  onNotify(): void {
    if (this.handle === undefined) return;
    native().sipc_async_watch_poll(this.handle, this.changes);
    if (this.changes[0] === this.seen) return;
    this.seen = this.changes[0];
    this.listener();
  }

  arm(armed: boolean): number {
    return this.handle === undefined ? 0 : native().sipc_async_watch_arm(this.handle, armed ? 1 : 0);
  }

  shutdownForExit(): void {
    this.dispose();
  }

  dispose(): void {
    if (this.handle === undefined) return;
    // Never waits: the watch's thread frees it when it ends.
    native().sipc_async_watch_release(this.handle);
    this.handle = undefined;
    unregisterClient(this.token);
  }
}

/**
 * Calls `listener` (on the main thread, no arguments) whenever the channels on this machine change: one
 * appears or vanishes, becomes unusable, or changes state, peers or connection count. The comparison runs
 * on a native thread; changes that come close together share one call. Read the new state with list().
 */
export function watchChannels(listener: () => void, options: WatchOptions = {}): ChannelWatch {
  const intervalMs = options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 0x7fffffff) {
    throw new SipcError('INVALID_ARGUMENT', 'intervalMs must be an integer from 1 to 2147483647');
  }
  if (typeof listener !== 'function') throw new SipcError('INVALID_ARGUMENT', 'listener must be a function');
  return new Watch(listener, intervalMs, options.persistent ?? true);
}
