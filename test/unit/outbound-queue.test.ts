import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FlushScheduler } from '../../src/broker/flush-scheduler.js';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { OutboundQueue } from '../../src/broker/outbound-queue.js';

/** A socket stand-in that records writes and reports backpressure when told to. */
class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  destroyed = false;
  ended = false;
  accept = true;
  write(data: Buffer): boolean {
    this.writes.push(Buffer.from(data));
    return this.accept;
  }
  end(): void {
    this.ended = true;
  }
  /** The frames written so far, as their text bodies. */
  bodies(): string[] {
    const all = Buffer.concat(this.writes);
    const out: string[] = [];
    for (let off = 0; off < all.length; ) {
      const n = all.readUInt32BE(off);
      out.push(all.subarray(off + 4, off + 4 + n).toString());
      off += 4 + n;
    }
    return out;
  }
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));
const frame = (text: string): Buffer => {
  const b = Buffer.alloc(4 + text.length);
  b.writeUInt32BE(text.length);
  b.write(text, 4);
  return b;
};

function setup(max: number) {
  const socket = new FakeSocket();
  const dropped: BrokerMessage[] = [];
  const expired: BrokerMessage[] = [];
  const q = new OutboundQueue(socket as unknown as Socket, max, new FlushScheduler(), {
    dropped: (m) => dropped.push(m),
    expired: (m) => expired.push(m),
  });
  const deliver = (payload: string, qos: 0 | 1 = 0, ttl = 0): { msg: BrokerMessage; ok: boolean } => {
    const msg = createMessage({ topic: 't', payload, sender: 's', qos, ttl });
    return { msg, ok: q.sendDelivery(frame(payload), msg) };
  };
  return { socket, q, dropped, expired, deliver };
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
});
