/**
 * A clock that moves only when a test says so: backoff delays and timeouts are checked
 * to the millisecond, with no waiting and no race against a loaded machine.
 */
import type { Clock, ClockTimer } from '../../src/protocol/clock.js';

interface Timer extends ClockTimer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: Timer[] = [];
  /** Called whenever a timer is set (tests await a timer instead of sleeping). */
  private waiters: (() => void)[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, live: true, unref: () => undefined };
    this.timers.push(timer);
    for (const wake of this.waiters.splice(0)) wake();
    return timer;
  }

  clearTimeout(timer: ClockTimer): void {
    (timer as Timer).live = false;
    this.timers = this.timers.filter((t) => t !== timer);
  }

  /** Milliseconds until each pending timer fires, soonest first. */
  pending(): number[] {
    return this.timers
      .filter((t) => t.live)
      .map((t) => t.at - this.time)
      .sort((a, b) => a - b);
  }

  /** Resolves once a timer with exactly `ms` to go is pending (set by code running meanwhile). */
  async timerIn(ms: number, deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!this.pending().includes(ms)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no timer of ${ms} ms was set; pending: [${this.pending().join(', ')}]`);
      await new Promise<void>((resolve) => {
        const giveUp = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(giveUp);
          resolve();
        });
      });
    }
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.time = due.at;
      this.clearTimeout(due);
      due.fn();
    }
    this.time = end;
  }
}
