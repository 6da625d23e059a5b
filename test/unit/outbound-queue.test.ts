import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FlushScheduler } from '../../src/broker/flush-scheduler.js';
import { deliveryFrameSize } from '../../src/broker/delivery-frame.js';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { OutboundQueue } from '../../src/broker/outbound-queue.js';

/** A socket stand-in that records writes and reports backpressure when told to. */
class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  /** What was written, uncopied: a queue that reuses a buffer after writing it shows here. */
  written: Buffer[] = [];
  destroyed = false;
  ended = false;
  accept = true;
  /** Bytes the socket holds unsent: what was written while it refused more. */
  writableLength = 0;
  write(data: Buffer): boolean {
    this.writes.push(Buffer.from(data));
    this.written.push(data);
    if (!this.accept) this.writableLength += data.length;
    return this.accept;
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
function bodyText(text: string): string {
  if (!text.startsWith('{')) return text;
  const parsed = JSON.parse(text) as { method?: string; params?: { payload?: unknown } };
  return parsed.method === 'message' ? String(parsed.params?.payload) : text;
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));
const frame = (text: string): Buffer => {
  const b = Buffer.alloc(4 + text.length);
  b.writeUInt32BE(text.length);
  b.write(text, 4);
  return b;
};

function setup(max: number, maxBytes = 64 * 1024 * 1024) {
  const socket = new FakeSocket();
  const dropped: BrokerMessage[] = [];
  const expired: BrokerMessage[] = [];
  const overflows: number[] = [];
  const q = new OutboundQueue(socket as unknown as Socket, max, maxBytes, new FlushScheduler(), {
    dropped: (m) => dropped.push(m),
    expired: (m) => expired.push(m),
    overflow: (unsent) => overflows.push(unsent),
  });
  const deliver = (payload: string, qos: 0 | 1 = 0, ttl = 0): { msg: BrokerMessage; ok: boolean } => {
    const msg = createMessage({ topic: 't', payload, sender: 's', qos, ttl });
    return { msg, ok: q.sendDelivery(msg) };
  };
  return { socket, q, dropped, expired, overflows, deliver };
}

describe('OutboundQueue', () => {
  it('writes everything queued in one turn with a single socket.write', async () => {
    const { socket, q, deliver } = setup(100);
    for (let i = 0; i < 50; i++) deliver(`m${i}`);
    q.sendControl(frame('resp'));
    await tick();
    expect(socket.writes).toHaveLength(1);
    expect(socket.bodies()).toEqual([...Array.from({ length: 50 }, (_, i) => `m${i}`), 'resp']);
  });

  it('holds deliveries while the socket is backpressured and writes them on drain, in order', async () => {
    const { socket, q, deliver } = setup(100);
    socket.accept = false;
    deliver('a');
    await tick();
    deliver('b');
    deliver('c');
    await tick();
    expect(socket.bodies()).toEqual(['a']);
    expect(q.queuedDeliveries).toBe(2);
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['a', 'b', 'c']);
    expect(q.queuedDeliveries).toBe(0);
  });

  it('past max_queue_size drops the oldest QoS 0 delivery, never a response', async () => {
    const { socket, q, dropped, deliver } = setup(3);
    socket.accept = false;
    deliver('first');
    await tick(); // written; now backpressured
    const a = deliver('a', 0).msg;
    deliver('b', 1);
    q.sendControl(frame('resp'));
    deliver('c', 0);
    const d = deliver('d', 0);
    expect(d.ok).toBe(true);
    expect(dropped).toEqual([a]);
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['first', 'b', 'resp', 'c', 'd']);
  });

  it('when only QoS 1 deliveries wait, refuses the new message', async () => {
    const { socket, dropped, deliver } = setup(2);
    socket.accept = false;
    deliver('x');
    await tick();
    deliver('q1', 1);
    deliver('q2', 1);
    const extra = deliver('new', 0);
    expect(extra.ok).toBe(false);
    expect(dropped).toEqual([extra.msg]);
  });

  it('does not write a delivery whose TTL ran out while it waited', async () => {
    const { socket, expired, deliver } = setup(10);
    socket.accept = false;
    deliver('x');
    await tick();
    const short = deliver('short', 0, 0.001).msg;
    deliver('long', 0, 60);
    const until = short.expiresAt;
    while (Date.now() < until + 1) await new Promise((r) => setTimeout(r, 1));
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['x', 'long']);
    expect(expired).toEqual([short]);
  });

  it('does not keep written QoS 0 entries referenced while a backlog persists', async () => {
    const { socket, q, deliver } = setup(1_000_000);
    // Each flush writes up to 1 MiB, so with 64 KiB frames a backlog always remains.
    const big = 'x'.repeat(64 * 1024);
    socket.accept = false;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 20; i++) deliver(big);
      socket.emit('drain');
    }
    expect(q.queuedDeliveries).toBeGreaterThan(0);
    expect(q.indexedQos0).toBe(q.queuedDeliveries);
  });

  it('end() flushes everything regardless of backpressure, then ends the socket', async () => {
    const { socket, q, deliver } = setup(10);
    socket.accept = false;
    deliver('a');
    await tick();
    deliver('b');
    q.end(frame('bye'));
    expect(socket.bodies()).toEqual(['a', 'b', 'bye']);
    expect(socket.ended).toBe(true);
  });

  it('coalesces responses queued behind backpressure and writes them in order, byte for byte', async () => {
    const { socket, q, deliver } = setup(100);
    socket.accept = false;
    deliver('first');
    await tick();
    const expected = ['first'];
    // Enough 1 KiB answers to fill several 64 KiB chunks, with deliveries in between.
    for (let i = 0; i < 300; i++) {
      const body = `r${i}-${'y'.repeat(1000)}`;
      q.sendControl(frame(body));
      expected.push(body);
      if (i % 97 === 0) {
        deliver(`d${i}`);
        expected.push(`d${i}`);
      }
    }
    // The socket takes the backlog but stays backpressured, so the chunks just handed to
    // it are still the queue's tail: later answers must not be copied into them.
    socket.emit('drain');
    expect(socket.bodies()).toEqual(expected);
    for (let i = 0; i < 50; i++) {
      q.sendControl(frame(`late${i}`));
      expected.push(`late${i}`);
    }
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(expected);
    expect(socket.bodies(true)).toEqual(expected);
    // 300 answers went out in a handful of writes, not one object each.
    expect(socket.writes.length).toBeLessThan(12);
  });

  it('past max_output_bytes reports an overflow, discards what waits and accepts nothing more', async () => {
    const { socket, q, overflows, deliver } = setup(1000, 10_000);
    socket.accept = false;
    const first = deliver('first').msg;
    await tick();
    for (let i = 0; i < 9; i++) q.sendControl(frame('z'.repeat(996))); // 9,000 bytes queued
    expect(overflows).toEqual([]);
    q.sendControl(frame('z'.repeat(996)));
    expect(overflows).toHaveLength(1);
    // Counted: the 1,000-byte frames queued here plus the socket's own unsent 'first'.
    expect(overflows[0]).toBe(10_000 + deliveryFrameSize(first, {}));
    expect(q.unsentBytes).toBe(socket.writableLength);
    expect(deliver('after').ok).toBe(false);
    q.sendControl(frame('after'));
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['first']);
    expect(overflows).toHaveLength(1);
  });

  it('counts queued deliveries toward max_output_bytes too', async () => {
    const sample = createMessage({ topic: 't', payload: 'p'.repeat(996), sender: 's', qos: 1 });
    const size = deliveryFrameSize(sample, {});
    const { socket, q, overflows, deliver } = setup(1000, 4 * size + size / 2);
    socket.accept = false;
    deliver('first');
    await tick();
    for (let i = 0; i < 4; i++) expect(deliver('p'.repeat(996), 1).ok).toBe(true);
    expect(overflows).toEqual([]);
    expect(q.unsentBytes).toBe(4 * size + socket.writableLength);
    deliver('p'.repeat(996), 1);
    expect(overflows).toHaveLength(1);
    expect(q.queuedDeliveries).toBe(0);
  });
});
