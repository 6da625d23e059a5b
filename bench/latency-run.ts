/**
 * One run of the latency scenario: fresh broker, one worker holding both connections.
 * The worker announces the start and end of its measured window so broker CPU is sampled
 * over exactly that span. The federation scenarios use it too: publisher on broker A,
 * subscriber on broker B, the two joined through an upstream engine.
 */
import { performance } from 'node:perf_hooks';
import type { BrokerProcess } from './broker-process.js';
import { peakRssMB, cpuSeconds, cpuUsPerEvent } from './proc-stats.js';
import type { RunResult } from './results.js';
import type { FederationLatencyScenario, LatencyScenario, RunContext } from './scenarios.js';
import type { UpstreamProcess } from './upstream-process.js';
import { WorkerHandle } from './worker-handle.js';

const READY_TIMEOUT_MS = 20_000;
/** Slack on top of the scenario's own duration for each awaited event. */
const EVENT_SLACK_MS = 10_000;

/** Attach a no-op handler so a promise awaited later never counts as unhandled meanwhile. */
function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** The federation scenarios' other processes: the subscriber's broker and the engine between. */
export interface FederationPath {
  scenario: FederationLatencyScenario;
  subBroker: BrokerProcess;
  upstream: UpstreamProcess;
}

const pct = (a: number | null, b: number | null, seconds: number): number | null => (a !== null && b !== null ? (100 * (b - a)) / seconds : null);

export async function runLatency(
  sc: LatencyScenario | FederationLatencyScenario,
  ctx: RunContext,
  broker: BrokerProcess,
  run: number,
  workers: WorkerHandle[],
  federation: FederationPath | null = null,
): Promise<RunResult> {
  const totalMs = ctx.warmupMs + ctx.measureMs;
  const w = new WorkerHandle(`${sc.name}/pubsub`, ctx.workerPath, {
    role: 'latency',
    port: broker.port,
    topic: `bench.latency.r${run}`,
    idPrefix: `bench-${process.pid}-latency-${run}`,
    payloadBytes: ctx.payloadBytes,
    hardLimitMs: totalMs + 60_000,
    ratePerSec: sc.ratePerSec,
    warmupMs: ctx.warmupMs,
    measureMs: ctx.measureMs,
    ...(federation ? { subPort: federation.subBroker.port, qos1: federation.scenario.qos === 1 } : {}),
  });
  workers.push(w);
  await w.next('ready', READY_TIMEOUT_MS);

  const measuring = later(w.next('measuring', ctx.warmupMs + EVENT_SLACK_MS));
  const measured = later(w.next('measured', totalMs + EVENT_SLACK_MS));
  const report = later(w.next('latency', totalMs + 2 * EVENT_SLACK_MS));
  w.send({ cmd: 'start', allowed: 0 });
  await measuring;
  const cpu0 = cpuSeconds(broker.pid);
  const others0 = federation ? [cpuSeconds(federation.subBroker.pid), federation.upstream.cpuSeconds()] : [];
  const t0 = performance.now();
  await measured;
  const cpu1 = cpuSeconds(broker.pid);
  const others1 = federation ? [cpuSeconds(federation.subBroker.pid), federation.upstream.cpuSeconds()] : [];
  const t1 = performance.now();
  const r = await report;

  const deliveriesPerSec = (r.received * 1000) / r.windowMs;
  const brokerCpuPct = cpu0 !== null && cpu1 !== null ? (100 * (cpu1 - cpu0)) / ((t1 - t0) / 1000) : null;
  const anomalies: string[] = [];
  if (!broker.alive()) anomalies.push('broker exited during the run');
  if (federation && !federation.subBroker.alive()) anomalies.push('broker B exited during the run');
  if (r.errors) anomalies.push(`${r.errors} publishes answered with an error`);
  return {
    scenario: sc.name,
    run,
    deliveriesPerSec,
    deliveredPct: r.sent > 0 ? (100 * r.received) / r.sent : 0,
    sent: r.sent,
    received: r.received,
    expected: r.sent,
    brokerCpuPct,
    brokerUsPerDelivery: cpuUsPerEvent(brokerCpuPct, deliveriesPerSec),
    brokerPeakRssMB: peakRssMB(broker.pid),
    pubCpuPct: null,
    subCpuPct: [(100 * r.cpuMs) / r.windowMs],
    latency: { p50Us: r.p50Us, p99Us: r.p99Us, maxUs: r.maxUs },
    ...(federation
      ? {
          federation: {
            engine: federation.upstream.engine,
            qos: federation.scenario.qos,
            ratePerSec: federation.scenario.ratePerSec,
            subBrokerCpuPct: pct(others0[0] ?? null, others1[0] ?? null, (t1 - t0) / 1000),
            upstreamCpuPct: pct(others0[1] ?? null, others1[1] ?? null, (t1 - t0) / 1000),
            subBrokerPeakRssMB: peakRssMB(federation.subBroker.pid),
          },
        }
      : {}),
    anomalies,
  };
}
