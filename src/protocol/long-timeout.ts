/**
 * Timers for delays longer than Node's own allow. `setTimeout` keeps its delay in a
 * 32-bit signed integer: past 2^31 - 1 ms (about 24.8 days) it warns and fires after 1 ms.
 * A session kept for a month (`session_expiry` 2592000) would so end the moment its
 * client left, taking its queued QoS 1 messages with it. {@link LongTimeout} waits in
 * steps no longer than {@link MAX_TIMER_MS} and fires once the whole delay has passed.
 */

/** Milliseconds on the monotonic clock. Not `performance.now()`: that loads perf_hooks, which a broker otherwise never needs. */
function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1000 + ns / 1e6;
}

/** The longest delay Node's timers keep: 2^31 - 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** {@link MAX_TIMER_MS} in whole seconds (2147483), for options that set a timer. */
export const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000);

/**
 * Whether `seconds` is a delay a plain timer keeps: a number more than 0 (or 0, with
 * `zero`) and at most {@link MAX_TIMER_S}. Every option or argument that sets a timer is
 * checked with this, so that none fires at once.
 */
export function isTimerSeconds(seconds: unknown, zero = false): seconds is number {
  return typeof seconds === 'number' && (zero ? seconds >= 0 : seconds > 0) && seconds <= MAX_TIMER_S;
}

/**
 * Runs `fn` once after `ms` milliseconds, however many that is, unless cancelled. Time
 * is measured on the monotonic clock, so a change of the system clock neither shortens
 * nor lengthens the wait.
 */
export class LongTimeout {
  private timer: NodeJS.Timeout | null = null;
  private readonly deadline: number;

  /** `unref`: the timer does not keep the process alive (Node's `unref`). */
  constructor(
    private readonly fn: () => void,
    ms: number,
    private readonly unref = false,
  ) {
    this.deadline = monotonicMs() + Math.max(0, ms);
    this.arm(Math.max(0, ms));
  }

  /** Whether it is still waiting: not fired, not cancelled. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** Stop waiting; harmless after it fired. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.step(), Math.min(ms, MAX_TIMER_MS));
    if (this.unref) this.timer.unref();
  }

  private step(): void {
    const left = this.deadline - monotonicMs();
    // A timer may fire a fraction of a millisecond early by the monotonic clock.
    if (left >= 1) {
      this.arm(left);
      return;
    }
    this.timer = null;
    this.fn();
  }
}
