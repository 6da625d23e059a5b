/**
 * Publisher role: `publish` notifications (fire-and-forget, as AutoHotkey clients send
 * them) on one connection, as fast as allowed. Frames made in one event-loop turn go out
 * in one `socket.write` (each write costs the kernel and Node about 2 µs, docs/performance.md);
 * when the socket reports backpressure the pump waits for 'drain', and with end-to-end
 * flow control it never runs more than the granted credit ahead of the slowest subscriber.
 */
import { performance } from 'node:perf_hooks';
import { BenchConnection } from '../client.js';
import type { PublisherInit } from '../ipc.js';
import { PublishTemplate } from '../wire.js';
import { cpuMs, emit, reportFailure, type Role } from './common.js';

/** Bytes of frames joined into one write: big enough to amortise the write, small enough to stay responsive. */
const BATCH_BYTES = 64 * 1024;

export async function startPublisher(init: PublisherInit): Promise<Role> {
  const conn = await BenchConnection.open(init.port, `${init.idPrefix}-0`);
  const template = new PublishTemplate(init.topic, init.payloadBytes);
  const framesPerBatch = Math.max(1, Math.floor(BATCH_BYTES / template.frameBytes));
  let sent = 0;
  let allowed = 0;
  let stopped = false;
  /** True while the pump is idle waiting for credit (rather than scheduled or waiting for drain). */
  let parked = true;

  const pump = (): void => {
    parked = false;
    if (stopped || conn.closed) return;
    const n = Math.min(framesPerBatch, allowed - sent);
    if (n <= 0) {
      parked = true; // resumed by the next 'credit'
      return;
    }
    // Throughput payloads carry t = 0: only the latency role needs a send time.
    const ok = conn.write(template.batch(sent, n, 0));
    sent += n;
    // setImmediate, not a loop: lets IPC (credit, snap, stop) and socket events in between batches.
    if (ok) setImmediate(pump);
    else conn.drained().then(pump, reportFailure);
  };

  const grant = (upTo: number): void => {
    if (upTo <= allowed) return;
    allowed = upTo;
    if (parked) pump();
  };

  return {
    onCommand(cmd) {
      switch (cmd.cmd) {
        case 'start':
        case 'credit':
          grant(cmd.allowed);
          break;
        case 'snap':
          emit({ ev: 'snap', count: sent, min: sent, atMs: performance.now(), cpuMs: cpuMs(), closedConns: conn.closed ? 1 : 0, outOfOrder: 0 });
          break;
        case 'stop':
          stopped = true;
          emit({ ev: 'stopped', sent });
          break;
        case 'exit':
          break;
      }
    },
    close() {
      stopped = true;
      conn.close();
    },
  };
}
