/**
 * `npm run bench`: our broker's throughput, fan-out, QoS 1 publish rate (in memory and
 * persisted, per fsync policy) and latency, the bridge's start-up and
 * command round trip, and `bridge tail`'s queue-file latency and backlog rate, as one
 * markdown table.
 *
 * The broker runs as its own process through the CLI; publishers and subscribers run in
 * forked worker processes (worker.ts), never in this orchestrator, which only starts
 * things, relays flow-control credit, samples counters and /proc, and prints. Progress
 * goes to stderr so stdout carries just the report. See options.ts for the flags.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { USAGE, UsageError, parseOptions, peerPassThrough, type BenchOptions } from './options.js';
import { runPeers } from './peers.js';
import { procStatsAvailable } from './proc-stats.js';
import { killAllStarted } from './processes.js';
import { isFailed, summarize, type RunOutcome } from './results.js';
import { runScenario } from './runner.js';
import { SCENARIOS, type RunContext } from './scenarios.js';
import { fmtRate, idleTargetLine, machineLine, qos1Line, queueTargetLine, renderTable, settingsLine, targetLine } from './table.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const projectRoot = path.resolve(here, '../..');
const WARMUP_MS = 1000;

const ms = (p: { p50: number; p99: number; max: number }): string => `p50 ${p.p50.toFixed(0)} / p99 ${p.p99.toFixed(0)} / max ${p.max.toFixed(0)} ms`;

function describe(r: RunOutcome): string {
  if (isFailed(r)) return `FAILED: ${r.error}`;
  const extra = r.anomalies.length ? `; ${r.anomalies.join('; ')}` : '';
  if (r.bridgeStart) {
    const b = r.bridgeStart;
    const rss = b.idleRssMB === null ? 'n/a' : `${b.idleRssMB.toFixed(1)} MB`;
    return `${b.starts} starts: started ${ms(b.startedMs)}, ready ${ms(b.readyMs)}, SIGTERM -> exit ${ms(b.stopMs)}, bridge RSS ${rss} ${b.settleMs / 1000} s after @ready${extra}`;
  }
  if (r.queueLatency) {
    const q = r.queueLatency;
    return `${q.received}/${q.lines} lines at ${q.ratePerSec}/s: append -> delivery ${ms(q.latencyMs)}${extra}`;
  }
  if (r.queueBacklog) {
    const b = r.queueBacklog;
    return `${b.lines} lines in ${b.totalMs.toFixed(0)} ms from spawn = ${fmtRate(r.deliveriesPerSec)} lines/s (first line after ${b.firstLineMs.toFixed(0)} ms)${extra}`;
  }
  if (r.idle) {
    const i = r.idle;
    const mb = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(1)} MB`);
    const conns = i.connections === 0 ? '' : `, with ${i.connections} idle connections ${mb(i.connectedRssMB)} (${i.perConnectionKB === null ? 'n/a' : i.perConnectionKB.toFixed(1)} KB each)`;
    return `idle RSS ${mb(i.idleRssMB)}${conns}${extra}`;
  }
  if (r.qos1) {
    const q = r.qos1;
    const lat = r.latency ? `, publish -> answer p50 ${r.latency.p50Us.toFixed(0)} µs, p99 ${r.latency.p99Us.toFixed(0)} µs, max ${r.latency.maxUs.toFixed(0)} µs` : '';
    const cpu = r.brokerCpuPct === null ? '' : `, broker ${r.brokerCpuPct.toFixed(0)}% CPU`;
    return `${fmtRate(r.deliveriesPerSec)} QoS 1 publishes answered/s (${q.window} outstanding), subscriber ${fmtRate(q.subDeliveriesPerSec)} deliveries/s, delivered ${r.deliveredPct.toFixed(2)}%${cpu}${lat}${extra}`;
  }
  if (r.commandRtt && r.latency) {
    return `${fmtRate(r.deliveriesPerSec)} round trips/s, ${r.commandRtt.verified}/${r.commandRtt.requests} replies verified, p50 ${r.latency.p50Us.toFixed(0)} µs, p99 ${r.latency.p99Us.toFixed(0)} µs, max ${r.latency.maxUs.toFixed(0)} µs${extra}`;
  }
  if (r.federation && r.latency) {
    const f = r.federation;
    return `A -> ${f.engine} -> B, QoS ${f.qos} at ${f.ratePerSec}/s: ${r.received}/${r.sent} delivered, publish -> delivery p50 ${r.latency.p50Us.toFixed(0)} µs, p99 ${r.latency.p99Us.toFixed(0)} µs, max ${r.latency.maxUs.toFixed(0)} µs${extra}`;
  }
  const lat = r.latency ? `, p50 ${r.latency.p50Us.toFixed(0)} µs, p99 ${r.latency.p99Us.toFixed(0)} µs, max ${r.latency.maxUs.toFixed(0)} µs` : '';
  const cpu = r.brokerCpuPct === null ? '' : `, broker ${r.brokerCpuPct.toFixed(0)}% CPU`;
  return `${fmtRate(r.deliveriesPerSec)} deliveries/s, delivered ${r.deliveredPct.toFixed(2)}%${cpu}${lat}${r.anomalies.length ? `; ${r.anomalies.join('; ')}` : ''}`;
}

async function bench(opts: BenchOptions): Promise<RunOutcome[]> {
  const ctx: RunContext = {
    projectRoot,
    cliPath: path.join(projectRoot, 'dist/bridge/cli.js'),
    workerPath: path.join(here, 'worker.js'),
    warmupMs: WARMUP_MS,
    measureMs: Math.round(opts.seconds * 1000),
    window: opts.window,
    payloadBytes: opts.payloadBytes,
    // Above the credit window, so the broker's drop policy never fires in lossless mode;
    // in open flow a generous but bounded queue, so drops stay visible and memory finite.
    maxQueueSize: opts.window > 0 ? opts.window * 2 : 100_000,
    qos1Window: opts.qos1Window,
    persistParent: opts.persistDir,
    http: opts.http,
  };
  const outcomes: RunOutcome[] = [];
  for (const sc of SCENARIOS.filter((s) => opts.scenarios.includes(s.name))) {
    const runs = sc.kind === 'stream' || sc.kind === 'qos1' ? opts.repeat : 1;
    for (let run = 0; run < runs; run++) {
      const started = Date.now();
      const outcome = await runScenario(sc, ctx, run);
      outcomes.push(outcome);
      process.stderr.write(`  ${sc.name}${runs > 1 ? ` #${run + 1}` : ''}: ${describe(outcome)} [${((Date.now() - started) / 1000).toFixed(1)} s]\n`);
    }
  }
  return outcomes;
}

async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  // Whatever happens, no broker or worker we started outlives us.
  process.on('exit', killAllStarted);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  process.stderr.write(`bench: ${opts.scenarios.join(', ')}; ${opts.seconds} s window, repeat ${opts.repeat}\n`);
  const outcomes = await bench(opts);
  const summaries = opts.scenarios.map((name) => summarize(name, outcomes.filter((o) => o.scenario === name)));

  console.log(`\n## ahk-bridge broker bench\n`);
  console.log(renderTable(summaries));
  console.log('');
  console.log(targetLine(summaries));
  console.log(queueTargetLine(summaries));
  console.log(idleTargetLine(summaries));
  console.log(machineLine());
  console.log(settingsLine({ seconds: opts.seconds, warmupMs: WARMUP_MS, repeat: opts.repeat, window: opts.window, payloadBytes: opts.payloadBytes, http: opts.http }));
  if (summaries.some((s) => s.qos1)) console.log(qos1Line(opts.qos1Window, opts.persistDir));
  if (!procStatsAvailable()) console.log('Broker CPU and RSS need Linux /proc: n/a here.');
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({ startedAt: new Date().toISOString(), options: opts, machine: machineLine(), summaries, outcomes }, null, 2));
    console.log(`Results written to ${opts.json}.`);
  }

  const failed = outcomes.some(isFailed);
  if (opts.peers) await runPeers(projectRoot, peerPassThrough(argv));
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
