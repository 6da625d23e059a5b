/**
 * `bridge broker` keeps V8's compilers idle while it loads and lets them work once it
 * listens (bridge/deferred-optimization.ts): the loader's own functions turn hot over
 * about a hundred module loads, and compiling them cost an idle broker 4.5-4.8 MB for
 * TurboFan and 0.3 MB for Sparkplug (issue 15). V8 says what it compiles with
 * `--trace-opt` and `--trace-baseline` (on stdout, flushed as it goes): for TurboFan it
 * marks a function on the main thread, then compiles it and reports it completed; for
 * Sparkplug it reports each compile. These tests read those lines.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BrokerClient } from '../../src/client/index.js';
import { defersOptimization } from '../../bridge/deferred-optimization.js';
import { CLI, waitOutput } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const OPTIMIZED = 'completed optimizing';
/** Any step of a TurboFan optimization: marked for it, being compiled, or done. */
const TURBOFAN_STEP = /^\[(?:marking|compiling method|completed optimizing) .*TURBOFAN/;
/**
 * Any step of an optimization by either optimizing tier: Maglev, on by default from Node
 * 22 (and not held), may take the loader's functions before TurboFan does there.
 */
const OPTIMIZATION_STEP = /^\[(?:marking|compiling method|completed optimizing) .*(?:TURBOFAN|MAGLEV)/;
/** A Sparkplug (baseline) compile. */
const BASELINE_COMPILE = /^\[compiling method .*\(target BASELINE\)/;

interface TracedBroker {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

/** A broker started as `node --trace-opt --trace-baseline <nodeFlags> cli.js broker`, stopped when the test ends. */
async function startTracedBroker(nodeFlags: string[] = []): Promise<TracedBroker> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    ['--trace-opt', '--trace-baseline', ...nodeFlags, CLI, 'broker', '--host', '127.0.0.1', '--port', String(port), '--stop-on-stdin-close'],
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

const firstLine = (stdout: string, pattern: RegExp): string => stdout.split('\n').find((line) => pattern.test(line)) ?? '(none)';
const baselineCompiles = (stdout: string): number => stdout.split('\n').filter((line) => BASELINE_COMPILE.test(line)).length;

describe('bridge broker and the optimizing compiler', () => {
  it('optimizes nothing while it loads, and what the traffic makes hot once it listens', async () => {
    const broker = await startTracedBroker();
    await roundTrip(broker.port);
    expect(firstLine(broker.stdout(), TURBOFAN_STEP), 'optimizing before the broker answered').toBe('(none)');
    const baselineAtAnswer = baselineCompiles(broker.stdout());
    expect(await loadUntilOptimized(broker, 40), 'nothing was optimized under load: the compiler was never let back in').toBe(true);
    expect(baselineCompiles(broker.stdout()), 'no baseline compiles under load: Sparkplug was never let back in').toBeGreaterThan(baselineAtAnswer);
  });

  it("compiles few functions with Sparkplug before it answers: only Node's own start-up, before the CLI runs", async () => {
    // Sparkplug compiles by how much a function ran, not by time, so the counts repeat
    // from run to run: about 30 against about 200 (measured on Node 20).
    const deferred = await startTracedBroker();
    await roundTrip(deferred.port);
    const control = await startTracedBroker(['--sparkplug']);
    await roundTrip(control.port);
    const [held, unheld] = [baselineCompiles(deferred.stdout()), baselineCompiles(control.stdout())];
    expect(held * 3, `Sparkplug compiled ${held} functions while held, ${unheld} unheld`).toBeLessThan(unheld);
  });

  it("optimizes the loader's functions as it loads when the user chose the compiler flags (as every broker did before)", async () => {
    const broker = await startTracedBroker(['--turbofan']);
    await roundTrip(broker.port);
    // The same look as above, at the same moment: V8 marks the loader's functions on the
    // main thread while it loads, so their lines are out before the broker listens.
    expect(firstLine(broker.stdout(), OPTIMIZATION_STEP)).toMatch(/^\[marking .*JSFunction/);
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
    for (const flag of ['--no-opt', '--opt', '--turbofan', '--no-turbofan', '--jitless', '--max-opt=2', '--max_opt=1', '--no_turbofan', '--always-turbofan', '--always_opt', '--no-maglev', '--maglev', '--no-sparkplug', '--sparkplug', '--always-sparkplug', '--no_sparkplug', '--noopt', '--nosparkplug', '--noturbofan', '--nomaglev']) {
      expect(defersOptimization(['broker'], [flag], undefined), flag).toBe(false);
    }
    expect(defersOptimization(['broker'], [], '--jitless')).toBe(false);
    expect(defersOptimization(['broker'], [], '--max-old-space-size=64 --jitless')).toBe(false);
    expect(defersOptimization(['broker'], [], '--optimize-for-size')).toBe(true);
    // Flags that only name a compiler inside a longer word or a value choose nothing.
    for (const flag of ['--require=./a--opt.js', '--sparkplug-filter=x', '--maglev-filter=x', '--optimize-for-size', '--title=--jitless']) {
      expect(defersOptimization(['broker'], [flag], undefined), flag).toBe(true);
    }
    expect(defersOptimization(['broker'], [], '--require ./a--opt.js')).toBe(true);
  });
});
