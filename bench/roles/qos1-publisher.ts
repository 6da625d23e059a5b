/**
 * QoS 1 publisher role: `publish` REQUESTS (`qos: 1`, each with an id) on one connection,
 * with at most `window` of them unanswered at a time. A QoS 1 answer means "the broker has
 * it" (with persistence: "it is on disk under the fsync policy"), so answers per second is
 * the figure, and publish -> answer is the latency a producer waits for.
 *
 * Why a window and not one at a time: a producer that waits for each answer before the
 * next publish measures one fsync per message whatever the policy, and the broker's
 * `batch` policy could never group appends. Within the window the pump writes every frame
 * it may in one `socket.write`, as the QoS 0 publisher does, and honours end-to-end credit
 * from the subscriber (the run is lossless) and TCP backpressure.
 */
import { performance } from 'node:perf_hooks';
import { BenchConnection } from '../client.js';
import type { Qos1PublisherInit } from '../ipc.js';
import { summarizeLatencyNs } from '../stats.js';
import { PublishTemplate, QOS1_ID_BASE } from '../wire.js';
import { cpuMs, emit, reportFailure, type Role } from './common.js';

/** Bytes of frames joined into one write. */
const BATCH_BYTES = 64 * 1024;
/** After `stop`, how long the outstanding publishes may take to be answered. */
const ANSWER_WAIT_MS = 10_000;
/** Timed answers kept (a 60 s window at 200 k/s); later ones are counted, not kept. */
const MAX_SAMPLES = 12_000_000;

export async function startQos1Publisher(init: Qos1PublisherInit): Promise<Role> {
  const conn = await BenchConnection.open(init.port, `${init.idPrefix}-0`);
  const template = new PublishTemplate(init.topic, init.payloadBytes, { qos1: true });
  const framesPerBatch = Math.max(1, Math.floor(BATCH_BYTES / template.frameBytes));
  // Send times by seq, in a ring larger than the window: at most `window` are outstanding.
  let ring = 1;
  while (ring < 2 * init.window) ring *= 2;
  const sentAt = new Float64Array(ring);
  const base = process.hrtime.bigint();
  const nowNs = (): number => Number(process.hrtime.bigint() - base);

  let samples = new Float64Array(1 << 16);
  let timed = 0;
  let measuring = false;
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let misrouted = 0;
  let firstError: string | null = null;
  let allowed = 0;
  let stopped = false;
  /** True while the pump waits for an answer or credit (not scheduled, not waiting for drain). */
  let parked = true;
  let onAllAnswered: (() => void) | null = null;

  const keep = (ns: number): void => {
    if (timed === samples.length) {
      if (timed >= MAX_SAMPLES) return;
      const bigger = new Float64Array(Math.min(MAX_SAMPLES, samples.length * 2));
      bigger.set(samples);
      samples = bigger;
    }
    samples[timed++] = ns;
  };

  const pump = (): void => {
    parked = false;
    if (stopped || conn.closed) return;
    const n = Math.min(framesPerBatch, init.window - (sent - answered), allowed - sent);
    if (n <= 0) {
      parked = true; // resumed by the next answer or 'credit'
      return;
    }
    const now = nowNs();
    for (let i = 0; i < n; i++) sentAt[(sent + i) & (ring - 1)] = now;
    const ok = conn.write(template.batch(sent, n, 0));
    sent += n;
    if (ok) setImmediate(pump);
    else conn.drained().then(pump, reportFailure);
  };

  conn.onAnswer = (id, result, error) => {
    const seq = id - QOS1_ID_BASE;
    if (seq < 0 || seq >= sent) {
      conn.badFrames++;
      return;
    }
    answered++;
    if (measuring) keep(nowNs() - sentAt[seq & (ring - 1)]!);
    if (error !== undefined) {
      errors++;
      firstError ??= JSON.stringify(error).slice(0, 200);
    } else if ((result as { delivered?: unknown } | undefined)?.delivered !== init.expectDelivered) {
      misrouted++;
    }
    if (answered === sent && onAllAnswered) onAllAnswered();
    // Answers come many to a socket read: refill the window once they are all counted,
    // in one write, rather than one frame per answer.
    if (parked) {
      parked = false;
      setImmediate(pump);
    }
  };

  const grant = (upTo: number): void => {
    if (upTo <= allowed) return;
    allowed = upTo;
    if (parked) pump();
  };

  /** Resolves once every publish sent has been answered, or after ANSWER_WAIT_MS. */
  const allAnswered = (): Promise<void> =>
    answered === sent || conn.closed
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(resolve, ANSWER_WAIT_MS);
          onAllAnswered = () => {
            clearTimeout(timer);
            resolve();
          };
        });

  return {
    onCommand(cmd) {
      switch (cmd.cmd) {
        case 'start':
        case 'credit':
          grant(cmd.allowed);
          break;
        case 'measure':
          measuring = cmd.on;
          break;
        case 'snap':
          // `count` is answers: a QoS 1 publish counts once the broker has taken it.
          emit({ ev: 'snap', count: answered, min: answered, atMs: performance.now(), cpuMs: cpuMs(), closedConns: conn.closed ? 1 : 0, outOfOrder: 0 });
          break;
        case 'stop':
          stopped = true;
          allAnswered().then(() => {
            const s = summarizeLatencyNs(samples, timed);
            emit({ ev: 'qos1-stopped', sent, answered, errors, misrouted, firstError, p50Us: s.p50Us, p99Us: s.p99Us, maxUs: s.maxUs, samples: timed });
          }, reportFailure);
          break;
        default:
          break;
      }
    },
    close() {
      stopped = true;
      conn.close();
    },
  };
}
