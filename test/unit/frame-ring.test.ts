import { describe, expect, it } from 'vitest';
import { FrameRing, NO_FRAME } from '../../src/broker/frame-ring.js';
import { createMessage, deliveryFrame, type BrokerMessage } from '../../src/broker/message.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface Item {
  frame: Buffer;
  msg: BrokerMessage | null;
}

/** What the ring holds, oldest first. */
function contents(ring: FrameRing): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < ring.length; i++) out.push({ frame: ring.frameAt(i), msg: ring.msgAt(i) });
  return out;
}

describe('FrameRing', () => {
  it('keeps the order of a plain list through pushes, shifts, drops and compactions as it wraps and grows', () => {
    const msgs = Array.from({ length: 8 }, (_, i) => createMessage({ topic: 't', payload: i, sender: 's' }));
    for (const msg of msgs) deliveryFrame(msg); // built: an entry may stand for it with null
    for (let seed = 1; seed <= 100; seed++) {
      const rng = new Rng(seed);
      const ring = new FrameRing();
      const model: Item[] = [];
      for (let op = 0; op < 3000; op++) {
        const r = rng.next();
        if (r < 0.55) {
          const msg = rng.chance(0.8) ? rng.pick(msgs) : null;
          if (msg !== null && rng.chance(0.5)) {
            ring.push(null, msg);
            model.push({ frame: msg.frame!, msg });
          } else {
            const frame = Buffer.from(`f${op}`);
            ring.push(frame, msg);
            model.push({ frame, msg });
          }
        } else if (r < 0.85) {
          ring.shift();
          model.shift();
        } else if (r < 0.97) {
          if (model.length === 0) continue;
          const i = rng.int(0, model.length - 1);
          ring.dropAt(i);
          model[i] = { frame: NO_FRAME, msg: null };
          if (ring.frameAt(i) !== NO_FRAME || ring.msgAt(i) !== null) throw new Error(`seed ${seed}, op ${op}: entry ${i} not dropped`);
        } else {
          ring.compact();
          for (let i = model.length - 1; i >= 0; i--) if (model[i]!.frame.length === 0) model.splice(i, 1);
        }
        if (ring.length !== model.length) throw new Error(`seed ${seed}, op ${op}: ${ring.length} held, ${model.length} expected`);
      }
      // The same objects, not equal copies.
      const held = contents(ring);
      expect(held.every((item, i) => item.frame === model[i]!.frame && item.msg === model[i]!.msg), `seed ${seed}`).toBe(true);
    }
  });

  it('grows past its first arrays and gives the room back once emptied', () => {
    const ring = new FrameRing();
    const start = ring.capacity;
    for (let i = 0; i < 5000; i++) ring.push(Buffer.from(`f${i}`), null);
    expect(ring.capacity).toBeGreaterThanOrEqual(5000);
    for (let i = 0; i < 4999; i++) ring.shift();
    expect(ring.frameAt(0).toString()).toBe('f4999');
    ring.shift();
    expect(ring.length).toBe(0);
    expect(ring.capacity).toBe(start);
  });

  it('lets go of what it held: shifted and dropped slots keep no frame or message', () => {
    const ring = new FrameRing();
    const msg = createMessage({ topic: 't', payload: 1, sender: 's' });
    ring.push(Buffer.from('a'), msg);
    ring.push(Buffer.from('b'), msg);
    ring.dropAt(1);
    expect(ring.msgAt(1)).toBeNull();
    ring.shift();
    ring.shift();
    // The slots are reused from the start: whatever they show now is empty.
    expect(ring.frameAt(0)).toBe(NO_FRAME);
    expect(ring.msgAt(0)).toBeNull();
    expect(ring.frameAt(1)).toBe(NO_FRAME);
    expect(ring.msgAt(1)).toBeNull();
  });
});
