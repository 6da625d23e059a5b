/**
 * The phases a throughput run shares, whatever it publishes: relaying the subscribers'
 * progress to the publisher as credit, the measured window, and draining at the end.
 */
import { performance } from 'node:perf_hooks';
import type { BrokerProcess } from './broker-process.js';
import type { Snapshot } from './ipc.js';
import { cpuSeconds } from './proc-stats.js';
import type { WorkerHandle } from './worker-handle.js';

/** How long a worker may take to connect and subscribe. */
export const READY_TIMEOUT_MS = 20_000;
/** Subscriber progress reports for credit, this often. */
export const PROGRESS_MS = 5;
/** Draining after the publisher stopped: poll interval, give up when idle this long, hard bound. */
const DRAIN_POLL_MS = 100;
const DRAIN_IDLE_MS = 1000;
const DRAIN_MAX_MS = 10_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
/** Events per second between two snapshots of one worker, on that worker's clock. */
export const rate = (a: Snapshot, b: Snapshot): number => ((b.count - a.count) * 1000) / (b.atMs - a.atMs);
export const cpuPct = (a: Snapshot, b: Snapshot): number => (100 * (b.cpuMs - a.cpuMs)) / (b.atMs - a.atMs);

/**
 * Lossless flow: the publisher may run at most `window` messages ahead of the slowest
 * subscriber connection. Progress reports come over IPC; credit goes back the same way.
 */
export function relayCredit(subs: WorkerHandle[], pub: WorkerHandle, window: number): void {
  const slowest = subs.map(() => 0);
  let granted = window;
  subs.forEach((w, i) => {
    w.onProgress = (min) => {
      slowest[i] = min;
      const allowed = Math.min(...slowest) + window;
      if (allowed > granted) {
        granted = allowed;
        pub.send({ cmd: 'credit', allowed });
      }
    };
  });
}

/** The measured span: `snap` at both ends, and the broker's CPU share over it (null when unreadable). */
export async function measureWindow<T>(broker: BrokerProcess, measureMs: number, snap: () => Promise<T>): Promise<{ before: T; after: T; brokerCpuPct: number | null }> {
  const cpu0 = cpuSeconds(broker.pid);
  const t0 = performance.now();
  const before = await snap();
  await sleep(measureMs);
  const after = await snap();
  const cpu1 = cpuSeconds(broker.pid);
  const t1 = performance.now();
  const brokerCpuPct = cpu0 !== null && cpu1 !== null ? (100 * (cpu1 - cpu0)) / ((t1 - t0) / 1000) : null;
  return { before, after, brokerCpuPct };
}

/** Poll the subscribers until all `expected` deliveries arrived or they stop coming. */
export async function drain(subs: WorkerHandle[], expected: number): Promise<Snapshot[]> {
  const deadline = performance.now() + DRAIN_MAX_MS;
  let snaps = await Promise.all(subs.map((w) => w.snap()));
  let last = sum(snaps.map((s) => s.count));
  let lastChange = performance.now();
  while (last < expected && performance.now() < deadline && performance.now() - lastChange < DRAIN_IDLE_MS) {
    await sleep(DRAIN_POLL_MS);
    snaps = await Promise.all(subs.map((w) => w.snap()));
    const total = sum(snaps.map((s) => s.count));
    if (total !== last) {
      last = total;
      lastChange = performance.now();
    }
  }
  return snaps;
}
