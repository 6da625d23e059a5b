/**
 * Queue latency role: appends `LEGACY|{"seq":N,"t":T}` lines to the queue file that
 * `bridge tail` follows, one open-append-close per line (fs.appendFileSync, what
 * AutoHotkey's FileAppend does), and subscribes to the topic the tail publishes them on.
 * Writer and subscriber share this process' monotonic clock: T is taken just before the
 * append, and the latency is receipt - T.
 *
 * Paced open-loop at `ratePerSec` (line k is due at start + k/rate; a late timer catches
 * up, each line stamped just before its own append), so a slow delivery never postpones
 * the next appends. Lines are untimed until the first one came back (that covers the
 * tail's start-up) plus `warmupMs`; then `lines` timed lines follow.
 */
import { appendFileSync } from 'node:fs';
import { BenchConnection } from '../client.js';
import type { QueueLatencyInit } from '../ipc.js';
import { percentileSorted, summarizeLatencyNs } from '../stats.js';
import { payloadField } from '../wire.js';
import { cpuMs, emit, reportFailure, type Role } from './common.js';

/** After the last timed append, how long to wait for the last deliveries before reporting. */
const SETTLE_MS = 3000;
const SETTLE_POLL_MS = 10;

export async function startQueueLatency(init: QueueLatencyInit): Promise<Role> {
  const base = process.hrtime.bigint();
  const nowNs = (): number => Number(process.hrtime.bigint() - base);
  const intervalNs = 1e9 / init.ratePerSec;

  const samples = new Float64Array(init.lines);
  let received = 0;
  let outOfOrder = 0;
  let lastSeq = -1;
  let firstRxNs = -1;
  /** Seq of the first timed line; lines below it are warm-up. */
  let timedFirst = Number.POSITIVE_INFINITY;

  const sub = await BenchConnection.open(init.port, `${init.idPrefix}-sub`, (params) => {
    const at = nowNs();
    if (params.topic !== init.topic) return;
    const seq = payloadField(params.payload, 'seq');
    const t = payloadField(params.payload, 't');
    if (seq < 0 || t < 0) return;
    if (firstRxNs < 0) firstRxNs = at;
    if (seq <= lastSeq) {
      outOfOrder++; // a repeat or a reordering: not a sample
      return;
    }
    lastSeq = seq;
    if (seq >= timedFirst && seq < timedFirst + init.lines) samples[received++] = at - t;
  });
  await sub.subscribe([init.topic]);

  let startNs = -1;
  let sent = 0;
  let appendMaxNs = 0;
  let cpuAtStart = 0;
  let windowStartMs = 0;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const append = (seq: number): void => {
    const t = nowNs();
    appendFileSync(init.file, `${init.legacyName}|{"seq":${seq},"t":${t}}\r\n`);
    appendMaxNs = Math.max(appendMaxNs, nowNs() - t);
  };

  const report = async (): Promise<void> => {
    const windowMs = performance.now() - windowStartMs;
    const cpuUsed = cpuMs() - cpuAtStart;
    for (let waited = 0; waited < SETTLE_MS && received < init.lines && !sub.closed && !closed; waited += SETTLE_POLL_MS) {
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
    const n = received;
    const s = summarizeLatencyNs(samples, n); // sorts samples[0, n)
    emit({
      ev: 'queue-latency',
      sent: init.lines,
      received: n,
      warmupLines: Number.isFinite(timedFirst) ? timedFirst : sent,
      p50Us: s.p50Us,
      p90Us: percentileSorted(samples.subarray(0, n), 90) / 1000,
      p99Us: s.p99Us,
      maxUs: s.maxUs,
      appendMaxUs: appendMaxNs / 1000,
      outOfOrder,
      cpuMs: cpuUsed,
      windowMs,
    });
  };

  const tick = (): void => {
    timer = null;
    if (closed) return;
    const now = nowNs();
    if (firstRxNs < 0 && now - startNs > init.firstLineTimeoutMs * 1e6) {
      emit({ ev: 'error', message: `no line came back within ${init.firstLineTimeoutMs} ms of the first append (is \`bridge tail\` running?)` });
      return;
    }
    if (!Number.isFinite(timedFirst) && firstRxNs >= 0 && now - firstRxNs >= init.warmupMs * 1e6) {
      timedFirst = sent;
      cpuAtStart = cpuMs();
      windowStartMs = performance.now();
      emit({ ev: 'measuring' });
    }
    const due = Math.floor((now - startNs) / intervalNs) + 1;
    const last = Number.isFinite(timedFirst) ? Math.min(due, timedFirst + init.lines) : due;
    while (sent < last) append(sent++);
    if (sent === timedFirst + init.lines) {
      emit({ ev: 'measured' });
      report().catch(reportFailure);
      return;
    }
    // Sleep until the next line is due (Node timers fire at ~1 ms granularity).
    const nextDueNs = startNs + sent * intervalNs;
    timer = setTimeout(tick, Math.max(0, (nextDueNs - nowNs()) / 1e6));
  };

  return {
    onCommand(cmd) {
      if (cmd.cmd !== 'start' || startNs >= 0) return;
      startNs = nowNs();
      tick();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      sub.close();
    },
  };
}
