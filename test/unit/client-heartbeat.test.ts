import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../../src/client/heartbeat.js';
import type { Connection } from '../../src/client/connection.js';
import type { ConnectResult } from '../../src/protocol/messages.js';

const result = (interval: number, timeout: number): ConnectResult =>
  ({ client_id: 'c', heartbeat_interval: interval, heartbeat_timeout: timeout }) as unknown as ConnectResult;

describe('Heartbeat', () => {
  // Vitest's fake timers behave as Node's: a delay past 2^31 - 1 ms fires after 1 ms.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] }));
  afterEach(() => vi.useRealTimers());

  /** `lastReceivedAt` -Infinity: the broker has been silent forever; else it spoke just now (on the real clock the heartbeat reads). */
  function start(interval: number, timeout: number, lastReceivedAt: number): { pings: number; silences: number[]; hb: Heartbeat } {
    const state = { pings: 0, silences: [] as number[], hb: new Heartbeat(), conn: { lastReceivedAt } };
    state.hb.start(
      state.conn as unknown as Connection,
      result(interval, timeout),
      undefined,
      () => {
        state.pings++;
        return Promise.resolve();
      },
      (idle) => state.silences.push(idle),
    );
    return state;
  }

  it('pings every interval and reports silence past the timeout', () => {
    const s = start(5, 30, -Infinity);
    vi.advanceTimersByTime(10_000);
    expect(s.pings).toBe(2);
    vi.advanceTimersByTime(19_999);
    expect(s.silences).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(s.silences).toEqual([Infinity]);
    s.hb.stop();
  });

  it('a broker advertising an interval and a timeout longer than a timer can wait: no ping storm, no early silence', () => {
    // Overflowed timers fired every millisecond: a ping each, and the watchdog's checks.
    const s = start(3e6, 6e6, -Infinity);
    vi.advanceTimersByTime(60_000);
    expect(s.pings).toBe(0);
    expect(s.silences).toEqual([]);
    // What a timer can keep: the longest wait, then a ping.
    vi.advanceTimersByTime(2 ** 31 - 1 - 60_000);
    expect(s.pings).toBe(1);
    s.hb.stop();
  });
});
