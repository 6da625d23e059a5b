/**
 * When to restart a script that ended: by mode, with exponential backoff, and with a cap
 * on restarts per time window so a script that dies at once cannot spin forever. A load
 * failure or a failed start is never restarted: the same file (or the same missing
 * interpreter) will fail the same way.
 */
import type { StopReason } from './exit-reason.js';

export type RestartMode = 'never' | 'on-failure' | 'always';
export const RESTART_MODES: readonly RestartMode[] = ['never', 'on-failure', 'always'];

export interface RestartOptions {
  mode: RestartMode;
  /** First delay; doubles per consecutive restart. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** At most this many restarts within `windowMs`. */
  maxRestarts: number;
  windowMs: number;
  /** A run at least this long counts as healthy and resets the backoff. */
  stableAfterMs: number;
}

/**
 * The shortest restart window a config may give. The cap counts restarts younger than the
 * window: with 0 it counts none and a script that dies at once restarts forever (hundreds
 * of times a second with no delay), and a window of a few milliseconds is no better.
 */
export const MIN_RESTART_WINDOW_MS = 1000;

export const DEFAULT_RESTART: Readonly<RestartOptions> = Object.freeze({
  mode: 'on-failure',
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRestarts: 5,
  windowMs: 60_000,
  stableAfterMs: 10_000,
});

/** `gaveUp`: the policy would have restarted, but the restart limit was reached. */
export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; why: string; gaveUp: boolean };

export class RestartPolicy {
  private consecutive = 0;
  private recent: number[] = [];

  constructor(readonly options: RestartOptions) {}

  /** Decide what follows an exit with `reason` after a run of `ranForMs`. */
  next(reason: StopReason, ranForMs: number, now: number = Date.now()): RestartDecision {
    const o = this.options;
    if (reason === 'stopped') return { restart: false, why: 'stopped on request', gaveUp: false };
    if (reason === 'load_failure') return { restart: false, why: 'the script failed to load; fix it and start it again', gaveUp: false };
    if (reason === 'start_failure') {
      return { restart: false, why: 'the script could not be started; fix the interpreter or the file and start it again', gaveUp: false };
    }
    if (o.mode === 'never') return { restart: false, why: 'restart policy is never', gaveUp: false };
    if (o.mode === 'on-failure' && reason === 'clean_exit') return { restart: false, why: 'clean exit and restart policy is on-failure', gaveUp: false };
    if (ranForMs >= o.stableAfterMs) this.consecutive = 0;
    this.recent = this.recent.filter((t) => now - t < o.windowMs);
    if (this.recent.length >= o.maxRestarts) {
      return { restart: false, why: `restart limit reached: ${o.maxRestarts} restarts within ${o.windowMs / 1000}s`, gaveUp: true };
    }
    this.recent.push(now);
    this.consecutive++;
    const delayMs = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** (this.consecutive - 1));
    return { restart: true, delayMs, attempt: this.consecutive };
  }

  /** Forget history (an explicit start or restart by the user). */
  reset(): void {
    this.consecutive = 0;
    this.recent = [];
  }
}
