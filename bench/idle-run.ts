/**
 * One run of `idle` or `idle-connections`: the broker's resident memory at rest. The
 * runner has started a fresh broker; after `settleMs` its VmRSS is the idle figure. With
 * connections, subscriber workers (roles/subscriber.ts, no publisher) open them, each a
 * `connect` under its own client id and one `subscribe`, and report ready once all are
 * answered; after another `settleMs` the broker's VmRSS is read again, and its CPU over
 * that settle (what idle sessions cost in timers and housekeeping) goes to the CPU column. The
 * settles are part of the measuring protocol: V8 and the allocator take a moment to come
 * to rest after start-up and after a burst of connects.
 */
import { performance } from 'node:perf_hooks';
import type { BrokerProcess } from './broker-process.js';
import { cpuSeconds, openFilesLimit, peakRssMB, rssMB } from './proc-stats.js';
import type { RunResult } from './results.js';
import { sleep } from './run-phases.js';
import type { IdleScenario, RunContext } from './scenarios.js';
import { WorkerHandle } from './worker-handle.js';

/** Connecting and subscribing, one after another per worker: generous for 500 round trips. */
const READY_TIMEOUT_MS = 60_000;
/** Files a process holds besides its sockets (stdio, IPC, the event loop's, node's own). */
const FD_MARGIN = 64;

/** The broker's `--max-connections` for a scenario: room for its clients and the start-up probe. */
export const idleMaxConnections = (sc: IdleScenario): number => sc.connections + 16;

/**
 * A clear failure before anything connects when the broker or the workers (forked from
 * us, so with our limit) could not hold their sockets: otherwise the run ends in EMFILE
 * half-way, which reads like a broker bug.
 */
function checkFileLimits(sc: IdleScenario, broker: BrokerProcess): void {
  const perWorker = Math.ceil(sc.connections / sc.processes);
  for (const [who, limit, needed] of [
    ['the broker', openFilesLimit(broker.pid), sc.connections + FD_MARGIN],
    ['a worker', openFilesLimit('self'), perWorker + FD_MARGIN],
  ] as const) {
    if (limit !== null && limit < needed) {
      throw new Error(`${who} may open only ${limit} files (ulimit -n) and needs about ${needed} for ${sc.connections} connections: run \`ulimit -n 4096\` in this shell first, or leave out ${sc.name}`);
    }
  }
}

export async function runIdle(sc: IdleScenario, ctx: RunContext, broker: BrokerProcess, run: number, workers: WorkerHandle[]): Promise<RunResult> {
  const anomalies: string[] = [];
  await sleep(sc.settleMs);
  const idleRssMB = rssMB(broker.pid);
  let connectedRssMB: number | null = null;
  let brokerCpuPct: number | null = null;
  const subCpuPct: number[] = [];

  if (sc.connections > 0) {
    checkFileLimits(sc, broker);
    const idPrefix = `bench-${process.pid}-${sc.name}-${run}`;
    const topic = `bench.idle.r${run}`;
    let left = sc.connections;
    for (let p = 0; p < sc.processes; p++) {
      const conns = Math.ceil(left / (sc.processes - p));
      left -= conns;
      workers.push(
        new WorkerHandle(`${sc.name}/conns${p}`, ctx.workerPath, {
          role: 'sub',
          port: broker.port,
          topic,
          idPrefix: `${idPrefix}-p${p}`,
          payloadBytes: ctx.payloadBytes,
          hardLimitMs: READY_TIMEOUT_MS + sc.settleMs + 60_000,
          conns,
          progressMs: 0,
        }),
      );
    }
    // All at once: the broker takes the connects of both processes interleaved, as it would.
    await Promise.all(workers.map((w) => w.next('ready', READY_TIMEOUT_MS)));
    const cpu0 = cpuSeconds(broker.pid);
    const t0 = performance.now();
    const snaps0 = await Promise.all(workers.map((w) => w.snap()));
    await sleep(sc.settleMs);
    connectedRssMB = rssMB(broker.pid);
    const cpu1 = cpuSeconds(broker.pid);
    const seconds = (performance.now() - t0) / 1000;
    brokerCpuPct = cpu0 !== null && cpu1 !== null ? (100 * (cpu1 - cpu0)) / seconds : null;
    const snaps1 = await Promise.all(workers.map((w) => w.snap()));
    snaps1.forEach((s, i) => subCpuPct.push((100 * (s.cpuMs - snaps0[i]!.cpuMs)) / (seconds * 1000)));
    const closed = snaps1.reduce((n, s) => n + s.closedConns, 0);
    if (closed > 0) anomalies.push(`the broker closed ${closed} of the ${sc.connections} idle connections`);
    const delivered = snaps1.reduce((n, s) => n + s.count, 0);
    if (delivered > 0) anomalies.push(`${delivered} deliveries on a topic nobody published to`);
  }
  if (!broker.alive()) anomalies.push('broker exited during the run');

  const perConnectionKB = connectedRssMB !== null && idleRssMB !== null && sc.connections > 0 ? ((connectedRssMB - idleRssMB) * 1024) / sc.connections : null;
  return {
    scenario: sc.name,
    run,
    // Nothing is published: n/a in the table.
    deliveriesPerSec: Number.NaN,
    deliveredPct: Number.NaN,
    sent: 0,
    received: 0,
    expected: 0,
    brokerCpuPct,
    brokerUsPerDelivery: null,
    brokerPeakRssMB: peakRssMB(broker.pid),
    pubCpuPct: null,
    subCpuPct,
    latency: null,
    idle: {
      connections: sc.connections,
      workerProcesses: sc.processes,
      settleMs: sc.settleMs,
      idleRssMB,
      connectedRssMB,
      perConnectionKB,
      targetIdleRssMB: sc.targetIdleRssMB,
    },
    anomalies,
  };
}
