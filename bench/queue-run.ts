/**
 * The file-IPC scenarios: `bridge tail <file>` (the real CLI, joined to the run's broker)
 * follows a queue file in a fresh temp folder, which is removed afterwards.
 *
 * - queue-latency: a worker appends `BENCH_EVENT|{"seq":N,"t":T}` lines, one
 *   open-append-close each (fs.appendFileSync, like AutoHotkey's FileAppend), at a steady
 *   pace, and its own subscriber connection times append -> delivery on the same clock
 *   (roles/queue-latency.ts). Broker and tail CPU are read over the timed lines.
 * - queue-backlog: the file is written with all its lines in one write, a worker
 *   subscribes, then the tail is spawned; the figure runs from just before spawn() to the
 *   worker decoding the last line (both read the system-wide monotonic clock), so it
 *   includes Node start-up of the tail. Every line is checked (roles/queue-backlog.ts).
 *
 * The tail is stopped with SIGTERM (that PID only) before the runner stops the broker.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BrokerProcess } from './broker-process.js';
import { startTail, type BridgeExit, type BridgeProcess } from './bridge-process.js';
import { BenchConnection } from './client.js';
import { peakRssMB, cpuSeconds, cpuUsPerEvent } from './proc-stats.js';
import type { RunResult } from './results.js';
import { QUEUE_LEGACY_NAME, type QueueBacklogScenario, type QueueLatencyScenario, type RunContext } from './scenarios.js';
import { monotonicMs } from './stats.js';
import { WorkerHandle } from './worker-handle.js';

const WORKER_READY_TIMEOUT_MS = 20_000;
/** First line appended -> first delivery: covers Node start-up of the tail. */
const FIRST_LINE_TIMEOUT_MS = 20_000;
const EVENT_SLACK_MS = 20_000;
/** Spawn -> every backlog line delivered; a healthy run takes a few seconds. */
const BACKLOG_TIMEOUT_MS = Number(process.env.BENCH_QUEUE_BACKLOG_TIMEOUT_MS) || 120_000;
/** Width of the seq slot in backlog lines (right-aligned, spaces: valid JSON, fixed-width lines). */
const SEQ_WIDTH = 9;
const DIAGNOSIS_TIMEOUT_MS = 5000;

function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

const cpuPct = (a: number | null, b: number | null, ms: number): number | null => (a !== null && b !== null && ms > 0 ? (100 * (b - a)) / (ms / 1000) : null);

function logOf(proc: BridgeProcess): string {
  const log = proc.logTail();
  return log ? ` (tail log: ${log.split('\n').slice(-3).join(' | ')})` : '';
}

/** `p`, or a rejection as soon as the tail exits first. */
function whileRunning<T>(p: Promise<T>, tail: BridgeProcess, what: string): Promise<T> {
  const exit = tail.exited.then((e): never => {
    throw new Error(`bridge tail exited (${e.code ?? e.signal}) before ${what}${logOf(tail)}`);
  });
  exit.catch(() => {});
  return Promise.race([p, exit]);
}

function tempQueue(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ahk-bridge-bench-'));
  return { dir, file: path.join(dir, 'broker_queue.txt') };
}

/** Anomalies every queue run checks after stopping the tail. */
function afterStop(exit: BridgeExit, file: string, broker: BrokerProcess): string[] {
  const anomalies: string[] = [];
  if (exit.killed) anomalies.push('bridge tail ignored SIGTERM (killed)');
  else if (exit.code !== 0) anomalies.push(`bridge tail exited ${exit.code ?? exit.signal} after SIGTERM`);
  let dead = 0;
  try {
    dead = statSync(`${file}.dead`).size;
  } catch {
    // no dead-letter file: nothing was unpublishable
  }
  if (dead > 0) anomalies.push(`${dead} bytes dead-lettered`);
  if (!broker.alive()) anomalies.push('broker exited during the run');
  return anomalies;
}

export async function runQueueLatency(sc: QueueLatencyScenario, ctx: RunContext, broker: BrokerProcess, run: number, workers: WorkerHandle[]): Promise<RunResult> {
  const { dir, file } = tempQueue();
  writeFileSync(file, ''); // the legacy script's queue exists before the tail starts
  const topic = `bench.queue.latency.r${run}`;
  let tail: BridgeProcess | null = null;
  let w: WorkerHandle | null = null;
  try {
    const timedMs = (sc.lines * 1000) / sc.ratePerSec;
    w = new WorkerHandle(`${sc.name}/writer+sub`, ctx.workerPath, {
      role: 'queue-latency',
      port: broker.port,
      file,
      legacyName: QUEUE_LEGACY_NAME,
      topic,
      idPrefix: `bench-${process.pid}-${sc.name}-${run}`,
      hardLimitMs: FIRST_LINE_TIMEOUT_MS + sc.warmupMs + timedMs + 2 * EVENT_SLACK_MS + 30_000,
      ratePerSec: sc.ratePerSec,
      warmupMs: sc.warmupMs,
      lines: sc.lines,
      firstLineTimeoutMs: FIRST_LINE_TIMEOUT_MS,
    });
    workers.push(w);
    await w.next('ready', WORKER_READY_TIMEOUT_MS);

    tail = startTail({ cliPath: ctx.cliPath, cwd: ctx.projectRoot, file, map: { [QUEUE_LEGACY_NAME]: topic }, brokerPort: broker.port });
    const measuring = later(w.next('measuring', FIRST_LINE_TIMEOUT_MS + sc.warmupMs + EVENT_SLACK_MS));
    const measured = later(w.next('measured', FIRST_LINE_TIMEOUT_MS + sc.warmupMs + timedMs + EVENT_SLACK_MS));
    const report = later(w.next('queue-latency', FIRST_LINE_TIMEOUT_MS + sc.warmupMs + timedMs + 2 * EVENT_SLACK_MS));
    w.send({ cmd: 'start', allowed: 0 });
    await whileRunning(measuring, tail, 'the warm-up ended');
    const read = (): (number | null)[] => [cpuSeconds(broker.pid), cpuSeconds(tail!.pid)];
    const cpu0 = read();
    const t0 = performance.now();
    await whileRunning(measured, tail, 'the last timed append');
    const cpu1 = read();
    const spanMs = performance.now() - t0;
    const r = await whileRunning(report, tail, 'the last timed line was delivered');

    const exit = await tail.stop();
    tail = null;
    const anomalies = afterStop(exit, file, broker);
    if (r.outOfOrder > 0) anomalies.push(`${r.outOfOrder} deliveries repeated or out of file order`);
    if (r.received < r.sent) anomalies.push(`${r.sent - r.received} of ${r.sent} timed lines not delivered within 3 s`);

    const linesPerSec = (r.received * 1000) / r.windowMs;
    const brokerCpuPct = cpuPct(cpu0[0]!, cpu1[0]!, spanMs);
    return {
      scenario: sc.name,
      run,
      deliveriesPerSec: linesPerSec,
      deliveredPct: (100 * r.received) / r.sent,
      sent: r.sent,
      received: r.received,
      expected: r.sent,
      brokerCpuPct,
      brokerUsPerDelivery: cpuUsPerEvent(brokerCpuPct, linesPerSec),
      brokerPeakRssMB: peakRssMB(broker.pid),
      pubCpuPct: null,
      subCpuPct: [(100 * r.cpuMs) / r.windowMs],
      latency: { p50Us: r.p50Us, p99Us: r.p99Us, maxUs: r.maxUs },
      queueLatency: {
        ratePerSec: sc.ratePerSec,
        lines: sc.lines,
        warmupLines: r.warmupLines,
        received: r.received,
        latencyMs: { p50: r.p50Us / 1000, p99: r.p99Us / 1000, max: r.maxUs / 1000 },
        p90Ms: r.p90Us / 1000,
        targetP99Ms: sc.targetP99Ms,
        appendMaxMs: r.appendMaxUs / 1000,
        tailCpuPct: cpuPct(cpu0[1]!, cpu1[1]!, spanMs),
        clientCpuPct: (100 * r.cpuMs) / r.windowMs,
      },
      anomalies,
    };
  } finally {
    await tail?.stop();
    await w?.stop(); // no append may follow the folder's removal
    rmSync(dir, { recursive: true, force: true });
  }
}

/** After a failed backlog run: which lines are missing, and what the broker says it did. */
async function backlogDiagnosis(w: WorkerHandle, port: number, lines: number, tail: BridgeProcess): Promise<string> {
  const parts: string[] = [];
  try {
    const missing = later(w.next('queue-missing', DIAGNOSIS_TIMEOUT_MS));
    w.send({ cmd: 'missing' });
    const m = await missing;
    parts.push(`${lines - m.missing} of ${lines} lines delivered, missing seq ${m.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')}${m.ranges.length >= 10 ? ', ...' : ''}`);
    if (m.badFrames > 0 || m.closed) parts.push(`subscriber: ${m.badFrames} undecodable frames${m.closed ? ', connection closed' : ''}`);
  } catch {
    // the worker is gone: its own error is the message
  }
  let conn: BenchConnection | null = null;
  try {
    conn = await BenchConnection.open(port, `bench-${process.pid}-diagnosis`);
    const st = (await conn.call('request', { topic: 'status', payload: {} }, DIAGNOSIS_TIMEOUT_MS)) as { message_count?: number; delivered_count?: number; dropped_count?: number };
    parts.push(`broker: ${st.message_count} published, ${st.delivered_count} delivered, ${st.dropped_count} dropped`);
  } catch (err) {
    parts.push(`broker status: ${(err as Error).message}`);
  } finally {
    conn?.close();
  }
  return `; ${parts.join('; ')}${logOf(tail)}`;
}

/** `lines` fixed-width queue lines in one buffer; line `seq` starts at `seq * lineBytes`. */
function backlogContent(lines: number): { content: Buffer; lineBytes: number } {
  const line = (seq: number): string => `${QUEUE_LEGACY_NAME}|{"seq":${String(seq).padStart(SEQ_WIDTH)},"window":"Untitled - Notepad"}\r\n`;
  const lineBytes = Buffer.byteLength(line(0));
  const content = Buffer.allocUnsafe(lines * lineBytes);
  for (let seq = 0; seq < lines; seq++) content.write(line(seq), seq * lineBytes, 'latin1');
  return { content, lineBytes };
}

export async function runQueueBacklog(sc: QueueBacklogScenario, ctx: RunContext, broker: BrokerProcess, run: number, workers: WorkerHandle[]): Promise<RunResult> {
  const { dir, file } = tempQueue();
  const topic = `bench.queue.backlog.r${run}`;
  let tail: BridgeProcess | null = null;
  try {
    const { content, lineBytes } = backlogContent(sc.lines);
    writeFileSync(file, content);

    const w = new WorkerHandle(`${sc.name}/sub`, ctx.workerPath, {
      role: 'queue-sub',
      port: broker.port,
      topic,
      idPrefix: `bench-${process.pid}-${sc.name}-${run}`,
      hardLimitMs: BACKLOG_TIMEOUT_MS + 30_000,
      lines: sc.lines,
      lineBytes,
    });
    workers.push(w);
    await w.next('ready', WORKER_READY_TIMEOUT_MS);

    const done = later(w.next('queue-done', BACKLOG_TIMEOUT_MS));
    const brokerCpu0 = cpuSeconds(broker.pid);
    const t0 = monotonicMs();
    tail = startTail({ cliPath: ctx.cliPath, cwd: ctx.projectRoot, file, map: { [QUEUE_LEGACY_NAME]: topic }, brokerPort: broker.port });
    let r;
    try {
      r = await whileRunning(done, tail, `all ${sc.lines} lines were delivered`);
    } catch (err) {
      throw new Error(`${(err as Error).message}${await backlogDiagnosis(w, broker.port, sc.lines, tail)}`);
    }
    // The tail is idle now: its peak RSS and CPU so far belong to this backlog.
    const tailRss = peakRssMB(tail.pid);
    const tailCpu = cpuSeconds(tail.pid);
    const brokerCpu1 = cpuSeconds(broker.pid);
    const totalMs = r.lastAtMs - t0;

    const exit = await tail.stop();
    tail = null;
    const anomalies = afterStop(exit, file, broker);
    if (r.duplicates > 0) anomalies.push(`${r.duplicates} lines delivered twice`);
    if (r.outOfOrder > 0) anomalies.push(`${r.outOfOrder} deliveries out of file order`);
    if (r.badQueueIds > 0) anomalies.push(`${r.badQueueIds} deliveries with a queue_id not ending in the line's offset`);

    const linesPerSec = (sc.lines * 1000) / totalMs;
    const brokerCpuPct = cpuPct(brokerCpu0, brokerCpu1, totalMs);
    return {
      scenario: sc.name,
      run,
      deliveriesPerSec: linesPerSec,
      deliveredPct: (100 * r.received) / sc.lines,
      sent: sc.lines,
      received: r.received,
      expected: sc.lines,
      brokerCpuPct,
      brokerUsPerDelivery: brokerCpu0 !== null && brokerCpu1 !== null ? ((brokerCpu1 - brokerCpu0) * 1e6) / sc.lines : null,
      brokerPeakRssMB: peakRssMB(broker.pid),
      pubCpuPct: null,
      subCpuPct: [(100 * r.cpuMs) / totalMs],
      latency: null,
      queueBacklog: {
        lines: sc.lines,
        lineBytes,
        firstLineMs: r.firstAtMs - t0,
        totalMs,
        steadyLinesPerSec: r.lastAtMs > r.firstAtMs ? ((sc.lines - 1) * 1000) / (r.lastAtMs - r.firstAtMs) : Number.NaN,
        tailPeakRssMB: tailRss,
        tailCpuUsPerLine: tailCpu === null ? null : (tailCpu * 1e6) / sc.lines,
        subCpuUsPerLine: (r.cpuMs * 1e3) / sc.lines,
      },
      anomalies,
    };
  } finally {
    await tail?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
