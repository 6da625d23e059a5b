import { describe, expect, it } from 'vitest';
import { frameStore } from '../../src/broker/frame-store.js';
import { createMessage, type DeliveryFlags } from '../../src/broker/message.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { setup } from '../helpers/outbound-queue-bed.js';

/** One subscriber's queue and what a plain list says it must have written. */
interface Subscriber {
  bed: ReturnType<typeof setup>;
  max: number;
  waiting: { body: string; qos: 0 | 1 }[];
  written: string[];
  closed: boolean;
}

const RETAINED: DeliveryFlags = { retained: true };

describe('OutboundQueue, frames queued in the shared frame store', () => {
  it('gives every queue its own deliveries byte for byte while queues fill, drop, drain and close at different times', () => {
    const liveBefore = frameStore.liveChunks;
    for (let seed = 1; seed <= 60; seed++) {
      const rng = new Rng(seed);
      let syncs = 0;
      /** The socket takes one delivery and then refuses more: everything after it queues. */
      const backpressure = (s: Subscriber): void => {
        s.bed.socket.accept = false;
        const body = `sync${syncs++}`;
        s.bed.deliver(body);
        s.bed.q.flush();
        s.written.push(body);
      };
      const subscriber = (): Subscriber => {
        const max = rng.int(3, 60);
        const s: Subscriber = { bed: setup(max), max, waiting: [], written: [], closed: false };
        backpressure(s);
        return s;
      };
      const all = Array.from({ length: 6 }, subscriber);
      const live = [...all];
      for (let op = 0; op < 1500; op++) {
        const r = rng.next();
        if (r < 0.75) {
          // A message fanned out to some of the queues, as the router does: one after another.
          const large = rng.chance(0.05);
          const body = `m${op}-${'p'.repeat(large ? rng.int(2100, 5000) : rng.int(0, 300))}`;
          const qos = rng.chance(0.2) ? 1 : 0;
          const msg = createMessage({ topic: 't', payload: body, sender: 's', qos });
          for (const s of live) {
            if (!rng.chance(0.7)) continue;
            const full = s.waiting.length >= s.max;
            const victim = full ? s.waiting.findIndex((w) => w.qos === 0) : -1;
            const ok = s.bed.q.sendDelivery(msg, rng.chance(0.1) ? RETAINED : undefined);
            if (full && victim < 0) {
              if (ok) throw new Error(`seed ${seed}, op ${op}: a full queue of QoS 1 deliveries took another`);
              continue;
            }
            if (!ok) throw new Error(`seed ${seed}, op ${op}: refused with room`);
            if (victim >= 0) s.waiting.splice(victim, 1);
            s.waiting.push({ body, qos });
          }
        } else if (r < 0.97) {
          const s = rng.pick(live);
          s.bed.socket.accept = true;
          s.bed.socket.emit('drain');
          s.written.push(...s.waiting.splice(0).map((w) => w.body));
          backpressure(s);
        } else {
          // The connection goes: what waited is forgotten, and a new subscriber comes.
          const i = rng.int(0, live.length - 1);
          const s = live[i]!;
          s.bed.q.abort();
          s.waiting = [];
          s.closed = true;
          const fresh = subscriber();
          live[i] = fresh;
          all.push(fresh);
        }
      }
      for (const s of live) {
        s.bed.socket.accept = true;
        s.bed.socket.emit('drain');
        s.written.push(...s.waiting.splice(0).map((w) => w.body));
      }
      for (const [i, s] of all.entries()) {
        expect(s.bed.socket.bodies(), `seed ${seed}, subscriber ${i}${s.closed ? ' (closed)' : ''}`).toEqual(s.written);
        expect(s.bed.socket.overwritten, `seed ${seed}`).toBe(0);
      }
      expect(all.some((s) => s.bed.dropped.count > 0), `seed ${seed}: some queue dropped`).toBe(true);
    }
    // Drained or closed, no queue holds a chunk: only the one being filled may be in use.
    expect(frameStore.liveChunks).toBeLessThanOrEqual(liveBefore + 1);
  });

  it('never hands a socket its frame inside a shared chunk, which is reused once released', () => {
    const a = setup(100);
    const b = setup(100_000);
    for (const { socket, deliver, q } of [a, b]) {
      socket.accept = false;
      deliver('sync');
      q.flush();
    }
    a.deliver('only-frame');
    // A's socket takes the frame but keeps it unsent, as a real one does when the kernel
    // takes part of a write; the queue is now empty and lets go of the frame's chunk.
    a.socket.holds = true;
    a.socket.accept = true;
    a.socket.emit('drain');
    expect(a.q.queuedDeliveries).toBe(0);
    // Another subscriber's frames fill that chunk and more; once it has read them the store
    // reuses their chunks, that one among them, for the frames queued next.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) b.deliver(`${round}-${i}-${'b'.repeat(300)}`);
      b.socket.accept = true;
      b.socket.emit('drain');
      b.socket.accept = false;
      b.deliver(`sync${round}`);
      b.q.flush();
    }
    a.socket.holds = false;
    a.socket.emit('drain');
    expect(a.socket.overwritten).toBe(0);
    expect(a.socket.bodies(true)).toEqual(['sync', 'only-frame']);
  });

  it('writes a message queued again after its frame\'s chunk was reused (a redelivery after a reconnect) anew', () => {
    const a = setup(100_000);
    const b = setup(100_000);
    const msg = createMessage({ topic: 't', payload: 'again', sender: 's', qos: 1 });
    const drain = (bed: ReturnType<typeof setup>): void => {
      bed.socket.accept = true;
      bed.socket.emit('drain');
      bed.socket.accept = false;
      bed.deliver('sync');
      bed.q.flush();
    };
    for (const bed of [a, b]) {
      bed.socket.accept = false;
      bed.deliver('sync');
      bed.q.flush();
    }
    expect(a.q.sendDelivery(msg)).toBe(true);
    drain(a);
    // Other frames come and go until the chunk that held it has been reused.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) b.deliver(`${round}-${i}-${'b'.repeat(300)}`);
      drain(b);
    }
    expect(a.q.sendDelivery(msg)).toBe(true);
    drain(a);
    expect(a.socket.bodies()).toEqual(['sync', 'again', 'sync', 'again', 'sync']);
  });

  it('lets go of the chunks of a connection cut with deliveries queued', () => {
    const liveBefore = frameStore.liveChunks;
    const bed = setup(100_000);
    bed.socket.accept = false;
    bed.deliver('first');
    bed.q.flush();
    // About 3 MB queued: hundreds of chunks.
    for (let i = 0; i < 10_000; i++) bed.deliver(`${i}-${'c'.repeat(300)}`);
    expect(frameStore.liveChunks).toBeGreaterThan(liveBefore + 300);
    bed.q.abort();
    expect(frameStore.liveChunks).toBeLessThanOrEqual(liveBefore + 1);
  });
});
