/** The scenarios `npm run bench` knows, and the settings every run shares. */

/** Publisher(s) stream to subscribers as fast as the pipeline allows. */
export interface StreamScenario {
  kind: 'stream';
  name: string;
  /** Subscriber connections per subscriber process: [5, 5] = 10 connections in 2 processes. */
  subProcesses: number[];
  description: string;
}

/** Paced publishing, one process for both ends, latency percentiles. */
export interface LatencyScenario {
  kind: 'latency';
  name: string;
  ratePerSec: number;
  description: string;
}

export type Scenario = StreamScenario | LatencyScenario;

// Names match the peer harness (shared/peer-bench) so the two tables line up.
export const SCENARIOS: readonly Scenario[] = [
  { kind: 'stream', name: 'throughput-1to1', subProcesses: [1], description: '1 publisher process -> 1 subscriber process' },
  { kind: 'stream', name: 'fanout-1to10', subProcesses: [5, 5], description: '1 publisher -> 10 subscriber connections in 2 processes' },
  { kind: 'latency', name: 'latency', ratePerSec: 2000, description: '1 pub + 1 sub connection in one process, 2,000 msg/s' },
];

export const scenarioNames = (): string[] => SCENARIOS.map((s) => s.name);

/** Settings shared by every run. */
export interface RunContext {
  /** dist/bridge/cli.js: the broker is started through the real CLI. */
  cliPath: string;
  /** dist/bench/worker.js */
  workerPath: string;
  warmupMs: number;
  measureMs: number;
  /** End-to-end credit in messages (publisher ahead of the slowest subscriber); 0 = open flow. */
  window: number;
  payloadBytes: number;
  /** The broker's --max-queue-size. */
  maxQueueSize: number;
}
