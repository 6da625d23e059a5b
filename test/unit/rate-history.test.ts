/**
 * The per-second rates behind the page's chart and `rates`: the math of each reading with
 * explicit times (a late timer divides by the real interval), and the five-minute cap.
 */
import { describe, expect, it } from 'vitest';
import { HISTORY_SECONDS, RateHistory } from '../../bridge/status-page/rate-history.js';
import type { BrokerCounters } from '../../src/broker/index.js';
import { isoTimestamp } from '../../src/protocol/timestamp.js';

function counters(): BrokerCounters {
  return { messages: 0, deliveries: 0, dropped: 0, expired: 0, refused_connections: 0, auth_failures: 0 };
}

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

describe('RateHistory', () => {
  it('has nothing before two readings: the first is only a baseline', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    expect(h.latest()).toEqual({ messages_per_s: 0, deliveries_per_s: 0 });
    c.messages = 500; // counted before the page started: not a rate
    expect(h.sample(T0)).toBeNull();
    expect(h.latest()).toEqual({ messages_per_s: 0, deliveries_per_s: 0 });
    expect(h.toJSON()).toMatchObject({ interval_s: 1, messages_per_s: [], deliveries_per_s: [] });
  });

  it('a reading one second on gives the counters\' growth per second', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    c.messages = 12;
    c.deliveries = 30;
    expect(h.sample(T0 + 1000)).toEqual({ messages_per_s: 12, deliveries_per_s: 30 });
    expect(h.latest()).toEqual({ messages_per_s: 12, deliveries_per_s: 30 });
  });

  it('a late reading divides by the real interval, not by one second', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    c.messages = 50;
    c.deliveries = 100;
    // The timer fired 1.5 s late on a busy machine.
    expect(h.sample(T0 + 2500)).toEqual({ messages_per_s: 20, deliveries_per_s: 40 });
    // The next interval is measured from that late reading.
    c.messages = 60;
    expect(h.sample(T0 + 3000)).toEqual({ messages_per_s: 20, deliveries_per_s: 0 });
  });

  it('rounds to one decimal', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    c.messages = 1;
    c.deliveries = 2;
    expect(h.sample(T0 + 3000)).toEqual({ messages_per_s: 0.3, deliveries_per_s: 0.7 });
  });

  it('two readings at the same instant give a finite rate, not Infinity or NaN', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    c.messages = 1;
    const p = h.sample(T0)!;
    expect(Number.isFinite(p.messages_per_s)).toBe(true);
    expect(p.deliveries_per_s).toBe(0);
  });

  it('toJSON: oldest first, the last point ending at `end`', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    for (let s = 1; s <= 3; s++) {
      c.messages += s;
      c.deliveries += 2 * s;
      h.sample(T0 + s * 1000);
    }
    expect(h.toJSON()).toEqual({ interval_s: 1, end: isoTimestamp(T0 + 3000), messages_per_s: [1, 2, 3], deliveries_per_s: [2, 4, 6] });
  });

  it(`keeps the last ${HISTORY_SECONDS} points (five minutes), dropping the oldest`, () => {
    expect(HISTORY_SECONDS).toBe(300);
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    for (let s = 1; s <= 350; s++) {
      c.messages += s; // the rate of second s is s
      h.sample(T0 + s * 1000);
    }
    const json = h.toJSON();
    expect(json.messages_per_s).toHaveLength(300);
    expect(json.deliveries_per_s).toHaveLength(300);
    expect(json.messages_per_s[0]).toBe(51);
    expect(json.messages_per_s[299]).toBe(350);
    expect(json.end).toBe(isoTimestamp(T0 + 350_000));
    expect(h.latest()).toEqual({ messages_per_s: 350, deliveries_per_s: 0 });
  });

  it('toJSON hands out copies: a caller cannot change the history', () => {
    const c = counters();
    const h = new RateHistory(() => c);
    h.sample(T0);
    c.messages = 5;
    h.sample(T0 + 1000);
    h.toJSON().messages_per_s.push(99);
    expect(h.toJSON().messages_per_s).toEqual([5]);
  });
});
