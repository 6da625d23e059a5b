/**
 * Small statistics helpers: percentiles of latency samples and medians of repeated runs.
 * Nearest-rank percentiles, so a reported p99 is a latency that was actually observed.
 */

/** Nearest-rank percentile (`p` in 0..100) of values already sorted ascending; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1]!;
}

/** Median of the finite values, or null when there are none. */
export function median(values: readonly (number | null)[]): number | null {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** Largest of the finite values, or null. */
export function maxOf(values: readonly (number | null)[]): number | null {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return xs.length === 0 ? null : Math.max(...xs);
}

/** Smallest of the finite values, or null. */
export function minOf(values: readonly (number | null)[]): number | null {
  const xs = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return xs.length === 0 ? null : Math.min(...xs);
}

export interface LatencySummary {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** Summarise the first `count` latency samples (nanoseconds) in microseconds. Sorts in place. */
export function summarizeLatencyNs(samples: Float64Array, count: number): LatencySummary {
  const used = samples.subarray(0, count).sort();
  return {
    count,
    p50Us: percentileSorted(used, 50) / 1000,
    p99Us: percentileSorted(used, 99) / 1000,
    maxUs: count > 0 ? used[count - 1]! / 1000 : Number.NaN,
  };
}

/** Nearest-rank p50/p99/max of a few samples (any unit); NaN when empty. */
export function percentiles(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN };
}

/**
 * Milliseconds on the system-wide monotonic clock (`process.hrtime`: CLOCK_MONOTONIC on
 * Linux, QueryPerformanceCounter on Windows), so that two processes on one machine can
 * compare their readings. performance.now() cannot: each process has its own origin.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
