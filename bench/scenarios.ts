/** The scenarios `npm run bench` knows, and the settings every run shares. */

/** Publisher(s) stream to subscribers as fast as the pipeline allows. */
export interface StreamScenario {
  kind: 'stream';
  name: string;
  /** Subscriber connections per subscriber process: [5, 5] = 10 connections in 2 processes. */
  subProcesses: number[];
  description: string;
}

/** When a persisted broker's journal appends count as durable (`--persistence-fsync`). */
export type FsyncPolicy = 'always' | 'batch' | 'never';

/**
 * QoS 1 publish requests with a window outstanding -> 1 acking subscriber: answers/s, and
 * publish -> answer latency. `fsync: null` is the in-memory broker; otherwise the broker
 * runs with `--persist <fresh dir> --persistence-fsync <fsync>`.
 */
export interface Qos1Scenario {
  kind: 'qos1';
  name: string;
  fsync: FsyncPolicy | null;
  description: string;
}

/** Paced publishing, one process for both ends, latency percentiles. */
export interface LatencyScenario {
  kind: 'latency';
  name: string;
  ratePerSec: number;
  description: string;
}

/**
 * Two brokers joined through an upstream engine (`--upstream`): paced publishes on broker
 * A, one subscriber on broker B, publish -> delivery latency. Opt-in: it needs the
 * engine's Debian package (nats-server, mosquitto), so `npm run bench` runs it only when named.
 */
export interface FederationLatencyScenario {
  kind: 'federation-latency';
  name: string;
  engine: 'nats' | 'mqtt';
  ratePerSec: number;
  qos: 0 | 1;
  optIn: true;
  description: string;
}

/** Spawn `bridge run echo.ahk` again and again: time to its `started` and `ready` events. */
export interface BridgeStartScenario {
  kind: 'bridge-start';
  name: string;
  /** Timed starts, after `warmupStarts` untimed ones. */
  starts: number;
  warmupStarts: number;
  /** After the last start's `@ready`, how long before that bridge's VmRSS is read as its idle size. */
  settleMs: number;
  description: string;
}

/** Sequential command requests through one running bridge and its script. */
export interface CommandRttScenario {
  kind: 'command-rtt';
  name: string;
  /** Timed round trips, after `warmup` untimed ones. */
  requests: number;
  warmup: number;
  description: string;
}

/** `bridge tail` on a queue file: paced appends (open-append-close per line), append -> delivery. */
export interface QueueLatencyScenario {
  kind: 'queue-latency';
  name: string;
  ratePerSec: number;
  /** Untimed appending after the first line came back. */
  warmupMs: number;
  /** Timed lines. */
  lines: number;
  /** The target for the p99, ms. */
  targetP99Ms: number;
  description: string;
}

/** `bridge tail` started on a pre-filled queue file: spawn -> every line delivered. */
export interface QueueBacklogScenario {
  kind: 'queue-backlog';
  name: string;
  lines: number;
  description: string;
}

/**
 * A fresh broker left idle: its RSS once listening, then (with `connections`) with that
 * many TCP connections from worker processes, each `connect`ed under its own client id and
 * subscribed to one topic, doing nothing. RSS is read `settleMs` after each step.
 */
export interface IdleScenario {
  kind: 'idle';
  name: string;
  /** Idle client connections; 0 = the broker alone. */
  connections: number;
  /** Worker processes the connections are spread over. */
  processes: number;
  settleMs: number;
  /** The bound on the broker's idle RSS, MB (the broker alone). */
  targetIdleRssMB: number;
  /**
   * Opt-in with connections: the broker then needs more open files than the usual default
   * `ulimit -n` of 1,024 allows, so `npm run bench` runs it only when named.
   */
  optIn?: true;
  description: string;
}

export type Scenario =
  | StreamScenario
  | Qos1Scenario
  | LatencyScenario
  | BridgeStartScenario
  | CommandRttScenario
  | QueueLatencyScenario
  | QueueBacklogScenario
  | FederationLatencyScenario
  | IdleScenario;

/** The script and interpreter of the bridge scenarios, relative to the project root. */
export const BRIDGE_SCRIPT = 'fixtures/scripts/echo.ahk';
export const BRIDGE_INTERPRETER = 'fixtures/fake-ahk/AutoHotkey.mjs';

// Names match the peer harness (shared/peer-bench) so the two tables line up.
export const SCENARIOS: readonly Scenario[] = [
  { kind: 'stream', name: 'throughput-1to1', subProcesses: [1], description: '1 publisher process -> 1 subscriber process' },
  { kind: 'stream', name: 'fanout-1to10', subProcesses: [5, 5], description: '1 publisher -> 10 subscriber connections in 2 processes' },
  { kind: 'qos1', name: 'qos1-memory', fsync: null, description: 'QoS 1 publish requests (window outstanding) -> 1 acking subscriber, in-memory broker' },
  { kind: 'qos1', name: 'qos1-persist-always', fsync: 'always', description: 'as qos1-memory, broker with --persist, fsync always (one fsync per append)' },
  { kind: 'qos1', name: 'qos1-persist-batch', fsync: 'batch', description: 'as qos1-memory, broker with --persist, fsync batch (appends within ~2 ms share an fsync)' },
  { kind: 'qos1', name: 'qos1-persist-never', fsync: 'never', description: 'as qos1-memory, broker with --persist, fsync never (written, not fsynced)' },
  { kind: 'latency', name: 'latency', ratePerSec: 2000, description: '1 pub + 1 sub connection in one process, 2,000 msg/s' },
  { kind: 'bridge-start', name: 'bridge-start', starts: 10, warmupStarts: 1, settleMs: 2000, description: 'spawn `bridge run echo.ahk` -> scripts.<key>.started / .ready, 10 starts; the last bridge\'s RSS 2 s after @ready' },
  { kind: 'command-rtt', name: 'command-rtt', requests: 2000, warmup: 100, description: 'sequential requests client -> broker -> bridge -> script -> back' },
  { kind: 'queue-latency', name: 'queue-latency', ratePerSec: 50, warmupMs: 2000, lines: 500, targetP99Ms: 100, description: 'FileAppend-style appends at 50 lines/s -> `bridge tail` -> subscriber, append -> delivery' },
  { kind: 'queue-backlog', name: 'queue-backlog', lines: 200_000, description: 'spawn `bridge tail` on a pre-filled queue file -> every line delivered' },
  { kind: 'idle', name: 'idle', connections: 0, processes: 0, settleMs: 2000, targetIdleRssMB: 48, description: 'a fresh broker, no clients: RSS 2 s after it listens' },
  {
    kind: 'idle',
    name: 'idle-connections',
    connections: 1000,
    processes: 2,
    settleMs: 2000,
    targetIdleRssMB: 48,
    optIn: true,
    description: 'a fresh broker, then 1,000 connections (connect + 1 subscription each) from 2 worker processes, idle: RSS before and with them, KB per connection',
  },
  {
    kind: 'federation-latency',
    name: 'federation-nats',
    engine: 'nats',
    ratePerSec: 1000,
    qos: 0,
    optIn: true,
    description: 'broker A -> nats-server -> broker B (both `--upstream nats://...`), 1,000 msg/s QoS 0, publish -> delivery',
  },
  {
    kind: 'federation-latency',
    name: 'federation-nats-qos1',
    engine: 'nats',
    ratePerSec: 1000,
    qos: 1,
    optIn: true,
    description: 'as federation-nats, QoS 1 publishes (each acked across by broker B) and an acking subscriber',
  },
  {
    kind: 'federation-latency',
    name: 'federation-mqtt',
    engine: 'mqtt',
    ratePerSec: 1000,
    qos: 0,
    optIn: true,
    description: 'broker A -> mosquitto -> broker B (both `--upstream mqtt://...`), 1,000 msg/s QoS 0, publish -> delivery',
  },
  {
    kind: 'federation-latency',
    name: 'federation-mqtt-qos1',
    engine: 'mqtt',
    ratePerSec: 1000,
    qos: 1,
    optIn: true,
    description: 'as federation-mqtt, QoS 1 publishes (MQTT QoS 1 both hops) and an acking subscriber',
  },
];

/** The legacy name queue lines are written with; the tail maps it (`--map`) to the run's topic. */
export const QUEUE_LEGACY_NAME = 'BENCH_EVENT';

export const scenarioNames = (): string[] => SCENARIOS.map((s) => s.name);

/** What `npm run bench` runs without `--scenarios`: all but the opt-in ones (federation-*, idle-connections). */
export const defaultScenarioNames = (): string[] => SCENARIOS.filter((s) => !('optIn' in s)).map((s) => s.name);

/** Settings shared by every run. */
export interface RunContext {
  /** The project root: the bridge scenarios run there, with the paths above. */
  projectRoot: string;
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
  /** QoS 1 scenarios: publish requests outstanding at once. */
  qos1Window: number;
  /** QoS 1 persisted scenarios: the folder each run's fresh persistence directory is made in. */
  persistParent: string;
  /** Start the broker with its status page on (`--http`, any free port, nobody viewing). */
  http: boolean;
}
