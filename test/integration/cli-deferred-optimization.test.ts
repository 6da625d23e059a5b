/**
 * `bridge broker` keeps V8's optimizing compiler idle while it loads and lets it work
 * once it listens (bridge/deferred-optimization.ts): the loader's own functions turn hot
 * over about a hundred module loads, and optimizing them cost an idle broker 4.5-4.8 MB
 * (issue 15). V8 says what it optimizes with `--trace-opt` (on stdout, flushed as it
 * goes): it marks a function on the main thread, then compiles it and reports it
 * completed. These tests read those lines.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';
import { defersOptimization } from '../../bridge/deferred-optimization.js';
import { CLI, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const OPTIMIZED = 'completed optimizing';
/** Any step of an optimization: marked for it, being compiled, or done. */
const OPTIMIZATION_STEP = /\[(?:marking|compiling method|completed optimizing) /;

interface TracedBroker {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

/** A broker started as `node --trace-opt <nodeFlags> cli.js broker`, stopped when the test ends. */
async function startTracedBroker(nodeFlags: string[] = []): Promise<TracedBroker> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    ['--trace-opt', ...nodeFlags, CLI, 'broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close'],
    { env },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      await exited;
    }
  });
  await waitOutput(child, () => err, (s) => s.includes('broker listening'));
  return { child, port, stdout: () => out, stderr: () => err };
}

/** One status request: the broker has answered, so what it printed before is in `stdout`. */
async function roundTrip(port: number): Promise<void> {
  const client = new BrokerClient('trace-probe', { host: '127.0.0.1', port, autoReconnect: false });
  await client.connect();
  try {
    await client.request('status', {}, { timeout: 10 });
  } finally {
    await client.disconnect();
  }
}

/** Relay bursts of messages until V8 reports an optimization, at most `bursts` of them. */
async function loadUntilOptimized(broker: TracedBroker, bursts: number): Promise<boolean> {
  const sub = new BrokerClient('trace-sub', { host: '127.0.0.1', port: broker.port, autoReconnect: false });
  const pub = new BrokerClient('trace-pub', { host: '127.0.0.1', port: broker.port, autoReconnect: false });
  onTestFinished(async () => {
    await sub.disconnect();
    await pub.disconnect();
  });
  await sub.connect();
  await pub.connect();
  const perBurst = 5000;
  let received = 0;
  let burstDone: () => void = () => undefined;
  await sub.subscribe('trace.load', () => {
    if (++received % perBurst === 0) burstDone();
  });
  for (let burst = 0; burst < bursts && !broker.stdout().includes(OPTIMIZED); burst++) {
    const delivered = new Promise<void>((resolve) => (burstDone = resolve));
    const sends: Promise<string>[] = [];
    for (let i = 0; i < perBurst; i++) sends.push(pub.publish('trace.load', { i }));
    await Promise.all(sends);
    await delivered;
  }
  return broker.stdout().includes(OPTIMIZED);
}

const firstOptimizationStep = (stdout: string): string => stdout.split('\n').find((line) => OPTIMIZATION_STEP.test(line)) ?? '(none)';

describe('bridge broker and the optimizing compiler', () => {
  it('optimizes nothing while it loads, and what the traffic makes hot once it listens', async () => {
    const broker = await startTracedBroker();
    await roundTrip(broker.port);
    expect(firstOptimizationStep(broker.stdout()), 'optimizing before the broker answered').toBe('(none)');
    expect(await loadUntilOptimized(broker, 40), 'nothing was optimized under load: the compiler was never let back in').toBe(true);
  });

  it("optimizes the loader's functions as it loads when the user chose the compiler flags (as every broker did before)", async () => {
    const broker = await startTracedBroker(['--turbofan']);
    await roundTrip(broker.port);
    // The same look as above, at the same moment: V8 marks the loader's functions on the
    // main thread while it loads, so their lines are out before the broker listens.
    expect(firstOptimizationStep(broker.stdout())).toMatch(/^\[marking .*JSFunction/);
  });
});

describe('defersOptimization', () => {
  it('defers for bridge broker only', () => {
    expect(defersOptimization(['broker'], [], undefined)).toBe(true);
    expect(defersOptimization(['broker', '--port', '0'], ['--trace-opt'], '--max-semi-space-size=16')).toBe(true);
    for (const command of ['run', 'up', 'tail', 'sub', 'demo']) expect(defersOptimization([command], [], undefined), command).toBe(false);
    expect(defersOptimization([], [], undefined)).toBe(false);
  });

  it("leaves a user's compiler flags alone, on the command line or in NODE_OPTIONS", () => {
    for (const flag of ['--no-opt', '--opt', '--turbofan', '--no-turbofan', '--jitless', '--max-opt=2', '--max_opt=1', '--no_turbofan', '--always-turbofan', '--always_opt', '--no-maglev', '--maglev']) {
      expect(defersOptimization(['broker'], [flag], undefined), flag).toBe(false);
    }
    expect(defersOptimization(['broker'], [], '--jitless')).toBe(false);
    expect(defersOptimization(['broker'], [], '--max-old-space-size=64 --jitless')).toBe(false);
    expect(defersOptimization(['broker'], [], '--optimize-for-size')).toBe(true);
  });
});
