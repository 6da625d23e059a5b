/**
 * Runs one scenario once against a fresh broker process and always cleans up: workers
 * are told to exit (then killed by PID), and the broker is stopped, whatever happened.
 * The bridge and queue scenarios stop their bridges themselves, before the broker goes.
 * The federation scenarios start the engine (nats-server) and a second broker too.
 * A persisted QoS 1 run's persistence directory is removed once its broker has stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startBroker, type BrokerProcess } from './broker-process.js';
import { startUpstream, type UpstreamProcess } from './upstream-process.js';
import { runBridgeStart } from './bridge-start-run.js';
import { runCommandRtt } from './command-rtt-run.js';
import { idleMaxConnections, runIdle } from './idle-run.js';
import { runLatency } from './latency-run.js';
import { runQos1 } from './qos1-run.js';
import { runQueueBacklog, runQueueLatency } from './queue-run.js';
import type { RunOutcome } from './results.js';
import type { RunContext, Scenario } from './scenarios.js';
import { runStream } from './stream-run.js';
import type { WorkerHandle } from './worker-handle.js';

export async function runScenario(sc: Scenario, ctx: RunContext, run: number): Promise<RunOutcome> {
  const workers: WorkerHandle[] = [];
  let broker: BrokerProcess | null = null;
  // Federation: the engine, and broker B (broker A is `broker`, where the publisher is).
  let upstream: UpstreamProcess | null = null;
  let subBroker: BrokerProcess | null = null;
  // A fresh persistence directory per persisted run, so no run replays another's journal.
  const persistDir = sc.kind === 'qos1' && sc.fsync !== null ? mkdtempSync(path.join(ctx.persistParent, 'ahk-bench-journal-')) : null;
  try {
    // A backlog is published far faster than it is paced: a per-client queue that holds it
    // all keeps the broker's drop policy out of a figure that is about the tail.
    const maxQueueSize = sc.kind === 'queue-backlog' ? Math.max(ctx.maxQueueSize, 2 * sc.lines) : ctx.maxQueueSize;
    let extraArgs = sc.kind === 'qos1' && sc.fsync !== null && persistDir !== null ? ['--persist', persistDir, '--persistence-fsync', sc.fsync] : [];
    // The default (100) would refuse most of idle-connections' clients.
    if (sc.kind === 'idle') extraArgs = ['--max-connections', String(idleMaxConnections(sc))];
    if (sc.kind === 'federation-latency') {
      upstream = await startUpstream(sc.engine);
      extraArgs = ['--upstream', upstream.url];
      subBroker = await startBroker({ cliPath: ctx.cliPath, maxQueueSize, extraArgs });
    }
    broker = await startBroker({ cliPath: ctx.cliPath, maxQueueSize, extraArgs: ctx.http ? [...extraArgs, '--http', '0'] : extraArgs });
    switch (sc.kind) {
      case 'stream':
        return await runStream(sc, ctx, broker, run, workers);
      case 'qos1':
        return await runQos1(sc, ctx, broker, persistDir, run, workers);
      case 'latency':
        return await runLatency(sc, ctx, broker, run, workers);
      case 'bridge-start':
        return await runBridgeStart(sc, ctx, broker, run);
      case 'command-rtt':
        return await runCommandRtt(sc, ctx, broker, run, workers);
      case 'queue-latency':
        return await runQueueLatency(sc, ctx, broker, run, workers);
      case 'queue-backlog':
        return await runQueueBacklog(sc, ctx, broker, run, workers);
      case 'federation-latency':
        return await runLatency(sc, ctx, broker, run, workers, { scenario: sc, subBroker: subBroker!, upstream: upstream! });
      case 'idle':
        return await runIdle(sc, ctx, broker, run, workers);
      default: {
        const unknown: never = sc;
        throw new Error(`unknown scenario kind in ${JSON.stringify(unknown)}`);
      }
    }
  } catch (err) {
    const log = broker?.logTail();
    return { scenario: sc.name, run, error: `${(err as Error).message}${log ? ` (broker log: ${log.split('\n').slice(-3).join(' | ')})` : ''}` };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await broker?.stop();
    await subBroker?.stop();
    // Last: the brokers leave the engine before it goes.
    await upstream?.stop();
    if (persistDir !== null) rmSync(persistDir, { recursive: true, force: true });
  }
}
