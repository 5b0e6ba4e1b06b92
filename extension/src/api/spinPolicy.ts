/**
 * When a channel looks for its next message on the main thread instead of waiting for its native thread
 * (the hot path of a busy request/response exchange).
 *
 * For HOT_WINDOW_MS after a message arrived, a receive (or a 'message' listener) looks for the next one straight
 * on the channel, first right away, then from setImmediate turns that spin at most `spinUs` each, while the native
 * thread stays parked. Only when the window ran out without a message does the native thread take over. The event
 * loop is never held longer than `spinUs` per turn, and a quiet channel stops spinning after HOT_WINDOW_MS.
 *
 * Spinning only pays while the peer answers within the hot window; a peer that answers slower would have the
 * channel burn CPU for nothing. After MISSES_TO_BACK_OFF hot windows in a row ran out without a message, the
 * channel stops spinning for a back-off that starts at BACK_OFF_MIN_MS and doubles up to BACK_OFF_MAX_MS while that
 * repeats; a message caught by a spin starts it over. A busy exchange that only stumbles now and then (its process
 * preempted on a loaded machine) so loses a few milliseconds of fast path, not a tenth of a second, while a
 * steadily slow peer soon costs almost nothing.
 */
import { SIPC_ASYNC_MAX_SPIN_US } from './abi';

const HOT_WINDOW_MS = 2;
const MISSES_TO_BACK_OFF = 2;
const BACK_OFF_MIN_MS = 10;
const BACK_OFF_MAX_MS = 1000;
const DEFAULT_SPIN_US = 100;

/** SIPC_SPIN_US tunes the spin (0 turns the main-thread fast path off); at most SIPC_ASYNC_MAX_SPIN_US. */
export function spinSetting(configured: string | undefined = process.env.SIPC_SPIN_US): number {
  const value = Number(configured ?? DEFAULT_SPIN_US);
  return Number.isInteger(value) && value >= 0 && value <= SIPC_ASYNC_MAX_SPIN_US ? value : DEFAULT_SPIN_US;
}

export class SpinPolicy {
  /** How long one spin may hold the event loop (µs); 0: never spin. */
  readonly spinUs: number;
  /** After this long without a spin, a paused native thread takes over again (the hot window plus a tick). */
  readonly coolDownMs = HOT_WINDOW_MS + 1;
  private hotUntil = 0;
  private misses = 0;
  private offUntil = 0;
  private backOffMs = BACK_OFF_MIN_MS;

  constructor(spinUs: number = spinSetting(), private readonly now: () => number = () => performance.now()) {
    this.spinUs = spinUs;
  }

  /** Whether to look on the main thread now (the channel must be connected). */
  isHot(): boolean {
    const now = this.now();
    return this.spinUs > 0 && now <= this.hotUntil && now >= this.offUntil;
  }

  /** A message arrived, by whichever path: the channel is hot for the next HOT_WINDOW_MS. */
  messageArrived(): void {
    if (this.spinUs === 0) return; // never hot: no clock read per message
    this.hotUntil = this.now() + HOT_WINDOW_MS;
  }

  /** A spin found `taken` messages. */
  spun(taken: number): void {
    if (taken > 0) {
      this.misses = 0;
      this.backOffMs = BACK_OFF_MIN_MS;
      this.messageArrived();
      return;
    }
    // One short spin finding nothing proves little: the peer may simply be a turn behind. The next spins follow
    // until the hot window ran out; only then did the channel go quiet.
    const now = this.now();
    if (now <= this.hotUntil) return;
    this.hotUntil = 0;
    if (++this.misses >= MISSES_TO_BACK_OFF) {
      this.misses = 0;
      this.offUntil = now + this.backOffMs;
      this.backOffMs = Math.min(this.backOffMs * 2, BACK_OFF_MAX_MS);
    }
  }
}
