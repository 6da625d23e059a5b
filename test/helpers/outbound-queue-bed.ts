/**
 * A bed for OutboundQueue unit tests: a socket stand-in that records what is written and
 * refuses more when told to, and a queue on it.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { FlushScheduler } from '../../src/broker/flush-scheduler.js';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { OutboundQueue } from '../../src/broker/outbound-queue.js';

/** A socket stand-in that records writes and reports backpressure when told to. */
export class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  /** What was written, uncopied: a queue that reuses a buffer after writing it shows here. */
  written: Buffer[] = [];
  destroyed = false;
  ended = false;
  accept = true;
  /**
   * True: the socket keeps what it accepts unsent for a while (a write that completes
   * later), as a real socket does when the kernel takes only part of a write. False: it
   * sends what it accepts at once (a write the kernel took whole, `writableLength` 0), after
   * which the writer may reuse its buffer.
   */
  holds = false;
  /** Bytes the socket holds unsent: what was written while it refused more, or held. */
  writableLength = 0;
  /** Writes not yet complete: their callbacks, their buffers and the bytes they had. */
  private incomplete: { view: Buffer; bytes: Buffer; done?: () => void }[] = [];
  /** Writes whose buffer the writer changed before the write completed: must stay 0. */
  overwritten = 0;
  write(data: Buffer, done?: () => void): boolean {
    const bytes = Buffer.from(data);
    this.writes.push(bytes);
    this.written.push(data);
    if (!this.accept || this.holds) {
      this.writableLength += data.length;
      this.incomplete.push({ view: data, bytes, done });
    } else if (done) {
      // Sent whole at once; as in Node, the callback comes later, never inside write().
      process.nextTick(done);
    }
    return this.accept;
  }
  /** A real socket emits 'drain' once everything it held is written. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'drain' && this.accept && !this.holds) {
      for (const { view, bytes, done } of this.incomplete.splice(0)) {
        if (!view.equals(bytes)) this.overwritten++;
        done?.();
      }
      this.writableLength = 0;
    }
    return super.emit(event, ...args);
  }
  end(): void {
    this.ended = true;
  }
  /** The frames written so far, as their text bodies (`asWritten`: from the uncopied buffers). */
  bodies(asWritten = false): string[] {
    const all = Buffer.concat(asWritten ? this.written : this.writes);
    const out: string[] = [];
    for (let off = 0; off < all.length; ) {
      const n = all.readUInt32BE(off);
      out.push(bodyText(all.subarray(off + 4, off + 4 + n).toString()));
      off += 4 + n;
    }
    return out;
  }
}

/** A delivery frame as its payload (the tests' deliveries carry strings), anything else as its text. */
export function bodyText(text: string): string {
  if (!text.startsWith('{')) return text;
  const parsed = JSON.parse(text) as { method?: string; params?: { payload?: unknown } };
  return parsed.method === 'message' ? String(parsed.params?.payload) : text;
}

export const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));
export const frame = (text: string): Buffer => {
  const b = Buffer.alloc(4 + text.length);
  b.writeUInt32BE(text.length);
  b.write(text, 4);
  return b;
};

/**
 * A queue of `max` deliveries and `maxBytes` unsent bytes on a FakeSocket, recording what
 * it reports; `onExpired` is called after an expiry is recorded (a hook that acts).
 */
export function setup(max: number, maxBytes = 64 * 1024 * 1024, onExpired?: (msg: BrokerMessage) => void) {
  const socket = new FakeSocket();
  // Drops are counted: a queued QoS 0 delivery no longer holds its message (which one
  // went shows in what is written).
  const dropped = { count: 0 };
  const expired: BrokerMessage[] = [];
  const overflows: number[] = [];
  const q = new OutboundQueue(socket as unknown as Socket, max, maxBytes, new FlushScheduler(), {
    dropped: () => dropped.count++,
    expired: (m) => {
      expired.push(m);
      onExpired?.(m);
    },
    overflow: (unsent) => overflows.push(unsent),
  });
  const deliver = (payload: string, qos: 0 | 1 = 0, ttl = 0): { msg: BrokerMessage; ok: boolean } => {
    const msg = createMessage({ topic: 't', payload, sender: 's', qos, ttl });
    return { msg, ok: q.sendDelivery(msg) };
  };
  return { socket, q, dropped, expired, overflows, deliver };
}

/** A queue whose socket has taken one delivery ('sync') and refuses more: what follows queues. */
export function backpressured(max = 100_000, onExpired?: (msg: BrokerMessage) => void): ReturnType<typeof setup> {
  const bed = setup(max, undefined, onExpired);
  bed.socket.accept = false;
  bed.deliver('sync');
  bed.q.flush();
  return bed;
}

/** Let `bed`'s socket take everything queued. */
export function drain(bed: ReturnType<typeof setup>): void {
  bed.socket.accept = true;
  bed.socket.emit('drain');
}

/** Drain `bed`, then have its socket take one more delivery ('sync') and refuse the rest again. */
export function drainThenRefuse(bed: ReturnType<typeof setup>): void {
  drain(bed);
  bed.socket.accept = false;
  bed.deliver('sync');
  bed.q.flush();
}
