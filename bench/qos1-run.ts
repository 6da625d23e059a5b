/**
 * One run of a QoS 1 scenario: fresh broker (in memory, or with a fresh persistence
 * directory and one fsync policy), one subscriber process whose connection acks every
 * delivery, one QoS 1 publisher process.
 *
 *   subscribe -> publish requests, `qos1Window` unanswered at most (warm-up) -> window:
 *   answers counted and timed, broker CPU sampled at both ends -> stop the publisher, wait
 *   for its last answers -> drain the subscriber -> the broker's `status.persistence`
 *
 * The figure is answers per second: with persistence an answer means the message is in the
 * journal under the policy, so this is the rate at which a producer can hand messages to
 * the broker for keeps. The subscriber acks, so the journal sees what it does in steady
 * state (an enqueue and an ack per message) and compaction keeps the files bounded; the
 * end-to-end credit of the stream scenarios keeps it lossless.
 */
import type { BrokerProcess } from './broker-process.js';
import { BenchConnection } from './client.js';
import { OPEN_CREDIT, type Snapshot } from './ipc.js';
import { cpuUsPerEvent, fsTypeOf, peakRssMB } from './proc-stats.js';
import type { Qos1Figures, RunResult } from './results.js';
import { cpuPct, drain, measureWindow, PROGRESS_MS, rate, READY_TIMEOUT_MS, relayCredit, sleep } from './run-phases.js';
import type { Qos1Scenario, RunContext } from './scenarios.js';
import { WorkerHandle } from './worker-handle.js';

/** The publisher waits up to 10 s for its last answers after `stop`. */
const STOPPED_TIMEOUT_MS = 15_000;

/** `persistDir`: the run's persistence directory, or null for the in-memory broker. */
export async function runQos1(sc: Qos1Scenario, ctx: RunContext, broker: BrokerProcess, persistDir: string | null, run: number, workers: WorkerHandle[]): Promise<RunResult> {
  const topic = `bench.${sc.name.replace(/[^a-z0-9]/gi, '')}.r${run}`;
  const common = { port: broker.port, topic, payloadBytes: ctx.payloadBytes, hardLimitMs: ctx.warmupMs + ctx.measureMs + 60_000 };
  const idPrefix = `bench-${process.pid}-${sc.name}-${run}`;

  const sub = new WorkerHandle(`${sc.name}/sub`, ctx.workerPath, { ...common, role: 'sub', conns: 1, idPrefix: `${idPrefix}-sub`, progressMs: ctx.window > 0 ? PROGRESS_MS : 0, ack: true });
  workers.push(sub);
  await sub.next('ready', READY_TIMEOUT_MS);
  const pub = new WorkerHandle(`${sc.name}/pub`, ctx.workerPath, { ...common, role: 'qos1-pub', idPrefix: `${idPrefix}-pub`, window: ctx.qos1Window, expectDelivered: 1 });
  workers.push(pub);
  await pub.next('ready', READY_TIMEOUT_MS);

  if (ctx.window > 0) relayCredit([sub], pub, ctx.window);
  pub.send({ cmd: 'start', allowed: ctx.window > 0 ? ctx.window : OPEN_CREDIT });
  await sleep(ctx.warmupMs);

  const snapBoth = (): Promise<[Snapshot, Snapshot]> => Promise.all([pub.snap(), sub.snap()]);
  pub.send({ cmd: 'measure', on: true });
  const {
    before: [p0, s0],
    after: [p1, s1],
    brokerCpuPct,
  } = await measureWindow(broker, ctx.measureMs, snapBoth);
  pub.send({ cmd: 'measure', on: false });

  const stopped = pub.next('qos1-stopped', STOPPED_TIMEOUT_MS);
  pub.send({ cmd: 'stop' });
  const report = await stopped;
  const [final] = (await drain([sub], report.sent)) as [Snapshot];

  const answersPerSec = rate(p0, p1);
  const anomalies: string[] = [];
  if (report.answered < report.sent) anomalies.push(`${report.sent - report.answered} publishes never answered`);
  if (report.errors > 0) anomalies.push(`${report.errors} error answers (first: ${report.firstError})`);
  if (report.misrouted > 0) anomalies.push(`${report.misrouted} answers with delivered != 1`);
  if (final.outOfOrder > 0) anomalies.push(`${final.outOfOrder} deliveries out of order`);
  if (final.closedConns > 0) anomalies.push('subscriber connection closed by the broker');
  if (p1.closedConns > 0) anomalies.push('publisher connection closed by the broker');
  if (!broker.alive()) anomalies.push('broker exited during the run');

  let journal: Qos1Figures['journal'] = null;
  if (persistDir !== null) {
    const p = await persistenceStatus(broker.port, `${idPrefix}-status`);
    if (p?.enabled !== true || p.fsync !== sc.fsync) anomalies.push(`broker status says persistence ${JSON.stringify(p)}, expected fsync ${sc.fsync}`);
    const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
    const appends = num(p?.appends);
    journal = {
      appendsPerPublish: appends !== null && report.answered > 0 ? appends / report.answered : null,
      diskBytes: num(p?.bytes),
      files: num(p?.files),
      fsType: fsTypeOf(persistDir),
    };
  }

  return {
    scenario: sc.name,
    run,
    deliveriesPerSec: answersPerSec,
    deliveredPct: report.sent > 0 ? (100 * final.count) / report.sent : 0,
    sent: report.sent,
    received: final.count,
    expected: report.sent,
    brokerCpuPct,
    brokerUsPerDelivery: cpuUsPerEvent(brokerCpuPct, answersPerSec),
    brokerPeakRssMB: peakRssMB(broker.pid),
    pubCpuPct: cpuPct(p0, p1),
    subCpuPct: [cpuPct(s0, s1)],
    latency: report.samples > 0 ? { p50Us: report.p50Us, p99Us: report.p99Us, maxUs: report.maxUs } : null,
    qos1: {
      fsync: sc.fsync,
      window: ctx.qos1Window,
      sent: report.sent,
      answered: report.answered,
      errors: report.errors,
      misrouted: report.misrouted,
      subDeliveriesPerSec: rate(s0, s1),
      latencySamples: report.samples,
      journal,
    },
    anomalies,
  };
}

/**
 * The broker's `status.persistence`, asked after the measured span on a connection of the
 * orchestrator's own (a single call: it cannot disturb a figure already taken).
 */
async function persistenceStatus(port: number, clientId: string): Promise<Record<string, unknown> | null> {
  const conn = await BenchConnection.open(port, clientId);
  try {
    const status = (await conn.call('status', {})) as { persistence?: Record<string, unknown> };
    return status.persistence ?? null;
  } finally {
    conn.close();
  }
}
