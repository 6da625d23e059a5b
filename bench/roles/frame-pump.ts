/**
 * Writes batches of publish frames as fast as credit, an optional window of unanswered
 * requests and TCP backpressure allow. Frames made in one event-loop turn go out in one
 * `socket.write` (each write costs the kernel and Node about 2 µs, docs/performance.md);
 * on backpressure it waits for 'drain', and it never runs past the granted credit, so a
 * lossless run stays at most `window` messages ahead of the slowest subscriber.
 */
import type { BenchConnection } from '../client.js';
import type { PublishTemplate } from '../wire.js';
import { reportFailure } from './common.js';

/** Bytes of frames joined into one write: big enough to amortise the write, small enough to stay responsive. */
const BATCH_BYTES = 64 * 1024;

export interface FramePumpOptions {
  /** How many more frames may go out now, given how many went so far (a QoS 1 window); unbounded when absent. */
  room?: (sent: number) => number;
  /** Called before frames `first`..`first + n - 1` are written (to stamp send times). */
  beforeWrite?: (first: number, n: number) => void;
}

export class FramePump {
  /** Frames written so far; frame `i` carries sequence number `i`. */
  sent = 0;
  private allowed = 0;
  private stopped = false;
  /** True while idle waiting for credit or room (rather than scheduled or waiting for drain). */
  private parked = true;
  private readonly framesPerBatch: number;

  constructor(
    private readonly conn: BenchConnection,
    private readonly template: PublishTemplate,
    private readonly opts: FramePumpOptions = {},
  ) {
    this.framesPerBatch = Math.max(1, Math.floor(BATCH_BYTES / template.frameBytes));
  }

  /** Allow frames up to sequence number `upTo` (exclusive). */
  grant(upTo: number): void {
    if (upTo <= this.allowed) return;
    this.allowed = upTo;
    if (this.parked) this.pump();
  }

  /**
   * Room opened (answers arrived). Answers come many to a socket read: refill once they are
   * all counted, in one write, rather than one frame per answer.
   */
  wake(): void {
    if (!this.parked) return;
    this.parked = false;
    setImmediate(() => this.pump());
  }

  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    this.parked = false;
    if (this.stopped || this.conn.closed) return;
    const n = Math.min(this.framesPerBatch, this.allowed - this.sent, this.opts.room?.(this.sent) ?? Infinity);
    if (n <= 0) {
      this.parked = true; // resumed by grant() or wake()
      return;
    }
    this.opts.beforeWrite?.(this.sent, n);
    // Throughput payloads carry t = 0: only the latency role needs a send time in the payload.
    const ok = this.conn.write(this.template.batch(this.sent, n, 0));
    this.sent += n;
    // setImmediate, not a loop: lets IPC (credit, snap, stop) and socket events in between batches.
    if (ok) setImmediate(() => this.pump());
    else this.conn.drained().then(() => this.pump(), reportFailure);
  }
}
