import { describe, expect, it } from 'vitest';
import { deliveryFrameSize } from '../../src/broker/delivery-frame.js';
import { frameStore } from '../../src/broker/frame-store.js';
import { createMessage, type DeliveryFlags } from '../../src/broker/message.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { jsonValue, RawJson } from '../../src/protocol/raw-json.js';
import { expectedDeliveryText } from '../helpers/delivery-text.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { backpressured, drain, drainThenRefuse, setup } from '../helpers/outbound-queue-bed.js';

/** One subscriber's queue and what a plain list says it must have written. */
interface Subscriber {
  bed: ReturnType<typeof setup>;
  max: number;
  waiting: { body: string; qos: 0 | 1 }[];
  written: string[];
  closed: boolean;
}

const RETAINED: DeliveryFlags = { retained: true };
const REDELIVERED: DeliveryFlags = { redelivered: true };

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

  it('queues the bytes JSON.stringify gives, flags included, and shares a plain frame among the queues', () => {
    const queues = [backpressured(), backpressured(), backpressured()];
    const raw = (text: string): RawJson => {
      const bytes = Buffer.from(`xx${text}yy`);
      return new RawJson(bytes, 2, bytes.length - 2, true);
    };
    const msgs = [
      createMessage({ topic: 'fan.a', payload: raw('{"k":"日本","n":[1,2]}'), sender: 'p', qos: 1 }),
      createMessage({ topic: 'fan.b', payload: { v: 'é' }, sender: 'p', ttl: 60 }),
      createMessage({ topic: 'fan.a', payload: raw('"😀"'), sender: 'p', replyTo: 'tok' }),
      createMessage({ topic: 'fan.big', payload: 'L'.repeat(5000), sender: 'p' }),
    ];
    const expected: Buffer[][] = [[], [], []];
    for (const msg of msgs) {
      const size = deliveryFrameSize(msg, {});
      const before = frameStore.reserve(0);
      const chunkBefore = frameStore.currentChunk;
      for (const [i, flags] of [[0, undefined], [1, RETAINED], [2, undefined], [1, undefined], [2, REDELIVERED]] as const) {
        expect(queues[i]!.q.sendDelivery(msg, flags)).toBe(true);
        expected[i]!.push(encodeFrame(expectedDeliveryText(msg, flags ?? {}, jsonValue(msg.payload))));
      }
      // The plain frame was placed once for the three queues (a large one not at all).
      const placed = frameStore.currentChunk === chunkBefore ? frameStore.reserve(0) - before : frameStore.reserve(0);
      expect(placed).toBe(size > 2048 ? 0 : size);
    }
    for (const [i, bed] of queues.entries()) {
      drain(bed);
      const written = Buffer.concat(bed.socket.writes);
      const sync = bed.socket.writes[0]!;
      expect(written.subarray(sync.length).toString('hex'), `queue ${i}`).toBe(Buffer.concat(expected[i]!).toString('hex'));
    }
  });

  it('writes a message queued again after its frame\'s chunk was reused (a redelivery after a reconnect) anew', () => {
    const a = backpressured();
    const b = backpressured();
    const msg = createMessage({ topic: 't', payload: 'again', sender: 's', qos: 1 });
    expect(a.q.sendDelivery(msg)).toBe(true);
    drainThenRefuse(a);
    // Other frames come and go until the chunk that held it has been reused.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) b.deliver(`${round}-${i}-${'b'.repeat(300)}`);
      drainThenRefuse(b);
    }
    expect(a.q.sendDelivery(msg)).toBe(true);
    drainThenRefuse(a);
    expect(a.socket.bodies()).toEqual(['sync', 'again', 'sync', 'again', 'sync']);
  });

  it('lets go of the chunks of a connection cut with deliveries queued', () => {
    const liveBefore = frameStore.liveChunks;
    const bed = backpressured();
    // About 3 MB queued: hundreds of chunks.
    for (let i = 0; i < 10_000; i++) bed.deliver(`${i}-${'c'.repeat(300)}`);
    expect(frameStore.liveChunks).toBeGreaterThan(liveBefore + 300);
    bed.q.abort();
    expect(frameStore.liveChunks).toBeLessThanOrEqual(liveBefore + 1);
  });
});
