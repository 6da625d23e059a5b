/**
 * Tells, once, that the process has become busy: that over consecutive sampling
 * intervals it used at least a given share of a core. `bridge broker` lets V8's
 * optimizing compiler in then (see deferred-optimization.ts).
 *
 * The share is the process's CPU time (every thread, user and system) over wall time,
 * from `process.cpuUsage()`, which costs one system call and loads no module (the event
 * loop's utilization from `perf_hooks` would load eleven). The sampling timer is unref'd,
 * and stops once it has told.
 */

/**
 * How often the share is sampled, in ms; an idle broker wakes this often until it was
 * busy once. A flood does not wait for it: the broker reports its first bulk read at once.
 */
export const BUSY_SAMPLE_MS = 250;

/**
 * The share of one core that counts as busy. Measured per 100 ms on the peer bench's
 * broker (2 cores): 0.10-0.14 relaying 2,000 messages a second in baseline code,
 * 0.55-0.82 answering request/reply, and 1.0 for a publisher at full speed.
 */
export const BUSY_SHARE = 0.25;

/**
 * How many sampling intervals in a row must reach the share. One is not load: the broker's
 * first interval after it listens holds the rest of its start (its first connections, the
 * compiles they make hot), 0.18 of a core with two clients on this machine, and more when
 * the machine is slow.
 */
export const BUSY_SAMPLES = 2;

/** Options of {@link whenBusy}. */
export interface BusyWatchOptions {
  /** Sampling interval in ms (default {@link BUSY_SAMPLE_MS}). */
  intervalMs?: number;
  /**
   * Share of one core that counts as busy (default {@link BUSY_SHARE}); every thread of
   * the process counts, so a share can pass 1.
   */
  share?: number;
  /** Intervals in a row that must reach the share (default {@link BUSY_SAMPLES}). */
  samples?: number;
}

/**
 * Calls `onBusy` once, with the share measured (the least of the run), at the end of the
 * first run of `samples` sampling intervals in which the process used at least `share` of
 * a core.
 * @returns a function that stops watching (idempotent; nothing is called after it)
 */
export function whenBusy(onBusy: (share: number) => void, options: BusyWatchOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? BUSY_SAMPLE_MS;
  const busyShare = options.share ?? BUSY_SHARE;
  const samples = options.samples ?? BUSY_SAMPLES;
  let busyRun = 0;
  let leastOfRun = Infinity;
  let lastCpu = cpuMicros();
  let lastWall = wallMicros();
  const timer = setInterval(() => {
    const cpu = cpuMicros();
    const wall = wallMicros();
    const share = wall > lastWall ? (cpu - lastCpu) / (wall - lastWall) : 0;
    lastCpu = cpu;
    lastWall = wall;
    if (share < busyShare) {
      busyRun = 0;
      leastOfRun = Infinity;
      return;
    }
    leastOfRun = Math.min(leastOfRun, share);
    if (++busyRun < samples) return;
    clearInterval(timer);
    onBusy(leastOfRun);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function wallMicros(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}
