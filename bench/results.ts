/** What one scenario run measured, and how repeated runs are folded into one table row. */
import { maxOf, median, minOf } from './stats.js';

/** Nearest-rank percentiles of a few samples, milliseconds. */
export interface MsPercentiles {
  p50: number;
  p99: number;
  max: number;
}

/** bridge-start: spawn -> `scripts.<key>.started` / `.ready` (and SIGTERM -> exit). */
export interface BridgeStartFigures {
  starts: number;
  warmupStarts: number;
  startedMs: MsPercentiles;
  readyMs: MsPercentiles;
  stopMs: MsPercentiles;
  /** VmRSS of the last bridge (joined, its script idle) `settleMs` after `@ready`, MiB; null off Linux. */
  idleRssMB: number | null;
  settleMs: number;
}

/** command-rtt: what the table's generic columns cannot say. */
export interface CommandRttFigures {
  requests: number;
  warmup: number;
  /** Replies checked against the expected echo: equals `requests` or the run failed. */
  verified: number;
  /** CPU of the bridge process and of its interpreter over the window, % of one core. */
  bridgeCpuPct: number | null;
  scriptCpuPct: number | null;
  clientCpuPct: number;
}

/** queue-latency: append -> delivery through `bridge tail`. */
export interface QueueLatencyFigures {
  ratePerSec: number;
  /** Timed lines, and untimed ones before them (the tail's start-up and the warm-up). */
  lines: number;
  warmupLines: number;
  received: number;
  latencyMs: MsPercentiles;
  p90Ms: number;
  targetP99Ms: number;
  /** Longest single appendFileSync (open-append-close). */
  appendMaxMs: number;
  /** Over the timed lines, % of one core. */
  tailCpuPct: number | null;
  clientCpuPct: number;
}

/** queue-backlog: spawn of `bridge tail` on a pre-filled file -> the last line delivered. */
export interface QueueBacklogFigures {
  lines: number;
  lineBytes: number;
  /** Spawn -> first and -> last line delivered (both include Node start-up of the tail). */
  firstLineMs: number;
  totalMs: number;
  /** Lines / (first -> last delivery): the rate once the tail is running. */
  steadyLinesPerSec: number;
  tailPeakRssMB: number | null;
  /** Tail CPU from spawn to the last delivery (start-up included), µs per line. */
  tailCpuUsPerLine: number | null;
  /**
   * The subscriber's CPU from its connect to the last delivery, µs per line: the third share
   * of the two cores' budget, beside the broker's and the tail's.
   */
  subCpuUsPerLine: number;
}

/** qos1-*: what the table's generic columns cannot say. */
export interface Qos1Figures {
  /** The journal's fsync policy; null for the in-memory broker. */
  fsync: string | null;
  /** Publish requests outstanding at once. */
  window: number;
  sent: number;
  answered: number;
  /** Error answers and answers not routed to the one subscriber (anomalies when not 0). */
  errors: number;
  misrouted: number;
  /** Deliveries/s the acking subscriber received over the window. */
  subDeliveriesPerSec: number;
  /** publish -> answer timings behind the latency columns. */
  latencySamples: number;
  /** The broker's `status.persistence` after the run, for persisted runs. */
  journal: {
    /** Journal appends per answered publish (enqueue + ack, and what else the broker journals). */
    appendsPerPublish: number | null;
    diskBytes: number | null;
    files: number | null;
    /** File system of the persistence directory (`/proc/mounts`). */
    fsType: string | null;
  } | null;
}

/** federation-*: the path A -> upstream -> B, and what the other two processes cost. */
export interface FederationFigures {
  engine: string;
  qos: 0 | 1;
  ratePerSec: number;
  /** Over the window, % of one core; the broker columns are broker A's. */
  subBrokerCpuPct: number | null;
  upstreamCpuPct: number | null;
  subBrokerPeakRssMB: number | null;
}

/** idle, idle-connections: the broker's resident memory at rest. */
export interface IdleFigures {
  /** Idle client connections (0: the broker alone), over `workerProcesses` processes. */
  connections: number;
  workerProcesses: number;
  settleMs: number;
  /** VmRSS `settleMs` after the broker listens, no clients. */
  idleRssMB: number | null;
  /** VmRSS `settleMs` after every connection was connected and subscribed; null without connections. */
  connectedRssMB: number | null;
  /** (connected - idle) / connections, KiB. */
  perConnectionKB: number | null;
  targetIdleRssMB: number;
}

export interface RunResult {
  scenario: string;
  run: number;
  /** Deliveries per second received by all subscriber connections, in the window. */
  deliveriesPerSec: number;
  /** Deliveries received (after draining) / deliveries expected (sent x subscribers). */
  deliveredPct: number;
  sent: number;
  received: number;
  expected: number;
  /** Broker CPU in the window, % of one core; null where /proc is not available. */
  brokerCpuPct: number | null;
  /** Broker CPU microseconds per delivery in the window. */
  brokerUsPerDelivery: number | null;
  brokerPeakRssMB: number | null;
  /** Client processes' CPU in the window, % of one core each. */
  pubCpuPct: number | null;
  subCpuPct: number[];
  /** Latency scenario only. */
  latency: { p50Us: number; p99Us: number; maxUs: number } | null;
  /** Bridge scenarios only. */
  bridgeStart?: BridgeStartFigures;
  commandRtt?: CommandRttFigures;
  queueLatency?: QueueLatencyFigures;
  queueBacklog?: QueueBacklogFigures;
  qos1?: Qos1Figures;
  federation?: FederationFigures;
  idle?: IdleFigures;
  /** Deliveries out of publish order plus connections the broker closed: anything but 0 is a bug. */
  anomalies: string[];
}

export interface FailedRun {
  scenario: string;
  run: number;
  error: string;
}

export type RunOutcome = RunResult | FailedRun;

export const isFailed = (r: RunOutcome): r is FailedRun => 'error' in r;

/** One table row: medians of the runs that worked; the worst delivered %, the highest RSS. */
export interface ScenarioSummary {
  scenario: string;
  runs: RunResult[];
  failures: FailedRun[];
  deliveriesPerSec: number | null;
  deliveredPct: number | null;
  brokerCpuPct: number | null;
  brokerUsPerDelivery: number | null;
  brokerPeakRssMB: number | null;
  pubCpuPct: number | null;
  subCpuPct: number[];
  latency: RunResult['latency'];
  /** Bridge and queue scenarios run once: the first run's figures. */
  bridgeStart: BridgeStartFigures | null;
  commandRtt: CommandRttFigures | null;
  queueLatency: QueueLatencyFigures | null;
  queueBacklog: QueueBacklogFigures | null;
  /** QoS 1 scenarios: the figures of the run with the median answers/s. */
  qos1: Qos1Figures | null;
  federation: FederationFigures | null;
  idle: IdleFigures | null;
  anomalies: string[];
}

export function summarize(scenario: string, outcomes: RunOutcome[]): ScenarioSummary {
  const runs = outcomes.filter((r): r is RunResult => !isFailed(r));
  const failures = outcomes.filter(isFailed);
  const mid = (pick: (r: RunResult) => number | null): number | null => median(runs.map(pick));
  const subProcesses = runs[0]?.subCpuPct.length ?? 0;
  return {
    scenario,
    runs,
    failures,
    deliveriesPerSec: mid((r) => r.deliveriesPerSec),
    deliveredPct: minOf(runs.map((r) => r.deliveredPct)),
    brokerCpuPct: mid((r) => r.brokerCpuPct),
    brokerUsPerDelivery: mid((r) => r.brokerUsPerDelivery),
    brokerPeakRssMB: maxOf(runs.map((r) => r.brokerPeakRssMB)),
    pubCpuPct: mid((r) => r.pubCpuPct),
    subCpuPct: Array.from({ length: subProcesses }, (_, i) => median(runs.map((r) => r.subCpuPct[i] ?? null)) ?? Number.NaN),
    // Latency is measured once; with repeats the median p50 run stands for the scenario.
    latency: runs.length > 0 && runs[0]!.latency ? medianLatency(runs) : null,
    bridgeStart: runs[0]?.bridgeStart ?? null,
    commandRtt: runs[0]?.commandRtt ?? null,
    queueLatency: runs[0]?.queueLatency ?? null,
    queueBacklog: runs[0]?.queueBacklog ?? null,
    qos1: medianRun(runs)?.qos1 ?? null,
    federation: runs[0]?.federation ?? null,
    idle: runs[0]?.idle ?? null,
    anomalies: [...new Set(runs.flatMap((r) => r.anomalies))],
  };
}

/** The run whose deliveries/s is the median (the lower middle one of an even count). */
function medianRun(runs: RunResult[]): RunResult | undefined {
  const sorted = [...runs].sort((a, b) => a.deliveriesPerSec - b.deliveriesPerSec);
  return sorted[(sorted.length - 1) >> 1];
}

function medianLatency(runs: RunResult[]): RunResult['latency'] {
  const sorted = runs.filter((r) => r.latency).sort((a, b) => a.latency!.p50Us - b.latency!.p50Us);
  return sorted[(sorted.length - 1) >> 1]?.latency ?? null;
}
