/**
 * The time source for timeouts, backoff and durations. Production code uses
 * {@link systemClock}; tests pass a manual clock so a 30 s backoff or a 300 s reply
 * timeout is checked to the millisecond without waiting for it.
 */

/** A scheduled callback; only its owner's clock can cancel it. */
export interface ClockTimer {
  /** Keep the process alive for this timer? (Node's `ref`/`unref`; a no-op on manual clocks.) */
  unref(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  /** Cancel a timer from this clock's `setTimeout`; cancelling a fired timer is harmless. */
  clearTimeout(timer: ClockTimer): void;
}

/** Wall-clock time and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Resolves after `ms` on `clock` (timers that should not keep the process alive are unref'd by the caller). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
