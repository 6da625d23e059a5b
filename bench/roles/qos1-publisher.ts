/**
 * QoS 1 publisher role: `publish` REQUESTS (`qos: 1`, each with an id) on one connection,
 * with at most `window` of them unanswered at a time. A QoS 1 answer means "the broker has
 * it" (with persistence: "it is on disk under the fsync policy"), so answers per second is
 * the figure, and publish -> answer is the latency a producer waits for.
 *
 * Why a window and not one at a time: a producer that waits for each answer before the
 * next publish measures one fsync per message whatever the policy, and the broker's
 * `batch` policy could never group appends. Within the window the FramePump writes every
 * frame it may in one `socket.write`, as the QoS 0 publisher does, and honours end-to-end
 * credit from the subscriber (the run is lossless) and TCP backpressure.
 */
import { performance } from 'node:perf_hooks';
import { BenchConnection } from '../client.js';
import type { Qos1PublisherInit } from '../ipc.js';
import { summarizeLatencyNs } from '../stats.js';
import { PublishTemplate, QOS1_ID_BASE } from '../wire.js';
import { cpuMs, emit, reportFailure, type Role } from './common.js';
import { FramePump } from './frame-pump.js';

/** After `stop`, how long the outstanding publishes may take to be answered. */
const ANSWER_WAIT_MS = 10_000;
/** Timed answers kept (a 60 s window at 200 k/s); later ones are counted, not kept. */
const MAX_SAMPLES = 12_000_000;

export async function startQos1Publisher(init: Qos1PublisherInit): Promise<Role> {
  const conn = await BenchConnection.open(init.port, `${init.idPrefix}-0`);
  // Send times by seq, in a ring larger than the window: at most `window` are outstanding.
  let ring = 1;
  while (ring < 2 * init.window) ring *= 2;
  const sentAt = new Float64Array(ring);
  const base = process.hrtime.bigint();
  const nowNs = (): number => Number(process.hrtime.bigint() - base);

  let samples = new Float64Array(1 << 16);
  let timed = 0;
  let measuring = false;
  let answered = 0;
  let errors = 0;
  let misrouted = 0;
  let firstError: string | null = null;
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

  const pump = new FramePump(conn, new PublishTemplate(init.topic, init.payloadBytes, { qos1: true }), {
    room: (sent) => init.window - (sent - answered),
    beforeWrite: (first, n) => {
      const now = nowNs();
      for (let i = 0; i < n; i++) sentAt[(first + i) & (ring - 1)] = now;
    },
  });

  conn.onAnswer = (id, result, error) => {
    const seq = id - QOS1_ID_BASE;
    if (seq < 0 || seq >= pump.sent) {
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
    if (answered === pump.sent && onAllAnswered) onAllAnswered();
    pump.wake();
  };

  /** Resolves once every publish sent has been answered, or after ANSWER_WAIT_MS. */
  const allAnswered = (): Promise<void> =>
    answered === pump.sent || conn.closed
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
          pump.grant(cmd.allowed);
          break;
        case 'measure':
          measuring = cmd.on;
          break;
        case 'snap':
          // `count` is answers: a QoS 1 publish counts once the broker has taken it.
          emit({ ev: 'snap', count: answered, min: answered, atMs: performance.now(), cpuMs: cpuMs(), closedConns: conn.closed ? 1 : 0, outOfOrder: 0 });
          break;
        case 'stop':
          pump.stop();
          allAnswered().then(() => {
            const s = summarizeLatencyNs(samples, timed);
            emit({ ev: 'qos1-stopped', sent: pump.sent, answered, errors, misrouted, firstError, p50Us: s.p50Us, p99Us: s.p99Us, maxUs: s.maxUs, samples: timed });
          }, reportFailure);
          break;
        default:
          break;
      }
    },
    close() {
      pump.stop();
      conn.close();
    },
  };
}
