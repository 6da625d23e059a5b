/**
 * `ack` frames for one connection, sent as notifications (no answer to read) in one write
 * per event-loop turn: the deliveries of one socket read are acked together, as the
 * project's client does. Both real clients ack every QoS 1 delivery, which lets the
 * broker forget it.
 */
import type { BenchConnection } from '../client.js';
import { callFrame } from '../wire.js';

export class Acker {
  private frames: Buffer[] = [];

  constructor(private readonly conn: () => BenchConnection | undefined) {}

  ack(messageId: unknown): void {
    if (typeof messageId !== 'string') return;
    if (this.frames.length === 0) setImmediate(() => this.flush());
    this.frames.push(callFrame(null, 'ack', { message_id: messageId }));
  }

  private flush(): void {
    const c = this.conn();
    if (c && !c.closed) c.write(Buffer.concat(this.frames));
    this.frames = [];
  }
}
