/**
 * One run of a stream scenario: fresh broker, subscriber processes, one publisher process.
 *
 *   connect + subscribe -> publish (warm-up) -> window: counters and broker CPU sampled at
 *   both ends -> stop the publisher -> drain -> delivered % = received / (sent x subscribers)
 *
 * With `window > 0` the publisher may run at most that many messages ahead of the slowest
 * subscriber connection (credit relayed over IPC), so the figure is lossless sustained
 * throughput and the broker's queues stay bounded; the broker's --max-queue-size is set
 * above the window so its drop policy never triggers. With `window = 0` (open flow)
 * drops show up as delivered % below 100.
 */
import type { BrokerProcess } from './broker-process.js';
import { OPEN_CREDIT, type Snapshot } from './ipc.js';
import { peakRssMB, cpuUsPerEvent } from './proc-stats.js';
import type { RunResult } from './results.js';
import { cpuPct, drain, measureWindow, PROGRESS_MS, rate, READY_TIMEOUT_MS, relayCredit, sleep, sum } from './run-phases.js';
import type { RunContext, StreamScenario } from './scenarios.js';
import { WorkerHandle } from './worker-handle.js';

const STOP_TIMEOUT_MS = 5000;

export async function runStream(sc: StreamScenario, ctx: RunContext, broker: BrokerProcess, run: number, workers: WorkerHandle[]): Promise<RunResult> {
  const topic = `bench.${sc.name.replace(/[^a-z0-9]/gi, '')}.r${run}`;
  const common = { port: broker.port, topic, payloadBytes: ctx.payloadBytes, hardLimitMs: ctx.warmupMs + ctx.measureMs + 60_000 };
  const idPrefix = `bench-${process.pid}-${sc.name}-${run}`;
  const subscriberConns = sum(sc.subProcesses);

  const subs = sc.subProcesses.map(
    (conns, i) =>
      new WorkerHandle(`${sc.name}/sub${i}`, ctx.workerPath, {
        ...common,
        role: 'sub',
        conns,
        idPrefix: `${idPrefix}-sub${i}`,
        progressMs: ctx.window > 0 ? PROGRESS_MS : 0,
      }),
  );
  workers.push(...subs);
  await Promise.all(subs.map((w) => w.next('ready', READY_TIMEOUT_MS)));
  const pub = new WorkerHandle(`${sc.name}/pub`, ctx.workerPath, { ...common, role: 'pub', idPrefix: `${idPrefix}-pub` });
  workers.push(pub);
  await pub.next('ready', READY_TIMEOUT_MS);

  if (ctx.window > 0) relayCredit(subs, pub, ctx.window);
  pub.send({ cmd: 'start', allowed: ctx.window > 0 ? ctx.window : OPEN_CREDIT });
  await sleep(ctx.warmupMs);

  const snapAll = (): Promise<[Snapshot, Snapshot[]]> => Promise.all([pub.snap(), Promise.all(subs.map((w) => w.snap()))]);
  const {
    before: [p0, s0],
    after: [p1, s1],
    brokerCpuPct,
  } = await measureWindow(broker, ctx.measureMs, snapAll);

  const stopped = pub.next('stopped', STOP_TIMEOUT_MS);
  pub.send({ cmd: 'stop' });
  const { sent } = await stopped;
  const expected = sent * subscriberConns;
  const final = await drain(subs, expected);
  const received = sum(final.map((s) => s.count));

  const deliveriesPerSec = sum(subs.map((_, i) => rate(s0[i]!, s1[i]!)));
  const anomalies: string[] = [];
  const outOfOrder = sum(final.map((s) => s.outOfOrder));
  const closed = sum(final.map((s) => s.closedConns));
  if (outOfOrder > 0) anomalies.push(`${outOfOrder} deliveries out of order`);
  if (closed > 0) anomalies.push(`${closed}/${subscriberConns} subscriber connections closed by the broker`);
  if (p1.closedConns > 0) anomalies.push('publisher connection closed by the broker');
  if (!broker.alive()) anomalies.push('broker exited during the run');
  return {
    scenario: sc.name,
    run,
    deliveriesPerSec,
    deliveredPct: expected > 0 ? (100 * received) / expected : 0,
    sent,
    received,
    expected,
    brokerCpuPct,
    brokerUsPerDelivery: cpuUsPerEvent(brokerCpuPct, deliveriesPerSec),
    brokerPeakRssMB: peakRssMB(broker.pid),
    pubCpuPct: cpuPct(p0, p1),
    subCpuPct: subs.map((_, i) => cpuPct(s0[i]!, s1[i]!)),
    latency: null,
    anomalies,
  };
}
