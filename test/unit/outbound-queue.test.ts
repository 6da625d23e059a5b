import { describe, expect, it } from 'vitest';
import { takeDirectChunk } from '../../src/broker/chunk-pool.js';
import { deliveryFrameSize } from '../../src/broker/delivery-frame.js';
import { createMessage, deliveryFrame, type BrokerMessage } from '../../src/broker/message.js';
import type { OutboundQueue } from '../../src/broker/outbound-queue.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { jsonValue, RawJson } from '../../src/protocol/raw-json.js';
import { expectedDeliveryText } from '../helpers/delivery-text.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { frame, setup, tick } from '../helpers/outbound-queue-bed.js';

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

  it('takesMore while a delivery would go straight to the socket; whenWritable resumes a sender in a later turn once it does again', async () => {
    const { socket, q, deliver } = setup(100);
    expect(q.takesMore).toBe(true);
    socket.accept = false;
    deliver('a');
    await tick(); // written: now backpressured
    expect(q.takesMore).toBe(false);
    const resumed: boolean[] = [];
    q.whenWritable(() => resumed.push(q.takesMore));
    deliver('b');
    await tick();
    expect(resumed).toEqual([]);
    socket.accept = true;
    socket.emit('drain');
    // Not inside the drain's flush: in a later turn, and then it takes more.
    expect(resumed).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(resumed).toEqual([true]);
    expect(socket.bodies()).toEqual(['a', 'b']);
  });

  it('whenWritable is not called once the connection is cut off', async () => {
    const { socket, q, deliver } = setup(100);
    socket.accept = false;
    deliver('a');
    await tick();
    let resumed = false;
    q.whenWritable(() => (resumed = true));
    q.abort();
    socket.accept = true;
    socket.emit('drain');
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(false);
    expect(q.takesMore).toBe(false);
  });

  it('past max_queue_size drops the oldest QoS 0 delivery, never a response', async () => {
    const { socket, q, dropped, deliver } = setup(3);
    socket.accept = false;
    deliver('first');
    await tick(); // written; now backpressured
    deliver('a', 0);
    deliver('b', 1);
    q.sendControl(frame('resp'));
    deliver('c', 0);
    const d = deliver('d', 0);
    expect(d.ok).toBe(true);
    expect(dropped.count).toBe(1);
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
    expect(dropped.count).toBe(1);
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['x', 'q1', 'q2']);
  });

  it('does not write a delivery whose TTL ran out while it waited, QoS 0 or 1, and reports it', async () => {
    const { socket, q, expired, deliver } = setup(10);
    socket.accept = false;
    deliver('x');
    await tick();
    const short = deliver('short', 0, 0.001).msg;
    deliver('long', 0, 60);
    const short1 = deliver('short1', 1, 0.001).msg;
    deliver('plain1', 1);
    const until = Math.max(short.expiresAt, short1.expiresAt);
    while (Date.now() < until + 1) await new Promise((r) => setTimeout(r, 1));
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['x', 'long', 'plain1']);
    expect(expired).toEqual([short, short1]);
    // Nothing of the queue's own is left counted (the stand-in socket keeps its count).
    expect(q.unsentBytes).toBe(socket.writableLength);
  });

  it('holds only what waits while a backlog persists, and gives back the room a backlog took once drained', async () => {
    const { socket, q, deliver } = setup(1_000_000);
    // Each flush writes up to 1 MiB, so with 64 KiB frames a backlog always remains.
    const big = 'x'.repeat(64 * 1024);
    socket.accept = false;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 20; i++) deliver(big);
      socket.emit('drain');
      expect(q.heldEntries).toBe(q.queuedDeliveries);
    }
    expect(q.queuedDeliveries).toBeGreaterThan(0);
    for (let i = 0; i < 5000; i++) deliver('small');
    expect(q.heldSlots).toBeGreaterThanOrEqual(5000);
    socket.accept = true;
    socket.emit('drain');
    expect(q.queuedDeliveries).toBe(0);
    expect(q.heldSlots).toBeLessThanOrEqual(1024);
  });

  /** Deliver `n` QoS 0 messages without a drain: their bodies, and the most entries the queue held meanwhile. */
  const flood = (q: OutboundQueue, deliver: (body: string) => unknown, n: number): { sent: string[]; most: number } => {
    const sent: string[] = [];
    let most = 0;
    for (let i = 0; i < n; i++) {
      deliver(`m${i}`);
      sent.push(`m${i}`);
      most = Math.max(most, q.heldEntries);
    }
    return { sent, most };
  };

  it('under a steady overload holds a bounded number of entries, and writes the survivors in order on drain', async () => {
    const { socket, q, dropped, deliver } = setup(100);
    socket.accept = false;
    deliver('first');
    await tick(); // written; now backpressured, and it never drains until the end
    deliver('q1', 1);
    q.sendControl(frame('resp'));
    const { sent, most } = flood(q, deliver, 20_000);
    // 100 deliveries kept, the QoS 1 one and the response among them; the dropped ones
    // are let go in bulk, never more than about a thousand at a time.
    expect(q.queuedDeliveries).toBe(100);
    expect(dropped.count).toBe(20_000 - 99);
    expect(most).toBeLessThanOrEqual(100 + 1 + 1024 + 1);
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['first', 'q1', 'resp', ...sent.slice(-99)]);
    expect(q.heldEntries).toBe(0);
    // Every dropped delivery's bytes were taken off the count as it went (the stand-in
    // socket keeps its own count).
    expect(q.unsentBytes).toBe(socket.writableLength);
  });

  it('under a steady overload of QoS 0 deliveries alone holds no dropped entries: the oldest leaves the ring as it is dropped', async () => {
    const { socket, q, dropped, deliver } = setup(100);
    socket.accept = false;
    deliver('first');
    await tick(); // written; now backpressured, and it never drains until the end
    const { sent, most } = flood(q, deliver, 20_000);
    expect(dropped.count).toBe(20_000 - 100);
    expect(most).toBe(100);
    expect(q.heldSlots).toBeLessThanOrEqual(128);
    socket.accept = true;
    socket.emit('drain');
    expect(socket.bodies()).toEqual(['first', ...sent.slice(-100)]);
    expect(q.unsentBytes).toBe(socket.writableLength);
  });

  it('drops and writes as a plain list would, over random mixes of QoS 0, QoS 1, answers and drains', async () => {
    // The reference: what waits, oldest first; past the limit the oldest QoS 0 delivery
    // goes, or, with none waiting, the new one is refused. Answers are never dropped.
    // Every fourth run is a long overload that never drains, so that more than a thousand
    // dropped entries pile up and the queue is rebuilt without them, more than once.
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new Rng(seed);
      const overload = seed % 4 === 0;
      const max = overload ? rng.int(20, 40) : rng.int(1, 40);
      const { socket, q, dropped, deliver } = setup(max);
      const waiting: { body: string; qos: 0 | 1 | null }[] = [];
      const written: string[] = [];
      const droppedBodies: string[] = [];
      let queued = 0;
      let mostHeld = 0;
      let rebuilt = 0;
      const backpressure = (n: number): void => {
        // One delivery the socket takes while starting to refuse more: everything after it waits.
        socket.accept = false;
        deliver(`sync${n}`);
        q.flush();
        written.push(`sync${n}`);
      };
      backpressure(0);
      const ops = overload ? rng.int(5000, 7000) : rng.int(50, 600);
      for (let i = 0; i < ops; i++) {
        const op = rng.weighted([[70, 'deliver'], [overload ? 1 : 10, 'answer'], [overload ? 0 : 2, 'drain']] as const);
        if (op === 'deliver') {
          const qos = rng.chance(overload ? 0.002 : 0.3) ? 1 : 0;
          const body = `m${i}`;
          const full = queued >= max;
          const victim = full ? waiting.findIndex((w) => w.qos === 0) : -1;
          const { ok } = deliver(body, qos);
          // expect() only on a mismatch: called per operation, it was most of this test's time.
          if (full && victim < 0) {
            if (ok) expect(ok, `seed ${seed} op ${i}`).toBe(false);
            droppedBodies.push(body);
            continue;
          }
          if (!ok) expect(ok, `seed ${seed} op ${i}`).toBe(true);
          if (victim >= 0) droppedBodies.push(waiting.splice(victim, 1)[0]!.body);
          else queued++;
          waiting.push({ body, qos });
          const held = q.heldEntries;
          if (held < mostHeld) rebuilt++;
          mostHeld = held;
        } else if (op === 'answer') {
          const body = `{"answer":${i}}`;
          q.sendControl(frame(body));
          waiting.push({ body, qos: null });
        } else {
          socket.accept = true;
          socket.emit('drain');
          written.push(...waiting.splice(0).map((w) => w.body));
          queued = 0;
          if (q.heldEntries !== 0) expect(q.heldEntries).toBe(0);
          backpressure(i);
          mostHeld = 0;
        }
        if (q.queuedDeliveries !== queued) expect(q.queuedDeliveries, `seed ${seed} op ${i}`).toBe(queued);
      }
      if (overload) expect(rebuilt, `seed ${seed}`).toBeGreaterThanOrEqual(2);
      socket.accept = true;
      socket.emit('drain');
      written.push(...waiting.splice(0).map((w) => w.body));
      expect(socket.bodies(), `seed ${seed}`).toEqual(written);
      expect(dropped.count, `seed ${seed}`).toBe(droppedBodies.length);
      expect(q.unsentBytes, `seed ${seed}`).toBe(socket.writableLength);
    }
  });

  it('writes a backlog through reused chunks, never changing one before the socket is done with it', async () => {
    const { socket, q, deliver } = setup(1_000_000);
    socket.accept = false;
    deliver('first');
    await tick();
    const expected = ['first'];
    for (let round = 0; round < 6; round++) {
      // About 900 KB a round: several write chunks, handed over while the socket refuses more.
      for (let i = 0; i < 3000; i++) {
        const body = `r${round}-${i}-${'w'.repeat(280)}`;
        deliver(body);
        expected.push(body);
      }
      socket.emit('drain');
    }
    socket.accept = true;
    socket.emit('drain');
    await tick();
    for (let i = 0; i < 9000; i++) {
      const body = `late-${i}-${'v'.repeat(280)}`;
      deliver(body);
      expected.push(body);
      if (i === 4000) socket.emit('drain');
    }
    socket.emit('drain');
    await tick();
    expect(q.queuedDeliveries).toBe(0);
    expect(socket.bodies()).toEqual(expected);
    expect(socket.overwritten).toBe(0);
    // Chunks came back and were written again: fewer buffers than chunk-sized writes.
    const chunkWrites = socket.written.filter((w) => w.length > 64 * 1024);
    expect(chunkWrites.length).toBeGreaterThan(10);
    expect(new Set(chunkWrites.map((w) => w.buffer)).size).toBeLessThan(chunkWrites.length);
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

  describe('writing straight into a chunk while the socket takes everything', () => {
    /** The frame JSON.stringify gives for `msg`, for comparing bytes. */
    const plainFrame = (msg: BrokerMessage, flags: { retained?: boolean; redelivered?: boolean } = {}): Buffer =>
      encodeFrame(expectedDeliveryText(msg, flags, jsonValue(msg.payload)));
    const raw = (text: string): RawJson => {
      const bytes = Buffer.from(`xx${text}yy`);
      return new RawJson(bytes, 2, bytes.length - 2, true);
    };

    it('gives every queue the same message byte for byte, and the bytes JSON.stringify gives', async () => {
      const queues = [setup(100), setup(100), setup(100)];
      const msgs = [
        createMessage({ topic: 'fan.a', payload: raw('{"k":"日本","n":[1,2]}'), sender: 'p', qos: 1 }),
        createMessage({ topic: 'fan.b', payload: { v: 'é' }, sender: 'p' }),
        createMessage({ topic: 'fan.a', payload: raw('"😀"'), sender: 'p', replyTo: 'tok' }),
      ];
      // Each message to every queue in turn, as the router fans one out; one queue gets the
      // retained variant in between, which must not disturb the copies of the plain one.
      for (const msg of msgs) {
        queues[0]!.q.sendDelivery(msg);
        queues[1]!.q.sendDelivery(msg, { retained: true });
        queues[2]!.q.sendDelivery(msg);
        queues[1]!.q.sendDelivery(msg);
      }
      await tick();
      const bytes = queues.map(({ socket }) => Buffer.concat(socket.writes));
      const plain = Buffer.concat(msgs.map((m) => plainFrame(m)));
      expect(bytes[0]!.toString('hex')).toBe(plain.toString('hex'));
      expect(bytes[2]!.toString('hex')).toBe(plain.toString('hex'));
      expect(bytes[1]!.toString('hex')).toBe(Buffer.concat(msgs.flatMap((m) => [plainFrame(m, { retained: true }), plainFrame(m)])).toString('hex'));
      // The same as the frame a queued delivery would use.
      for (const m of msgs) expect(deliveryFrame(m).toString('hex')).toBe(plainFrame(m).toString('hex'));
    });

    it('writes more than max_queue_size deliveries of one turn, all of them, in order', async () => {
      const { socket, q, dropped, deliver } = setup(10);
      const expected: string[] = [];
      for (let i = 0; i < 250; i++) {
        expect(deliver(`m${i}`, i % 3 === 0 ? 1 : 0).ok).toBe(true);
        expected.push(`m${i}`);
      }
      await tick();
      expect(socket.bodies()).toEqual(expected);
      expect(dropped.count).toBe(0);
      expect(q.queuedDeliveries).toBe(0);
    });

    it('writes frames totalling more than one chunk complete and in order, large frames and answers included', async () => {
      const { socket, q, deliver } = setup(100_000);
      const expected: string[] = [];
      for (let i = 0; i < 400; i++) {
        // ~1 KiB deliveries, a few frames larger than a whole chunk, answers in between.
        const body = i % 97 === 5 ? `big${i}-${'B'.repeat(100 * 1024)}` : `d${i}-${'x'.repeat(1000 + (i % 13))}`;
        deliver(body);
        expected.push(body);
        if (i % 7 === 0) {
          const answer = `{"jsonrpc":"2.0","result":${i},"id":${i}}`;
          q.sendControl(frame(answer));
          expected.push(answer);
        }
      }
      await tick();
      expect(socket.bodies()).toEqual(expected);
      expect(q.queuedDeliveries).toBe(0);
      expect(q.unsentBytes).toBe(0);
    });

    it('never writes over a chunk the socket still holds, only over one it sent whole', async () => {
      for (const holds of [true, false]) {
        const { socket, deliver } = setup(100_000);
        socket.holds = holds;
        const expected: string[] = [];
        for (let i = 0; i < 300; i++) {
          const body = `d${i}-${'x'.repeat(1000 + (i % 13))}`;
          deliver(body);
          expected.push(body);
          if (i % 50 === 49) await tick(); // several turns: chunks are handed over and taken again
        }
        await tick();
        expect(socket.bodies()).toEqual(expected);
        if (holds) {
          // Everything handed to a socket that keeps it is still intact in its buffers.
          expect(socket.bodies(true)).toEqual(expected);
        } else {
          // Sent whole, a chunk is taken again: the uncopied views show the reuse (this is
          // what keeps a steady flow from allocating; a real socket copied the bytes).
          expect(Buffer.concat(socket.written).equals(Buffer.concat(socket.writes))).toBe(false);
        }
      }
    });

    it('keeps order from direct frames through backpressure, queued entries and the drain', async () => {
      const { socket, q, deliver, dropped } = setup(5);
      const expected: string[] = [];
      const send = (body: string): void => {
        deliver(body);
        expected.push(body);
      };
      const answer = (body: string): void => {
        q.sendControl(frame(body));
        expected.push(body);
      };
      for (let i = 0; i < 5; i++) send(`direct${i}`);
      answer('answer-direct');
      socket.accept = false;
      // The sixth delivery of the turn hands the chunk to the socket, which now refuses more.
      send('queued0');
      answer('answer-queued');
      send('queued1');
      await tick();
      expect(socket.bodies()).toEqual(expected.slice(0, 6));
      send('queued2');
      answer('answer-queued2');
      socket.accept = true;
      socket.emit('drain');
      expect(socket.bodies()).toEqual(expected);
      // Back to writing directly.
      send('after0');
      answer('answer-after');
      send('after1');
      await tick();
      expect(socket.bodies()).toEqual(expected);
      // No chunk changed while the socket held it (once written, a chunk may be reused or
      // given back, so the uncopied views are not compared).
      expect(socket.overwritten).toBe(0);
      expect(dropped.count).toBe(0);
    });

    it('gives back a direct chunk the socket held once the socket has written everything, not before', async () => {
      // Spare full-size chunks left by the tests before would be taken, and kept again.
      for (let i = 0; i < 16; i++) takeDirectChunk(1);
      const { socket, q, deliver } = setup(100_000);
      socket.holds = true;
      const expected: string[] = [];
      for (let turn = 0; turn < 5; turn++) {
        // About 8 KB a turn: a direct chunk grown past the 4 KiB below which none is given back.
        for (let i = 0; i < 20; i++) {
          const body = `t${turn}-${i}-${'z'.repeat(380)}`;
          deliver(body);
          expected.push(body);
        }
        await tick();
      }
      // Each turn's chunk went to a socket that keeps it unsent: all intact, none reused.
      expect(socket.written).toHaveLength(5);
      expect(socket.bodies(true)).toEqual(expected);
      expect(new Set(socket.written.map((w) => w.buffer)).size).toBe(5);
      socket.holds = false;
      socket.emit('drain');
      expect(socket.overwritten).toBe(0);
      // Written, each chunk's bytes went back at once (none was full-size, to be kept as a spare).
      for (const view of socket.written) expect(view.buffer.byteLength).toBe(0);
      expect(q.unsentBytes).toBe(0);
      // And the queue writes on as before.
      deliver('after');
      await tick();
      expect(socket.bodies()).toEqual([...expected, 'after']);
    });

    it('keeps order when a full chunk meets backpressure', async () => {
      const { socket, deliver } = setup(1000);
      const expected: string[] = [];
      socket.accept = false;
      // 1 KiB frames: the 64 KiB chunk fills after about 60, is handed over, and the rest queue.
      for (let i = 0; i < 150; i++) {
        deliver(`${i}-${'z'.repeat(1024)}`);
        expected.push(`${i}-${'z'.repeat(1024)}`);
      }
      await tick();
      const written = socket.bodies().length;
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThan(150);
      expect(socket.bodies()).toEqual(expected.slice(0, written));
      socket.accept = true;
      socket.emit('drain');
      expect(socket.bodies()).toEqual(expected);
    });

    it('end() writes the frames already in the chunk before its final frame', () => {
      const { socket, q, deliver } = setup(100);
      deliver('a');
      q.sendControl(frame('answer'));
      deliver('b');
      q.end(frame('bye'));
      expect(socket.bodies()).toEqual(['a', 'answer', 'b', 'bye']);
      expect(socket.ended).toBe(true);
    });

    it('writes nothing more after abort, even frames already in the chunk', async () => {
      const { socket, q, deliver } = setup(100);
      deliver('before-abort');
      q.sendControl(frame('answer-before-abort'));
      q.abort();
      expect(deliver('after-abort').ok).toBe(false);
      q.sendControl(frame('answer-after-abort'));
      await tick();
      socket.emit('drain');
      q.flush();
      expect(socket.writes).toEqual([]);
      expect(q.queuedDeliveries).toBe(0);
      expect(q.unsentBytes).toBe(0);
    });

    it('writes nothing to a destroyed socket: what waits is discarded', async () => {
      const { socket, q, deliver } = setup(100);
      deliver('one');
      socket.destroyed = true;
      deliver('two');
      q.sendControl(frame('answer'));
      await tick();
      expect(socket.writes).toEqual([]);
      expect(q.queuedDeliveries).toBe(0);
      expect(q.unsentBytes).toBe(0);
    });
  });
});
