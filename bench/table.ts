/** The markdown report: one table row per scenario, then the target verdict and the machine. */
import os from 'node:os';
import type { ScenarioSummary } from './results.js';

/** The goal for the fan-out scenario. */
export const TARGET = { scenario: 'fanout-1to10', deliveriesPerSec: 1_000_000 };

const na = 'n/a';
const fixed = (x: number | null | undefined, digits: number): string => (x === null || x === undefined || !Number.isFinite(x) ? na : x.toFixed(digits));

/** 1234567 -> "1.23 M", 2000 -> "2.0 k". */
export function fmtRate(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return na;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(0);
}

const msTriple = (p: { p50: number; p99: number; max: number }): string => `${fixed(p.p50, 0)} / ${fixed(p.p99, 0)} / ${fixed(p.max, 0)} ms`;

/** What the bridge scenarios measure that the broker columns cannot show. */
function bridgeNotes(s: ScenarioSummary): string[] {
  if (s.bridgeStart) {
    const b = s.bridgeStart;
    return [
      `p50 / p99 / max: started ${msTriple(b.startedMs)}, ready ${msTriple(b.readyMs)}`,
      `spawn -> event, incl. Node start-up of the bridge and of the fake interpreter; ${b.starts} starts after ${b.warmupStarts} untimed`,
      `SIGTERM -> exit ${msTriple(b.stopMs)}`,
      `bridge RSS ${fixed(b.idleRssMB, 1)} MB ${b.settleMs / 1000} s after @ready (the last start; joined, script idle)`,
    ];
  }
  if (s.commandRtt) {
    const c = s.commandRtt;
    const cpu = [`bridge ${fixed(c.bridgeCpuPct, 0)}%`, `script ${fixed(c.scriptCpuPct, 0)}%`, `client ${fixed(c.clientCpuPct, 0)}%`];
    return [
      `round trips/s (not deliveries) of ${c.requests.toLocaleString('en-US')} sequential requests after ${c.warmup} warm-up, ${c.verified}/${c.requests} replies verified`,
      'µs/delivery = broker µs per round trip',
      `CPU ${cpu.join(', ')}`,
    ];
  }
  if (s.queueLatency) {
    const q = s.queueLatency;
    return [
      `append -> delivery p50 / p99 / max ${msTriple(q.latencyMs)} (p90 ${fixed(q.p90Ms, 0)} ms)`,
      `${q.received}/${q.lines} lines at ${q.ratePerSec}/s after ${q.warmupLines} untimed, open-append-close each (appendFileSync, longest ${fixed(q.appendMaxMs, 1)} ms)`,
      'deliveries/s = lines/s, µs/delivery = broker µs per line',
      `CPU tail ${fixed(q.tailCpuPct, 1)}%, writer+sub ${fixed(q.clientCpuPct, 1)}%`,
    ];
  }
  if (s.queueBacklog) {
    const b = s.queueBacklog;
    return [
      `lines/s over spawn of \`bridge tail\` -> last of ${b.lines.toLocaleString('en-US')} lines (${b.lineBytes} B each) delivered, so incl. Node start-up`,
      `first line after ${fixed(b.firstLineMs, 0)} ms, all after ${fixed(b.totalMs, 0)} ms, ${fmtRate(b.steadyLinesPerSec)} lines/s from first to last`,
      'every line checked once, in file order, queue_id = its offset',
      `tail peak RSS ${fixed(b.tailPeakRssMB, 1)} MB, tail CPU ${fixed(b.tailCpuUsPerLine, 1)} µs/line (start-up incl.), subscriber CPU ${fixed(b.subCpuUsPerLine, 1)} µs/line`,
      'µs/delivery = broker µs per line',
    ];
  }
  return [];
}

/** What a QoS 1 row's columns mean, and what the journal did. */
function qos1Notes(s: ScenarioSummary): string[] {
  const q = s.qos1;
  if (!q) return [];
  const parts = [
    `QoS 1 publishes answered/s (${q.window} outstanding) -> 1 acking subscriber (${fmtRate(q.subDeliveriesPerSec)} deliveries/s)`,
    `µs/delivery = broker µs per publish; p50/p99/max = publish -> answer (${q.latencySamples.toLocaleString('en-US')} timed)`,
  ];
  const j = q.journal;
  if (q.fsync === null) parts.push('in memory');
  else if (j) {
    const mb = j.diskBytes === null ? na : (j.diskBytes / 2 ** 20).toFixed(1);
    parts.push(`journal fsync ${q.fsync} on ${j.fsType ?? 'unknown fs'}: ${fixed(j.appendsPerPublish, 2)} appends per publish, ${mb} MB in ${fixed(j.files, 0)} files at the end`);
  }
  return parts;
}

/** What a federation row's columns mean, and what broker B and the engine cost. */
function federationNotes(s: ScenarioSummary): string[] {
  const f = s.federation;
  if (!f) return [];
  return [
    `publisher on broker A, subscriber on broker B, both \`bridge broker --upstream\` to one ${f.engine} server; QoS ${f.qos} at ${f.ratePerSec.toLocaleString('en-US')}/s; p50/p99/max = publish -> delivery at B`,
    `broker columns = A; B ${fixed(f.subBrokerCpuPct, 0)}% CPU, ${fixed(f.subBrokerPeakRssMB, 1)} MB; ${f.engine} ${fixed(f.upstreamCpuPct, 0)}% CPU`,
  ];
}

/** What an idle row measured: RSS at rest, and what each idle connection adds. */
function idleNotes(s: ScenarioSummary): string[] {
  const i = s.idle;
  if (!i) return [];
  const settle = `${i.settleMs / 1000} s`;
  const idle = `idle RSS ${fixed(i.idleRssMB, 1)} MB (VmRSS ${settle} after listening, no clients)`;
  if (i.connections === 0) return [idle, 'RSS column = peak (VmHWM)'];
  return [
    idle,
    `with ${i.connections.toLocaleString('en-US')} idle connections ${fixed(i.connectedRssMB, 1)} MB (${settle} after the last subscribe) = ${fixed(i.perConnectionKB, 1)} KB per connection`,
    `each connection: connect + 1 subscription, from ${i.workerProcesses} worker processes; CPU % = broker over the idle ${settle}`,
    `CPU workers ${s.subCpuPct.map((x) => fixed(x, 0)).join('/')}%`,
  ];
}

function notes(s: ScenarioSummary): string {
  const parts: string[] = [...qos1Notes(s), ...federationNotes(s)];
  if (s.bridgeStart || s.commandRtt || s.queueLatency || s.queueBacklog || s.idle) {
    parts.push(...bridgeNotes(s), ...idleNotes(s), ...s.anomalies);
    for (const f of s.failures) parts.push(`run ${f.run + 1} FAILED: ${f.error.split('\n')[0]!.slice(0, 160)}`);
    return parts.join('; ');
  }
  if (s.runs.length > 1) parts.push(`runs ${s.runs.map((r) => fmtRate(r.deliveriesPerSec)).join(', ')}`);
  const clients: string[] = [];
  if (s.pubCpuPct !== null) clients.push(`pub ${fixed(s.pubCpuPct, 0)}%`);
  if (s.subCpuPct.length > 0) clients.push(`${s.latency && !s.qos1 ? 'client' : 'sub'} ${s.subCpuPct.map((x) => fixed(x, 0)).join('/')}%`);
  if (clients.length > 0) parts.push(`CPU ${clients.join(', ')}`);
  parts.push(...s.anomalies);
  for (const f of s.failures) parts.push(`run ${f.run + 1} FAILED: ${f.error.split('\n')[0]!.slice(0, 160)}`);
  return parts.join('; ');
}

export function renderTable(summaries: ScenarioSummary[]): string {
  const lines = [
    '| scenario | deliveries/s | delivered % | broker CPU % | broker µs/delivery | p50 µs | p99 µs | max µs | broker RSS MB | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of summaries) {
    const l = s.latency;
    lines.push(
      `| ${s.scenario} | ${fmtRate(s.deliveriesPerSec)} | ${fixed(s.deliveredPct, 2)} | ${fixed(s.brokerCpuPct, 0)} | ${fixed(s.brokerUsPerDelivery, 2)} | ` +
        `${fixed(l?.p50Us, 0)} | ${fixed(l?.p99Us, 0)} | ${fixed(l?.maxUs, 0)} | ${fixed(s.brokerPeakRssMB, 1)} | ${notes(s).replace(/\|/g, '\\|')} |`,
    );
  }
  return lines.join('\n');
}

export function targetLine(summaries: ScenarioSummary[]): string {
  const goal = `Target (issue): aim for at least 1,000,000 deliveries/s in 1->10 fan-out on this 2-core machine`;
  const fan = summaries.find((s) => s.scenario === TARGET.scenario);
  if (!fan || fan.deliveriesPerSec === null) return `${goal}: not measured in this run.`;
  const met = fan.deliveriesPerSec >= TARGET.deliveriesPerSec;
  return `${goal}: ${met ? 'MET' : 'NOT MET'} (median ${fmtRate(fan.deliveriesPerSec)} deliveries/s).`;
}

/** The goal for file IPC: append -> delivery p99 of paced appends. */
export function queueTargetLine(summaries: ScenarioSummary[]): string {
  const q = summaries.find((s) => s.queueLatency)?.queueLatency;
  const target = q?.targetP99Ms ?? 100;
  const goal = `Target (issue): queue file append -> delivery p99 below ${target} ms through \`bridge tail\``;
  if (!q) return `${goal}: not measured in this run.`;
  return `${goal}: ${q.latencyMs.p99 < target ? 'MET' : 'NOT MET'} (p99 ${fixed(q.latencyMs.p99, 1)} ms, ${q.received} lines at ${q.ratePerSec}/s).`;
}

/** The goal for memory: the broker alone, at rest. */
export function idleTargetLine(summaries: ScenarioSummary[]): string {
  const i = summaries.find((s) => s.idle)?.idle;
  const target = i?.targetIdleRssMB ?? 48;
  const goal = `Target (issue): an idle broker (\`bridge broker\`, no clients) at most ${target} MB RSS`;
  if (!i || i.idleRssMB === null) return `${goal}: not measured in this run.`;
  return `${goal}: ${i.idleRssMB <= target ? 'MET' : 'NOT MET'} (${i.idleRssMB.toFixed(1)} MB ${i.settleMs / 1000} s after listening).`;
}

export interface RunSettings {
  seconds: number;
  warmupMs: number;
  repeat: number;
  window: number;
  payloadBytes: number;
  /** The broker ran with its status page on (nobody viewing). */
  http: boolean;
}

/** How the QoS 1 rows were measured. */
export function qos1Line(window: number, persistParent: string): string {
  return (
    `QoS 1 rows: one connection keeps ${window} \`publish\` requests (qos 1) unanswered at most, the subscriber acks every delivery; ` +
    `the persisted rows run the broker with \`--persist <fresh dir in ${persistParent}> --persistence-fsync <policy>\`, ` +
    'where an answer means the message is in the journal under that policy.'
  );
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `Machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, node ${process.version}.`;
}

export function settingsLine(o: RunSettings): string {
  const flow = o.window > 0 ? `end-to-end credit of ${o.window} messages (lossless)` : 'open flow (broker drops show as delivered % < 100)';
  return (
    `Settings: ${o.seconds} s window after ${o.warmupMs / 1000} s warm-up, ${o.payloadBytes}-byte JSON payloads, ` +
    `throughput scenarios median of ${o.repeat}, ${flow}; broker CPU % is of one core, client CPU in notes; µs/delivery = broker CPU time / deliveries.` +
    (o.http ? ' Broker status page on (--http, nobody viewing).' : '')
  );
}
