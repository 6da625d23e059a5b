/**
 * Reconnect delays: exponential growth from a base, capped, with "equal jitter".
 *
 * Jitter matters here because a broker restart drops every client at the same moment;
 * without it they would all come back in lock-step and hit the fresh broker together on
 * every retry. Equal jitter keeps half the delay fixed so a retry is never immediate
 * (full jitter can draw ~0 and hammer a broker that is still starting).
 */

/** Inputs of {@link reconnectDelay}, in seconds like the client's options. */
export interface BackoffPolicy {
  /** Delay before the first attempt, before jitter. */
  baseDelay: number;
  /** Ceiling of the un-jittered delay. */
  maxDelay: number;
}

/**
 * Seconds to wait before reconnect attempt `attempt` (1-based).
 *
 * The un-jittered delay is `baseDelay * 2^(attempt-1)` capped at `maxDelay`; the result is
 * uniformly distributed in `[delay/2, delay]`.
 *
 * @param attempt 1 for the first attempt after a loss; values below 1 are treated as 1
 * @param policy base and cap, in seconds
 * @param random source of uniform numbers in `[0, 1)`; injectable so tests are deterministic
 * @returns the delay in seconds (never negative, never above `maxDelay`)
 */
export function reconnectDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.max(0, policy.baseDelay);
  const cap = Math.max(base, policy.maxDelay);
  const n = Math.max(1, Math.floor(attempt));
  // Cap the exponent: 2^1024 is Infinity, and past ~60 doublings any sane cap is reached anyway.
  const exp = Math.min(cap, base * 2 ** Math.min(n - 1, 60));
  const r = Math.min(Math.max(random(), 0), 1);
  return exp / 2 + (exp / 2) * r;
}
