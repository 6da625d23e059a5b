/**
 * Queue backlog role: one subscriber connection on the topic `bridge tail` publishes a
 * pre-filled queue file on. Every delivery is checked: its seq (each line once, in file
 * order) and its queue_id, which must end with the line's own byte offset (lines are
 * fixed-width, so line `seq` starts at `seq * lineBytes`). Each delivery is acked, as the
 * apps' clients ack every QoS 1 delivery. When every line has arrived it
 * reports the first and last receipt on the system-wide monotonic clock, which the
 * orchestrator compares with its own reading taken just before it spawned the tail.
 */
import { BenchConnection } from '../client.js';
import type { QueueBacklogInit } from '../ipc.js';
import { monotonicMs } from '../stats.js';
import { payloadField } from '../wire.js';
import { Acker } from './acker.js';
import { cpuMs, emit, type Role } from './common.js';

/** Missing-line ranges reported after a timeout. */
const MAX_RANGES = 10;

const COLON = 0x3a;
const ZERO = 0x30;

/**
 * Whether `id` ends with `:` and the decimal digits of `offset`: what `id.endsWith(\`:${offset}\`)`
 * says, read digit by digit from the end, with no string made per line (those were a
 * quarter of what this process allocated).
 */
export function endsWithOffset(id: string, offset: number): boolean {
  let i = id.length - 1;
  let v = offset;
  do {
    if (i < 0 || id.charCodeAt(i) !== ZERO + (v % 10)) return false;
    v = Math.floor(v / 10);
    i--;
  } while (v > 0);
  return i >= 0 && id.charCodeAt(i) === COLON;
}

export async function startQueueBacklog(init: QueueBacklogInit): Promise<Role> {
  const seen = new Uint8Array(init.lines);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let badQueueIds = 0;
  let lastSeq = -1;
  let firstAtMs = -1;
  let done = false;
  const cpu0 = cpuMs();

  // The tail publishes at QoS 1: the subscriber acks each line, as an app's client does.
  const acker = new Acker(() => conn);
  const conn: BenchConnection = await BenchConnection.open(init.port, `${init.idPrefix}-sub`, (params) => {
    if (params.topic !== init.topic) return;
    if (params.qos === 1) acker.ack(params.message_id);
    const seq = payloadField(params.payload, 'seq');
    if (seq < 0 || seq >= init.lines) return;
    // The clock is read for the first line and the last alone: a reading per line was a
    // hundredth of this process's CPU, which shares the cores with what is measured.
    if (firstAtMs < 0) firstAtMs = monotonicMs();
    const queueId = (params.payload as { queue_id?: unknown }).queue_id;
    if (typeof queueId !== 'string' || !endsWithOffset(queueId, seq * init.lineBytes)) badQueueIds++;
    if (seq <= lastSeq) outOfOrder++;
    else lastSeq = seq;
    if (seen[seq]) {
      duplicates++;
      return;
    }
    seen[seq] = 1;
    received++;
    if (received === init.lines && !done) {
      done = true;
      emit({ ev: 'queue-done', received, duplicates, outOfOrder, badQueueIds, firstAtMs, lastAtMs: monotonicMs(), cpuMs: cpuMs() - cpu0 });
    }
  });
  await conn.subscribe([init.topic]);

  return {
    onCommand(cmd) {
      if (cmd.cmd === 'missing') {
        const ranges: Array<[number, number]> = [];
        let missing = 0;
        for (let seq = 0; seq < init.lines; seq++) {
          if (seen[seq]) continue;
          missing++;
          const last = ranges[ranges.length - 1];
          if (last && last[1] === seq - 1) last[1] = seq;
          else if (ranges.length < MAX_RANGES) ranges.push([seq, seq]);
        }
        emit({ ev: 'queue-missing', missing, ranges, badFrames: conn.badFrames, closed: conn.closed });
        return;
      }
      if (cmd.cmd !== 'snap') return;
      emit({ ev: 'snap', count: received, min: received, atMs: monotonicMs(), cpuMs: cpuMs(), closedConns: conn.closed ? 1 : 0, outOfOrder });
    },
    close() {
      conn.close();
    },
  };
}
