/**
 * One run of bridge-start: against the run's broker, spawn
 * `node dist/bridge/cli.js run fixtures/scripts/echo.ahk --key bench<N> --ahk <fake> ...`
 * and time, from just before spawn() to the orchestrator decoding the delivery:
 *   - `scripts.bench<N>.started`: Node start-up of the bridge, its CLI, joining the broker,
 *     subscribing to the command topics and spawning the interpreter;
 *   - `scripts.bench<N>.ready`: that plus Node start-up of the fake interpreter and its `@ready`.
 * Each bridge is then stopped with SIGTERM and awaited (timed too) before the next start,
 * with a fresh key so no event of one start can be taken for another's. The last one is
 * left `settleMs` first, and its VmRSS then is the idle size of a supervising bridge: one
 * such process runs per `bridge run` script.
 */
import { performance } from 'node:perf_hooks';
import type { BrokerProcess } from './broker-process.js';
import { BridgeEvents, awaitArrival } from './bridge-events.js';
import { processLives, startBridge, type BridgeProcess } from './bridge-process.js';
import { peakRssMB, rssMB } from './proc-stats.js';
import type { RunResult } from './results.js';
import { sleep } from './run-phases.js';
import { BRIDGE_INTERPRETER, BRIDGE_SCRIPT, type BridgeStartScenario, type RunContext } from './scenarios.js';
import { percentiles } from './stats.js';

/** Bound on each of `started` and `ready`: a healthy start takes well under a second. */
const EVENT_TIMEOUT_MS = 20_000;

export async function runBridgeStart(sc: BridgeStartScenario, ctx: RunContext, broker: BrokerProcess, run: number): Promise<RunResult> {
  const events = await BridgeEvents.open(broker.port, `bench-${process.pid}-${sc.name}-${run}`);
  const startedMs: number[] = [];
  const readyMs: number[] = [];
  const stopMs: number[] = [];
  let idleRssMB: number | null = null;
  const anomalies = new Set<string>();
  let bridge: BridgeProcess | null = null;
  try {
    for (let n = 0; n < sc.warmupStarts + sc.starts; n++) {
      const key = `bench${n}`;
      const [started, ready] = await events.arm([`scripts.${key}.started`, `scripts.${key}.ready`]);
      const t0 = performance.now();
      bridge = startBridge({ cliPath: ctx.cliPath, cwd: ctx.projectRoot, script: BRIDGE_SCRIPT, interpreter: BRIDGE_INTERPRETER, key, brokerPort: broker.port });
      const s = await awaitArrival(started!, `scripts.${key}.started`, bridge, EVENT_TIMEOUT_MS);
      const r = await awaitArrival(ready!, `scripts.${key}.ready`, bridge, EVENT_TIMEOUT_MS);
      if (n === sc.warmupStarts + sc.starts - 1) {
        // A measuring protocol, as the idle broker's: V8 shrinks its heap in the first seconds.
        await sleep(sc.settleMs);
        idleRssMB = rssMB(bridge.pid);
      }
      const exit = await bridge.stop();
      bridge = null;

      if (exit.killed) anomalies.add('a bridge ignored SIGTERM (killed)');
      else if (exit.code !== 0) anomalies.add(`a bridge exited ${exit.code ?? exit.signal} after SIGTERM`);
      const scriptPid = (s.payload as { pid?: unknown } | null)?.pid;
      if (typeof scriptPid !== 'number') anomalies.add('started event without a pid');
      else if (processLives(scriptPid)) anomalies.add(`interpreter ${scriptPid} outlived its bridge`);
      if (n < sc.warmupStarts) continue;
      startedMs.push(s.atMs - t0);
      readyMs.push(r.atMs - t0);
      stopMs.push(exit.stopMs);
    }
  } finally {
    // Before the runner stops the broker: a bridge that loses its broker tries to host one.
    await bridge?.stop();
    events.close();
  }
  if (!broker.alive()) anomalies.add('broker exited during the run');
  return {
    scenario: sc.name,
    run,
    deliveriesPerSec: Number.NaN,
    deliveredPct: Number.NaN,
    sent: sc.starts,
    received: readyMs.length,
    expected: sc.starts,
    brokerCpuPct: null,
    brokerUsPerDelivery: null,
    brokerPeakRssMB: peakRssMB(broker.pid),
    pubCpuPct: null,
    subCpuPct: [],
    latency: null,
    bridgeStart: {
      starts: sc.starts,
      warmupStarts: sc.warmupStarts,
      startedMs: percentiles(startedMs),
      readyMs: percentiles(readyMs),
      stopMs: percentiles(stopMs),
      idleRssMB,
      settleMs: sc.settleMs,
    },
    anomalies: [...anomalies],
  };
}
