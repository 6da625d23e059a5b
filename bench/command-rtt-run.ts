/**
 * One run of command-rtt: start one `bridge run echo.ahk --key benchrtt` against the run's
 * broker, wait for its `ready`, then a worker process sends `request`s on
 * `scripts.benchrtt.command.hello` one at a time (warm-up, then the timed ones; see
 * roles/command-rtt.ts). Broker, bridge and interpreter CPU are read from /proc over the
 * timed span, which the worker announces. The bridge is stopped (SIGTERM) before the
 * runner stops the broker.
 */
import { performance } from 'node:perf_hooks';
import type { BrokerProcess } from './broker-process.js';
import { BridgeEvents, awaitArrival } from './bridge-events.js';
import { processLives, startBridge, type BridgeProcess } from './bridge-process.js';
import { peakRssMB, cpuSeconds, cpuUsPerEvent } from './proc-stats.js';
import type { RunResult } from './results.js';
import { BRIDGE_INTERPRETER, BRIDGE_SCRIPT, type CommandRttScenario, type RunContext } from './scenarios.js';
import { WorkerHandle } from './worker-handle.js';

const KEY = 'benchrtt';
const COMMAND = 'hello';
const BRIDGE_READY_TIMEOUT_MS = 20_000;
const WORKER_READY_TIMEOUT_MS = 20_000;
/** Per timed request on top of the bound below: generous, a healthy round trip is < 1 ms. */
const PER_REQUEST_BOUND_MS = 20;
const EVENT_SLACK_MS = 20_000;

function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

const cpuPct = (a: number | null, b: number | null, ms: number): number | null => (a !== null && b !== null && ms > 0 ? (100 * (b - a)) / (ms / 1000) : null);

export async function runCommandRtt(sc: CommandRttScenario, ctx: RunContext, broker: BrokerProcess, run: number, workers: WorkerHandle[]): Promise<RunResult> {
  const idPrefix = `bench-${process.pid}-${sc.name}-${run}`;
  const events = await BridgeEvents.open(broker.port, `${idPrefix}-watch`);
  let bridge: BridgeProcess | null = null;
  const anomalies: string[] = [];
  try {
    const [started, ready] = await events.arm([`scripts.${KEY}.started`, `scripts.${KEY}.ready`]);
    bridge = startBridge({ cliPath: ctx.cliPath, cwd: ctx.projectRoot, script: BRIDGE_SCRIPT, interpreter: BRIDGE_INTERPRETER, key: KEY, brokerPort: broker.port });
    const s = await awaitArrival(started!, `scripts.${KEY}.started`, bridge, BRIDGE_READY_TIMEOUT_MS);
    await awaitArrival(ready!, `scripts.${KEY}.ready`, bridge, BRIDGE_READY_TIMEOUT_MS);
    const scriptPid = (s.payload as { pid?: unknown } | null)?.pid;

    const requestsMs = (sc.warmup + sc.requests) * PER_REQUEST_BOUND_MS;
    const w = new WorkerHandle(`${sc.name}/client`, ctx.workerPath, {
      role: 'command-rtt',
      port: broker.port,
      topic: `scripts.${KEY}.command.${COMMAND}`,
      name: COMMAND,
      idPrefix,
      hardLimitMs: requestsMs + 2 * EVENT_SLACK_MS + 30_000,
      warmup: sc.warmup,
      requests: sc.requests,
    });
    workers.push(w);
    await w.next('ready', WORKER_READY_TIMEOUT_MS);

    const measuring = later(w.next('measuring', requestsMs + EVENT_SLACK_MS));
    const measured = later(w.next('measured', requestsMs + EVENT_SLACK_MS));
    const report = later(w.next('rtt', requestsMs + 2 * EVENT_SLACK_MS));
    w.send({ cmd: 'start', allowed: 0 });
    await measuring;
    const read = (): (number | null)[] => [cpuSeconds(broker.pid), cpuSeconds(bridge!.pid), typeof scriptPid === 'number' ? cpuSeconds(scriptPid) : null];
    const cpu0 = read();
    const t0 = performance.now();
    await measured;
    const cpu1 = read();
    const spanMs = performance.now() - t0;
    const r = await report;

    const exit = await bridge.stop();
    bridge = null;
    if (exit.killed) anomalies.push('the bridge ignored SIGTERM (killed)');
    else if (exit.code !== 0) anomalies.push(`the bridge exited ${exit.code ?? exit.signal} after SIGTERM`);
    if (typeof scriptPid === 'number' && processLives(scriptPid)) anomalies.push(`interpreter ${scriptPid} outlived its bridge`);
    if (!broker.alive()) anomalies.push('broker exited during the run');

    const roundTripsPerSec = (r.verified * 1000) / r.windowMs;
    const brokerCpuPct = cpuPct(cpu0[0]!, cpu1[0]!, spanMs);
    return {
      scenario: sc.name,
      run,
      deliveriesPerSec: roundTripsPerSec,
      deliveredPct: (100 * r.verified) / sc.requests,
      sent: sc.requests,
      received: r.verified,
      expected: sc.requests,
      brokerCpuPct,
      // Broker CPU per round trip (a request delivery plus a reply), in µs.
      brokerUsPerDelivery: cpuUsPerEvent(brokerCpuPct, roundTripsPerSec),
      brokerPeakRssMB: peakRssMB(broker.pid),
      pubCpuPct: null,
      subCpuPct: [(100 * r.cpuMs) / r.windowMs],
      latency: { p50Us: r.p50Us, p99Us: r.p99Us, maxUs: r.maxUs },
      commandRtt: {
        requests: sc.requests,
        warmup: sc.warmup,
        verified: r.verified,
        bridgeCpuPct: cpuPct(cpu0[1]!, cpu1[1]!, spanMs),
        scriptCpuPct: cpuPct(cpu0[2]!, cpu1[2]!, spanMs),
        clientCpuPct: (100 * r.cpuMs) / r.windowMs,
      },
      anomalies,
    };
  } finally {
    // Before the runner stops the broker: a bridge that loses its broker tries to host one.
    await bridge?.stop();
    events.close();
  }
}
