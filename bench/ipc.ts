/**
 * The messages between the orchestrator (run.ts) and its worker processes (worker.ts),
 * over Node's fork IPC channel. Workers get their settings as one JSON argument and then
 * only take short commands, so nothing on this channel competes with the measured traffic.
 */

interface CommonInit {
  /** Broker port on 127.0.0.1. */
  port: number;
  topic: string;
  /** Client ids are `${idPrefix}-${n}`: unique per run, so no session is ever taken over. */
  idPrefix: string;
  payloadBytes: number;
  /** The worker exits by itself after this long, whatever happens to the orchestrator. */
  hardLimitMs: number;
}

/** Subscriber process: `conns` connections, each subscribed to `topic`. */
export interface SubscriberInit extends CommonInit {
  role: 'sub';
  conns: number;
  /** Report the slowest connection's count this often (0 = never; open flow). */
  progressMs: number;
  /** `ack` every delivery (QoS 1 scenarios: the broker, and its journal, then forget it). */
  ack?: boolean;
}

/** Publisher process: one connection publishing as fast as credit and TCP allow. */
export interface PublisherInit extends CommonInit {
  role: 'pub';
}

/**
 * QoS 1 publisher process: one connection sending `publish` requests (`qos: 1`, with ids),
 * at most `window` of them unanswered at a time, as fast as answers and credit allow.
 */
export interface Qos1PublisherInit extends CommonInit {
  role: 'qos1-pub';
  /** Publish requests outstanding at once. */
  window: number;
  /** Sessions each publish must reach (`delivered` in its answer); others are counted. */
  expectDelivered: number;
}

/** Latency process: a publisher and a subscriber connection sharing one clock. */
export interface LatencyInit extends CommonInit {
  role: 'latency';
  ratePerSec: number;
  warmupMs: number;
  measureMs: number;
  /**
   * The subscriber's broker, when not `port` (federation: publish on broker A, receive on
   * broker B; one process still, so one clock stamps and reads).
   */
  subPort?: number;
  /** Publish QoS 1 requests (answers counted, not timed) and ack every delivery. */
  qos1?: boolean;
}

/** Command round trips: one connection sending `request`s on `topic`, one at a time. */
export interface CommandRttInit {
  role: 'command-rtt';
  port: number;
  /** `scripts.<key>.command.<name>`; replies must be `{"echo": <payload>, "name": <name>}`. */
  topic: string;
  name: string;
  idPrefix: string;
  hardLimitMs: number;
  warmup: number;
  requests: number;
}

/**
 * Queue latency: appends `TOPIC|payload` lines to a queue file that `bridge tail` follows,
 * and a subscriber connection on the tail's topic, sharing one clock.
 */
export interface QueueLatencyInit {
  role: 'queue-latency';
  port: number;
  /** The queue file (exists, tailed by the bridge). */
  file: string;
  /** The legacy name written before the `|`; the tail maps it to `topic`. */
  legacyName: string;
  topic: string;
  idPrefix: string;
  hardLimitMs: number;
  ratePerSec: number;
  /** Appending starts untimed; the timed lines begin this long after the first delivery. */
  warmupMs: number;
  /** Timed lines. */
  lines: number;
  /** Bound on the first delivery (includes the tail's start-up). */
  firstLineTimeoutMs: number;
}

/** Queue backlog: one subscriber connection that checks every line of a pre-filled queue file. */
export interface QueueBacklogInit {
  role: 'queue-sub';
  port: number;
  topic: string;
  idPrefix: string;
  hardLimitMs: number;
  /** Lines in the file; line `seq` starts at byte `seq * lineBytes` (fixed-width lines). */
  lines: number;
  lineBytes: number;
}

export type WorkerInit = SubscriberInit | PublisherInit | Qos1PublisherInit | LatencyInit | CommandRttInit | QueueLatencyInit | QueueBacklogInit;

/** Orchestrator to worker. */
export type Command =
  /** Publisher: start, allowed to send messages with seq < `allowed`. Latency: start pacing. Command-rtt: start requesting. */
  | { cmd: 'start'; allowed: number }
  /** Publisher: more credit (end-to-end flow control). */
  | { cmd: 'credit'; allowed: number }
  | { cmd: 'snap' }
  /** QoS 1 publisher: keep publish -> answer times from now on (`on`), or stop keeping them. */
  | { cmd: 'measure'; on: boolean }
  /** Queue backlog: which lines have not arrived (after a timeout). */
  | { cmd: 'missing' }
  /** Publisher: stop publishing and report how many were sent. */
  | { cmd: 'stop' }
  | { cmd: 'exit' };

/** A worker's counters at one instant, on its own monotonic clock. */
export interface Snapshot {
  ev: 'snap';
  /** Deliveries received (subscriber) or messages published (publisher). */
  count: number;
  /** Lowest per-connection count (subscriber); equals `count` for a publisher. */
  min: number;
  atMs: number;
  /** CPU milliseconds this worker process has used so far. */
  cpuMs: number;
  /** Connections the broker closed under us. */
  closedConns: number;
  /** Deliveries that arrived out of publish order (must stay 0). */
  outOfOrder: number;
}

export interface LatencyReport {
  ev: 'latency';
  /** QoS 1: publish requests the broker answered with an error (must stay 0). */
  errors?: number;
  /** Messages published during the measured window. */
  sent: number;
  /** Of those, how many came back. */
  received: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  cpuMs: number;
  windowMs: number;
}

export interface RttReport {
  ev: 'rtt';
  /** Timed round trips, every reply checked. */
  verified: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  cpuMs: number;
  windowMs: number;
}

export interface QueueLatencyReport {
  ev: 'queue-latency';
  /** Timed lines appended, and how many of them were delivered. */
  sent: number;
  received: number;
  /** Untimed lines appended before the timed ones. */
  warmupLines: number;
  /** Append -> delivery, nanosecond samples summarised in µs. */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  /** Longest single appendFileSync (open-append-close), µs. */
  appendMaxUs: number;
  /** Deliveries of any line that came at or below an already delivered seq (must stay 0). */
  outOfOrder: number;
  cpuMs: number;
  windowMs: number;
}

/** QoS 1 publisher, after `stop`: every publish answered (or the wait for answers gave up). */
export interface Qos1Report {
  ev: 'qos1-stopped';
  sent: number;
  answered: number;
  /** Error answers, and answers whose `delivered` was not the expected count (both must stay 0). */
  errors: number;
  misrouted: number;
  /** The first error answer, for the report. */
  firstError: string | null;
  /** Publish -> answer over the measured span, µs; `samples` answers timed. */
  p50Us: number;
  p99Us: number;
  maxUs: number;
  samples: number;
}

/** Queue backlog: every line arrived; times on the shared monotonic clock (hrtimeMs). */
export interface QueueBacklogReport {
  ev: 'queue-done';
  /** Distinct lines delivered (= lines). */
  received: number;
  /** Deliveries of a line already delivered, and deliveries below the highest seq so far. */
  duplicates: number;
  outOfOrder: number;
  /** Deliveries whose queue_id did not end with the line's own byte offset. */
  badQueueIds: number;
  firstAtMs: number;
  lastAtMs: number;
  cpuMs: number;
}

/** Queue backlog: the lines not delivered yet, as seq ranges (the first few). */
export interface QueueMissingReport {
  ev: 'queue-missing';
  missing: number;
  ranges: Array<[number, number]>;
  /** Frames the subscriber could not decode, and whether the broker closed its connection. */
  badFrames: number;
  closed: boolean;
}

/** Worker to orchestrator. */
export type WorkerEvent =
  | { ev: 'ready' }
  | { ev: 'progress'; min: number }
  | Snapshot
  | { ev: 'stopped'; sent: number }
  /** Latency, command-rtt: the measured window begins / ends (the orchestrator samples broker CPU). */
  | { ev: 'measuring' }
  | { ev: 'measured' }
  | LatencyReport
  | RttReport
  | QueueLatencyReport
  | Qos1Report
  | QueueBacklogReport
  | QueueMissingReport
  | { ev: 'error'; message: string };

export type WorkerEventName = WorkerEvent['ev'];
export type EventOf<E extends WorkerEventName> = Extract<WorkerEvent, { ev: E }>;

/** Publisher credit meaning "unlimited" (IPC is JSON, so Infinity is not an option). */
export const OPEN_CREDIT = Number.MAX_SAFE_INTEGER;
