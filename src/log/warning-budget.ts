/**
 * WARNINGs of one kind within a budget: at most `perWindow` in each window of
 * `windowMs`; the ones past it go to debug, and the first WARNING of the next window
 * says how many there were (`similar_since_last_warning`). What floods (a script writing
 * to stderr in a loop, every publish of a backed-up link failing) then costs an operator
 * a few lines, not the log.
 */
import type { LogFields, Logger } from './logger.js';

export class WarningBudget {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A WARNING, or past the budget a debug line counted for the next WARNING. */
  warning(text: string, fields: LogFields): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.perWindow) {
      this.suppressed++;
      this.log.debug(text, fields);
      return;
    }
    this.used++;
    this.log.warning(text, this.suppressed > 0 ? { ...fields, similar_since_last_warning: this.suppressed } : fields);
    this.suppressed = 0;
  }
}

/**
 * A {@link WarningBudget} per kind of WARNING (a reason, a header, an operation and its
 * error code), for at most `maxKinds` kinds: past that the kind first seen longest ago is
 * forgotten, so a peer that makes up kinds cannot grow the map.
 */
export class WarningBudgets {
  private readonly byKind = new Map<string, WarningBudget>();

  constructor(
    private readonly log: Logger,
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly maxKinds = 1024,
    private readonly now: () => number = Date.now,
  ) {}

  /** A WARNING of `kind`, within that kind's budget (see {@link WarningBudget.warning}). */
  warning(kind: string, text: string, fields: LogFields): void {
    let budget = this.byKind.get(kind);
    if (budget === undefined) {
      if (this.byKind.size >= this.maxKinds) this.byKind.delete(this.byKind.keys().next().value!);
      budget = new WarningBudget(this.log, this.perWindow, this.windowMs, this.now);
      this.byKind.set(kind, budget);
    }
    budget.warning(text, fields);
  }
}
