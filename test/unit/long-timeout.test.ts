import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isTimerSeconds, LongTimeout, MAX_TIMER_MS, MAX_TIMER_S } from '../../src/protocol/long-timeout.js';

const DAY_MS = 86_400_000;

describe('LongTimeout', () => {
  // Vitest's fake timers behave as Node's: a delay past 2^31 - 1 ms fires after 1 ms.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'hrtime'] }));
  afterEach(() => vi.useRealTimers());

  it('waits 30 days, longer than one Node timer can, and fires once', () => {
    const fired = vi.fn();
    const t = new LongTimeout(fired, 30 * DAY_MS);
    vi.advanceTimersByTime(1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    expect(t.pending).toBe(true);
    vi.advanceTimersByTime(30 * DAY_MS - MAX_TIMER_MS - 2);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(t.pending).toBe(false);
    vi.advanceTimersByTime(100 * DAY_MS);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('fires on time for a delay one timer can hold, and for none at all', () => {
    const short = vi.fn();
    const none = vi.fn();
    new LongTimeout(short, 1500);
    new LongTimeout(none, -5);
    vi.advanceTimersByTime(0);
    expect(none).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1499);
    expect(short).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(short).toHaveBeenCalledTimes(1);
  });

  it('is cancelled before its first step and between steps', () => {
    const early = vi.fn();
    const late = vi.fn();
    const a = new LongTimeout(early, 40 * DAY_MS);
    const b = new LongTimeout(late, 40 * DAY_MS);
    a.cancel();
    vi.advanceTimersByTime(MAX_TIMER_MS + DAY_MS);
    b.cancel();
    expect(b.pending).toBe(false);
    vi.advanceTimersByTime(60 * DAY_MS);
    expect(early).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
    b.cancel();
  });

  it('names the longest delay in whole seconds, and tells a delay a plain timer keeps', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    expect(MAX_TIMER_S).toBe(2_147_483);
    expect([0.001, 5, 2_147_483].map((s) => isTimerSeconds(s))).toEqual([true, true, true]);
    expect([0, -1, 2_147_483.5, Number.NaN, Infinity, '5', null, undefined].map((s) => isTimerSeconds(s))).toEqual(Array(8).fill(false));
    expect([isTimerSeconds(0, true), isTimerSeconds(-0.5, true)]).toEqual([true, false]);
  });
});
