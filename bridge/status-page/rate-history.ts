/**
 * Messages and deliveries per second, sampled once a second from the broker's counters,
 * for the page's chart: a timer, never per-message work. Keeps the last five minutes.
 */
import type { BrokerCounters } from '../../src/broker/index.js';
import { isoTimestamp } from '../../src/protocol/timestamp.js';

export const HISTORY_SECONDS = 300;

export interface RatePoint {
  messages_per_s: number;
  deliveries_per_s: number;
}

export interface RateHistoryJson {
  interval_s: number;
  end: string;
  messages_per_s: number[];
  deliveries_per_s: number[];
}

export class RateHistory {
  private readonly messages: number[] = [];
  private readonly deliveries: number[] = [];
  private last: { at: number; messages: number; deliveries: number } | null = null;
  private endAt = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly read: () => BrokerCounters) {}

  /** Sample every second until {@link stop}; `onSample` hears each new point. */
  start(onSample?: (point: RatePoint) => void): void {
    this.sample();
    this.timer = setInterval(() => {
      const point = this.sample();
      if (point) onSample?.(point);
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The last complete second (zeros before the first). */
  latest(): RatePoint {
    const n = this.messages.length;
    return { messages_per_s: n ? this.messages[n - 1]! : 0, deliveries_per_s: n ? this.deliveries[n - 1]! : 0 };
  }

  toJSON(): RateHistoryJson {
    return { interval_s: 1, end: isoTimestamp(this.endAt), messages_per_s: [...this.messages], deliveries_per_s: [...this.deliveries] };
  }

  /** Take a reading; returns the new point (none on the first reading). */
  sample(now = Date.now()): RatePoint | null {
    const c = this.read();
    const prev = this.last;
    this.last = { at: now, messages: c.messages, deliveries: c.deliveries };
    if (prev === null) return null;
    // A timer on a busy 2-core machine fires late: divide by the real interval.
    const seconds = Math.max((now - prev.at) / 1000, 0.001);
    const point = {
      messages_per_s: Math.round(((c.messages - prev.messages) / seconds) * 10) / 10,
      deliveries_per_s: Math.round(((c.deliveries - prev.deliveries) / seconds) * 10) / 10,
    };
    this.messages.push(point.messages_per_s);
    this.deliveries.push(point.deliveries_per_s);
    if (this.messages.length > HISTORY_SECONDS) {
      this.messages.shift();
      this.deliveries.shift();
    }
    this.endAt = now;
    return point;
  }
}
