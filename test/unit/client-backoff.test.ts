import { describe, expect, it } from 'vitest';
import { reconnectDelay } from '../../src/client/backoff.js';

const policy = { baseDelay: 1, maxDelay: 30 };

describe('reconnectDelay', () => {
  it('doubles from the base delay: the un-jittered value is reached when random() is 1', () => {
    const top = (n: number) => reconnectDelay(n, policy, () => 1);
    expect([1, 2, 3, 4, 5].map(top)).toEqual([1, 2, 4, 8, 16]);
  });

  it('caps the delay at maxDelay', () => {
    expect(reconnectDelay(6, policy, () => 1)).toBe(30);
    expect(reconnectDelay(50, policy, () => 1)).toBe(30);
    expect(reconnectDelay(10_000, policy, () => 1)).toBe(30);
  });

  it('equal jitter: half is fixed, half random, so a retry is never immediate', () => {
    expect(reconnectDelay(3, policy, () => 0)).toBe(2);
    expect(reconnectDelay(3, policy, () => 0.5)).toBe(3);
    for (let i = 0; i < 200; i++) {
      const d = reconnectDelay(4, policy);
      expect(d).toBeGreaterThanOrEqual(4);
      expect(d).toBeLessThanOrEqual(8);
    }
  });

  it('spreads clients out: different random draws give different delays', () => {
    const draws = new Set(Array.from({ length: 20 }, (_, i) => reconnectDelay(2, policy, () => i / 20)));
    expect(draws.size).toBe(20);
  });

  it('treats attempt numbers below 1 (and fractions) as the first attempt', () => {
    expect(reconnectDelay(0, policy, () => 1)).toBe(1);
    expect(reconnectDelay(-3, policy, () => 1)).toBe(1);
    expect(reconnectDelay(2.9, policy, () => 1)).toBe(2);
  });

  it('works with sub-second delays (tests use 0.05 s)', () => {
    const small = { baseDelay: 0.05, maxDelay: 0.2 };
    expect([1, 2, 3, 4].map((n) => reconnectDelay(n, small, () => 1))).toEqual([0.05, 0.1, 0.2, 0.2]);
  });

  it('clamps a random source outside [0, 1) and a cap below the base', () => {
    expect(reconnectDelay(1, policy, () => 7)).toBe(1);
    expect(reconnectDelay(1, policy, () => -1)).toBe(0.5);
    expect(reconnectDelay(3, { baseDelay: 2, maxDelay: 1 }, () => 1)).toBe(2);
  });
});
