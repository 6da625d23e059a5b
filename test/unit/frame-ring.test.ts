import { describe, expect, it } from 'vitest';
import { CONTROL, FrameRing, NO_FRAME, QOS0, QOS1, type EntryKind } from '../../src/broker/frame-ring.js';
import { frameStore } from '../../src/broker/frame-store.js';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface Item {
  /** The frame's text, as it was when queued. */
  text: string;
  kind: EntryKind;
  msg: BrokerMessage | null;
  /** The frame store's chunk, or -1. */
  chunk: number;
}

/** What the ring holds, oldest first. */
function contents(ring: FrameRing): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < ring.length; i++) {
    const start = ring.startAt(i);
    const text = ring.sizeAt(i) === 0 ? '' : ring.bufferAt(i).toString('latin1', start, start + ring.sizeAt(i));
    out.push({ text, kind: ring.kindAt(i), msg: ring.msgAt(i), chunk: ring.chunkAt(i) });
  }
  return out;
}

/** Entries pointing into each chunk of the shared store, counted from the ring's side. */
function chunkUse(items: Item[]): Map<number, number> {
  const use = new Map<number, number>();
  for (const item of items) if (item.chunk >= 0 && item.text !== '') use.set(item.chunk, (use.get(item.chunk) ?? 0) + 1);
  return use;
}

describe('FrameRing', () => {
  it('keeps the order, bytes and messages of a plain list through pushes, shifts, drops and compactions as it wraps and grows', () => {
    const msgs = Array.from({ length: 8 }, (_, i) => createMessage({ topic: 't', payload: i, sender: 's', qos: (i % 2) as 0 | 1 }));
    const liveBefore = frameStore.liveChunks;
    for (let seed = 1; seed <= 100; seed++) {
      const rng = new Rng(seed);
      const ring = new FrameRing();
      const model: Item[] = [];
      for (let op = 0; op < 3000; op++) {
        const r = rng.next();
        if (r < 0.55) {
          const text = `f${op}-${'x'.repeat(rng.int(0, 300))}`;
          const msg = rng.chance(0.5) ? rng.pick(msgs) : null;
          const kind = rng.pick([CONTROL, QOS0, QOS1]);
          if (rng.chance(0.6)) {
            // Into the shared store, as a queued delivery's frame is.
            const at = frameStore.reserve(text.length);
            const chunk = frameStore.currentChunk;
            frameStore.chunk(chunk).write(text, at, 'latin1');
            ring.pushStored(chunk, at, text.length, kind, msg);
            model.push({ text, kind, msg, chunk });
          } else {
            // A buffer of its own, with the frame somewhere inside it.
            const buffer = Buffer.from(`<<${text}>>`, 'latin1');
            ring.push(buffer, 2, text.length, kind, msg);
            model.push({ text, kind, msg, chunk: -1 });
          }
        } else if (r < 0.85) {
          ring.shift();
          model.shift();
        } else if (r < 0.97) {
          if (model.length === 0) continue;
          const i = rng.int(0, model.length - 1);
          ring.dropAt(i);
          model[i] = { text: '', kind: model[i]!.kind, msg: null, chunk: -1 };
          if (ring.bufferAt(i) !== NO_FRAME || ring.sizeAt(i) !== 0 || ring.msgAt(i) !== null) throw new Error(`seed ${seed}, op ${op}: entry ${i} not dropped`);
        } else {
          ring.compact();
          for (let i = model.length - 1; i >= 0; i--) if (model[i]!.text === '') model.splice(i, 1);
        }
        if (ring.length !== model.length) throw new Error(`seed ${seed}, op ${op}: ${ring.length} held, ${model.length} expected`);
      }
      const held = contents(ring);
      expect(held.map((h) => h.text), `seed ${seed}`).toEqual(model.map((m) => (m.text === '' ? '' : m.text)));
      // The same messages, not equal copies; dropped entries keep none.
      expect(held.every((item, i) => item.msg === model[i]!.msg && (item.text === '' || item.kind === model[i]!.kind)), `seed ${seed}`).toBe(true);
      expect(chunkUse(held), `seed ${seed}`).toEqual(chunkUse(model));
      ring.clear();
    }
    // Every entry let go of its chunk: only the one being filled may be in use still.
    expect(frameStore.liveChunks).toBeLessThanOrEqual(liveBefore + 1);
  });

  it('grows past its first arrays and gives the room back once emptied', () => {
    const ring = new FrameRing();
    const start = ring.capacity;
    for (let i = 0; i < 5000; i++) {
      const frame = Buffer.from(`f${i}`);
      ring.push(frame, 0, frame.length, CONTROL, null);
    }
    expect(ring.capacity).toBeGreaterThanOrEqual(5000);
    for (let i = 0; i < 4999; i++) ring.shift();
    expect(ring.bufferAt(0).toString()).toBe('f4999');
    ring.shift();
    expect(ring.length).toBe(0);
    expect(ring.capacity).toBe(start);
  });

  it('holds a backlog of plain stored deliveries in its typed arrays alone, and makes the reference arrays when an entry needs them', () => {
    const ring = new FrameRing();
    const at = frameStore.reserve(4);
    const chunk = frameStore.currentChunk;
    frameStore.chunk(chunk).write('abcd', at, 'latin1');
    for (let i = 0; i < 10_000; i++) ring.pushStored(chunk, at, 4, QOS0, null);
    expect(ring.capacity).toBeGreaterThanOrEqual(10_000);
    expect(ring.referenceArrays).toEqual({ buffers: false, msgs: false });
    expect(ring.bufferAt(9_999).toString('latin1', at, at + 4)).toBe('abcd');
    expect(ring.msgAt(9_999)).toBeNull();

    // A response: its own buffer, behind the backlog.
    ring.push(Buffer.from('resp'), 0, 4, CONTROL, null);
    expect(ring.referenceArrays).toEqual({ buffers: true, msgs: false });
    // A message with a TTL is kept with its entry.
    const msg = createMessage({ topic: 't', payload: 1, sender: 's', qos: 0, ttl: 5 });
    ring.pushStored(chunk, at, 4, QOS0, msg);
    expect(ring.referenceArrays).toEqual({ buffers: true, msgs: true });
    expect(ring.bufferAt(10_000).toString()).toBe('resp');
    expect(ring.msgAt(10_000)).toBeNull();
    expect(ring.msgAt(10_001)).toBe(msg);
    expect(ring.bufferAt(10_001)).toBe(frameStore.chunk(chunk));
    for (let i = 0; i < 10_002; i++) ring.shift();
    expect(ring.length).toBe(0);

    // Emptied, the ring goes back to small arrays, made again only when needed.
    expect(ring.referenceArrays).toEqual({ buffers: false, msgs: false });
    for (let i = 0; i < 40; i++) ring.pushStored(chunk, at, 4, QOS0, null);
    expect(ring.referenceArrays).toEqual({ buffers: false, msgs: false });
    for (let i = 0; i < 40; i++) ring.shift();
  });

  it('lets go of what it held: shifted and dropped slots keep no frame, chunk or message', () => {
    const ring = new FrameRing();
    const msg = createMessage({ topic: 't', payload: 1, sender: 's', qos: 1 });
    const at = frameStore.reserve(1);
    const chunk = frameStore.currentChunk;
    ring.push(Buffer.from('a'), 0, 1, QOS1, msg);
    ring.pushStored(chunk, at, 1, QOS1, msg);
    ring.dropAt(1);
    expect(ring.msgAt(1)).toBeNull();
    expect(ring.chunkAt(1)).toBe(-1);
    ring.shift();
    ring.shift();
    // The slots are reused from the start: whatever they show now is empty.
    for (const i of [0, 1]) {
      expect(ring.bufferAt(i)).toBe(NO_FRAME);
      expect(ring.msgAt(i)).toBeNull();
      expect(ring.chunkAt(i)).toBe(-1);
    }
  });

  it('holds a stored frame\'s chunk until the entry goes, however it goes', () => {
    const ring = new FrameRing();
    const at = frameStore.reserve(4);
    const chunk = frameStore.currentChunk;
    frameStore.chunk(chunk).write('keep', at);
    ring.pushStored(chunk, at, 4, QOS0, null);
    ring.pushStored(chunk, at, 4, QOS0, null);
    ring.pushStored(chunk, at, 4, QOS0, null);
    expect(frameStore.heldBy(chunk)).toBe(3);
    ring.dropAt(1);
    ring.compact();
    expect(frameStore.heldBy(chunk)).toBe(2);
    ring.shift();
    expect(frameStore.heldBy(chunk)).toBe(1);
    expect(ring.bufferAt(0).toString('latin1', ring.startAt(0), ring.startAt(0) + 4)).toBe('keep');
    ring.clear();
    expect(frameStore.heldBy(chunk)).toBe(0);
  });
});
