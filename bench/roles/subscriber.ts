/**
 * Subscriber role: `conns` connections on one topic. Counts deliveries per connection,
 * checks publish order, and (with end-to-end flow control) reports the slowest
 * connection's count so the orchestrator can grant the publisher more credit. With `ack`
 * it acks every delivery, as a QoS 1 consumer does.
 */
import { performance } from 'node:perf_hooks';
import { BenchConnection } from '../client.js';
import type { SubscriberInit } from '../ipc.js';
import { payloadField } from '../wire.js';
import { Acker } from './acker.js';
import { cpuMs, emit, type Role } from './common.js';

export async function startSubscriber(init: SubscriberInit): Promise<Role> {
  const counts = new Array<number>(init.conns).fill(0);
  const lastSeq = new Array<number>(init.conns).fill(-1);
  let outOfOrder = 0;
  const conns: BenchConnection[] = [];
  for (let i = 0; i < init.conns; i++) {
    const acker = init.ack ? new Acker(() => conns[i]) : null;
    const onDelivery = (params: Record<string, unknown>): void => {
      const seq = payloadField(params.payload, 'seq');
      // Messages from one publisher must arrive in publish order (docs/protocol.md, "Delivery").
      if (seq <= lastSeq[i]!) outOfOrder++;
      lastSeq[i] = seq;
      counts[i]!++;
      acker?.ack(params.message_id);
    };
    const conn = await BenchConnection.open(init.port, `${init.idPrefix}-${i}`, onDelivery);
    conns.push(conn); // before subscribing: the acker needs it from the first delivery on
    await conn.subscribe([init.topic]);
  }

  const slowest = (): number => Math.min(...counts);
  let progressTimer: NodeJS.Timeout | null = null;
  if (init.progressMs > 0) {
    let reported = -1;
    progressTimer = setInterval(() => {
      const min = slowest();
      if (min !== reported) {
        reported = min;
        emit({ ev: 'progress', min });
      }
    }, init.progressMs);
  }

  return {
    onCommand(cmd) {
      if (cmd.cmd !== 'snap') return;
      emit({
        ev: 'snap',
        count: counts.reduce((a, b) => a + b, 0),
        min: slowest(),
        atMs: performance.now(),
        cpuMs: cpuMs(),
        closedConns: conns.filter((c) => c.closed).length,
        outOfOrder,
      });
    },
    close() {
      if (progressTimer) clearInterval(progressTimer);
      for (const c of conns) c.close();
    },
  };
}
