import { describe, expect, it } from 'vitest';
import { FrameStore, MAX_STORED_FRAME } from '../../src/broker/frame-store.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface Held {
  chunk: number;
  at: number;
  text: string;
  /** References still held. */
  refs: number;
}

describe('FrameStore', () => {
  it('never reuses bytes that an entry still holds, over random reservations and releases', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = new Rng(seed);
      const store = new FrameStore();
      const held: Held[] = [];
      const buffers = new Set<Buffer>();
      let fills = 0;
      let filling = -1;
      for (let op = 0; op < 4000; op++) {
        // At most about 30 frames held at once, so that chunks empty and come back.
        if (held.length === 0 || (held.length < 30 && rng.chance(0.5))) {
          const text = `${op}:${'z'.repeat(rng.int(0, MAX_STORED_FRAME - 10))}`;
          const at = store.reserve(text.length);
          const chunk = store.currentChunk;
          if (chunk !== filling) fills++;
          filling = chunk;
          store.chunk(chunk).write(text, at, 'latin1');
          buffers.add(store.chunk(chunk));
          // Shared by up to ten queues, as a fan-out's frame is; a frame nobody queued
          // (its queues refused it) holds nothing.
          const refs = rng.int(0, 10);
          for (let k = 0; k < refs; k++) store.retain(chunk);
          if (refs > 0) held.push({ chunk, at, text, refs });
        } else {
          const i = rng.int(0, held.length - 1);
          const h = held[i]!;
          store.release(h.chunk);
          if (--h.refs === 0) held.splice(i, 1);
        }
        for (const h of held) {
          const now = store.chunk(h.chunk).toString('latin1', h.at, h.at + h.text.length);
          if (now !== h.text) throw new Error(`seed ${seed}, op ${op}: bytes held at ${h.chunk}:${h.at} were overwritten`);
        }
      }
      for (const h of held.splice(0)) for (let k = 0; k < h.refs; k++) store.release(h.chunk);
      expect(store.liveChunks, `seed ${seed}`).toBe(1);
      // Chunks were reused: far fewer buffers made than chunks filled.
      expect(buffers.size * 4, `seed ${seed}`).toBeLessThan(fills);
    }
  });

  it('reuses an emptied chunk only once it is no longer being filled', () => {
    const store = new FrameStore();
    const first = store.reserve(100);
    const chunk = store.currentChunk;
    store.retain(chunk);
    store.release(chunk);
    // Emptied, but still the one being filled: the next frame goes after the first.
    expect(store.reserve(100)).toBe(first + 100);
    expect(store.currentChunk).toBe(chunk);
    // Fill it (four frames of the largest size fill a chunk): the next chunk is a new one,
    // and this one, held by nobody, becomes spare.
    for (let i = 0; i < 4; i++) store.reserve(MAX_STORED_FRAME);
    expect(store.currentChunk).not.toBe(chunk);
    for (let i = 0; i < 4; i++) store.reserve(MAX_STORED_FRAME);
    // The second chunk filled: the first comes back.
    expect(store.currentChunk).toBe(chunk);
    expect(store.chunkCount).toBe(2);
  });

  it('keeps at most 256 spare chunks and lets go of the rest', () => {
    const store = new FrameStore();
    const chunks: number[] = [];
    // 600 chunks held at once (a backlog), then all released.
    for (let i = 0; i < 600; i++) {
      store.reserve(8 * 1024);
      store.retain(store.currentChunk);
      chunks.push(store.currentChunk);
    }
    expect(new Set(chunks).size).toBe(600);
    for (const c of chunks) store.release(c);
    expect(store.liveChunks).toBe(1);
    expect(store.chunkCount).toBe(256 + 1);
    // A chunk let go reads as empty; its number is given to the next new chunk.
    const gone = chunks.find((c) => store.chunk(c).length === 0);
    expect(gone).toBeDefined();
  });

  it('gives the bytes of chunks it let go back at the next reservation, and not before', () => {
    const store = new FrameStore();
    const held: { id: number; bytes: Buffer }[] = [];
    for (let i = 0; i < 300; i++) {
      const at = store.reserve(8 * 1024);
      const id = store.currentChunk;
      store.chunk(id).fill(i % 251, at, at + 8 * 1024);
      store.retain(id);
      held.push({ id, bytes: store.chunk(id) });
    }
    for (const { id } of held) store.release(id);
    const letGo = held.filter(({ id }, i) => store.chunk(id) !== held[i]!.bytes);
    // 300 chunks, one still being filled, 256 kept spare: the rest were let go.
    expect(letGo.length).toBe(300 - 1 - 256);
    // Until the next reservation their bytes can still be copied, as a flush does.
    for (const { bytes } of letGo) expect(bytes.length).toBe(8 * 1024);
    expect(letGo.every(({ bytes }, i) => bytes[0] === held.indexOf(letGo[i]!) % 251)).toBe(true);
    store.reserve(10);
    for (const { bytes } of letGo) expect(bytes.length).toBe(0);
    // The spare ones keep their memory, to be filled again.
    const spare = held.filter(({ id }, i) => store.chunk(id) === held[i]!.bytes);
    expect(spare.length).toBe(257);
    for (const { bytes } of spare) expect(bytes.length).toBe(8 * 1024);
  });
});
