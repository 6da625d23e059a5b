/**
 * When `bridge up` prints its table. Right after the spawn every script is "running",
 * including one that fails to load 150 ms later; the table waits until each script has
 * said `@ready`, has ended or is waiting to restart, or the settle period is over.
 */
import { systemClock, type Clock, type ClockTimer } from '../src/protocol/clock.js';
import type { ScriptSupervisor, SupervisorState } from './supervisor/script-supervisor.js';

/** How long a script that has not said `@ready` must have been running to count as up. */
export const STARTUP_SETTLE_MS = 1000;

/** States that the start-up has left behind for good or for a while. */
const SETTLED_STATES: ReadonlySet<SupervisorState> = new Set(['stopped', 'failed', 'waiting_restart']);

/**
 * Resolves once every supervisor has printed `@ready` or is stopped, failed or waiting to
 * restart, and at the latest `settleMs` after the call (on `clock`, the supervisors' own),
 * or after `from` settled when it is given: a start's spawn can come seconds after the
 * call on Windows (the process listing before it), and the period is the script's.
 * Call it before starting them, so no `@ready` is missed.
 */
export function startupSettled(supervisors: readonly ScriptSupervisor[], clock: Clock = systemClock, settleMs = STARTUP_SETTLE_MS, from?: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const ready = new Set<ScriptSupervisor>();
    const detach: (() => void)[] = [];
    let timer: ClockTimer | null = null;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (timer) clock.clearTimeout(timer);
      for (const off of detach) off();
      resolve();
    };
    const check = (): void => {
      if (supervisors.every((s) => ready.has(s) || SETTLED_STATES.has(s.state))) finish();
    };
    for (const s of supervisors) {
      const onReady = (): void => {
        ready.add(s);
        check();
      };
      s.on('ready', onReady);
      s.on('settled', check);
      detach.push(() => {
        s.off('ready', onReady);
        s.off('settled', check);
      });
    }
    // A crash followed by a pending restart emits nothing: the period's end covers it.
    const startPeriod = (): void => {
      if (done) return;
      timer = clock.setTimeout(finish, settleMs);
      timer.unref();
    };
    // Either way: a start that failed has nothing more to wait for than the period.
    if (from) from.then(startPeriod, startPeriod);
    else startPeriod();
    if (supervisors.length === 0) finish();
  });
}
