/**
 * Latency role: one publisher and one subscriber connection in the same process, so the
 * send time written into the payload and the receive time come from one monotonic clock.
 * Publishing is paced open-loop at `ratePerSec` (message k is due at start + k/rate, and
 * late ticks catch up) so a slow delivery cannot postpone the next sends and hide its own
 * delay. Node timers fire at most every ~1 ms, so at 2,000 msg/s messages leave in pairs,
 * each pair in one write and stamped with the moment it was written.
 *
 * For federation the two connections go to two brokers (`subPort`) joined through an
 * upstream engine; with `qos1` the publishes are QoS 1 requests and every delivery is acked.
 */
import { BenchConnection } from '../client.js';
import type { LatencyInit } from '../ipc.js';
import { summarizeLatencyNs } from '../stats.js';
import { PublishTemplate, callFrame, payloadField } from '../wire.js';
import { cpuMs, emit, reportFailure, type Role } from './common.js';

/** After the window, how long to wait for the last deliveries before reporting. */
const SETTLE_MS = 2000;
const SETTLE_POLL_MS = 10;

export async function startLatency(init: LatencyInit): Promise<Role> {
  const base = process.hrtime.bigint();
  // Relative to this process' start, so nanoseconds stay far below 2^53.
  const nowNs = (): number => Number(process.hrtime.bigint() - base);
  let startNs = 0;
  let windowStartNs = Number.POSITIVE_INFINITY;
  let windowEndNs = Number.POSITIVE_INFINITY;

  // Room for the window's samples with 20% slack; extra samples (there should be none) are counted, not stored.
  const capacity = Math.ceil((init.ratePerSec * init.measureMs) / 1000 * 1.2) + 1000;
  const samples = new Float64Array(capacity);
  let stored = 0;
  let received = 0;
  const sub = await BenchConnection.open(init.subPort ?? init.port, `${init.idPrefix}-sub`, (params) => {
    if (params.qos === 1) sub.write(callFrame(null, 'ack', { message_id: params.message_id }));
    const t = payloadField(params.payload, 't');
    const latency = nowNs() - t;
    if (t < windowStartNs || t >= windowEndNs) return; // warm-up, or not ours
    received++;
    if (stored < capacity) samples[stored++] = latency;
  });
  await sub.subscribe([init.topic]);
  const pub = await BenchConnection.open(init.port, `${init.idPrefix}-pub`);
  const template = new PublishTemplate(init.topic, init.payloadBytes, { qos1: init.qos1 === true });
  let errors = 0;
  pub.onAnswer = (_id, _result, error) => {
    if (error) errors++;
  };

  let sent = 0;
  let sentInWindow = 0;
  let measuring = false;
  let cpuAtStart = 0;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const report = async (): Promise<void> => {
    const cpuUsed = cpuMs() - cpuAtStart;
    for (let waited = 0; waited < SETTLE_MS && received < sentInWindow && !sub.closed; waited += SETTLE_POLL_MS) {
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
    const s = summarizeLatencyNs(samples, stored);
    emit({ ev: 'latency', sent: sentInWindow, received, p50Us: s.p50Us, p99Us: s.p99Us, maxUs: s.maxUs, cpuMs: cpuUsed, windowMs: init.measureMs, errors });
  };

  const tick = (): void => {
    timer = null;
    if (closed) return;
    const now = nowNs();
    if (now >= windowEndNs) {
      emit({ ev: 'measured' });
      report().catch(reportFailure);
      return;
    }
    if (!measuring && now >= windowStartNs) {
      measuring = true;
      cpuAtStart = cpuMs();
      emit({ ev: 'measuring' });
    }
    const due = Math.floor(((now - startNs) * init.ratePerSec) / 1e9) + 1;
    const n = due - sent;
    if (n > 0) {
      // Open loop on purpose: at 2,000 msg/s of ~170-byte frames the socket never pushes
      // back unless the broker stalls, and then queueing the sends is what shows the stall.
      pub.write(template.batch(sent, n, now));
      sent += n;
      if (now >= windowStartNs) sentInWindow += n;
    }
    timer = setTimeout(tick, 1);
  };

  return {
    onCommand(cmd) {
      if (cmd.cmd !== 'start' || startNs !== 0) return;
      startNs = nowNs();
      windowStartNs = startNs + init.warmupMs * 1e6;
      windowEndNs = windowStartNs + init.measureMs * 1e6;
      tick();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      pub.close();
      sub.close();
    },
  };
}
