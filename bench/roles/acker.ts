/**
 * `ack` frames for one connection, sent as notifications (no answer to read) in one write
 * per event-loop turn: the deliveries of one socket read are acked together, as the
 * project's client does. Both real clients ack every QoS 1 delivery, which lets the
 * broker forget it.
 *
 * The frames are written straight into the turn's buffer from a fixed text around the
 * id, not serialised through an object each: the bytes on the wire are the same, and the
 * bench's subscriber, which shares the two cores with the processes being measured,
 * spent a sixth of its CPU building them.
 */
import { HEADER_BYTES } from '../../src/protocol/framing.js';

/** Where acks go: a {@link import('../client.js').BenchConnection}, or what a test reads them from. */
export interface AckSink {
  readonly closed: boolean;
  write(data: Buffer): boolean;
}

const ACK_HEAD = '{"jsonrpc":"2.0","method":"ack","params":{"message_id":';
const ACK_TAIL = '}}';
/** A turn's first buffer: room for about a hundred acks of the broker's ids. */
const FIRST_BYTES = 8192;

export class Acker {
  private buf: Buffer | null = null;
  private used = 0;

  constructor(private readonly conn: () => AckSink | undefined) {}

  ack(messageId: unknown): void {
    if (typeof messageId !== 'string') return;
    const text = ACK_HEAD + JSON.stringify(messageId) + ACK_TAIL;
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const most = HEADER_BYTES + 3 * text.length;
    if (this.buf === null) {
      setImmediate(() => this.flush());
      this.buf = Buffer.allocUnsafe(Math.max(FIRST_BYTES, most));
    } else if (this.used + most > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.used + most));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    const n = this.buf.write(text, this.used + HEADER_BYTES, 'utf8');
    this.buf.writeUInt32BE(n, this.used);
    this.used += HEADER_BYTES + n;
  }

  private flush(): void {
    const c = this.conn();
    // The buffer goes to the socket as it is and is never written again: the next turn
    // starts a new one.
    if (c && !c.closed && this.buf !== null) c.write(this.buf.subarray(0, this.used));
    this.buf = null;
    this.used = 0;
  }
}
