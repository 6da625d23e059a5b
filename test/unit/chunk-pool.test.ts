import { describe, expect, it } from 'vitest';
import { giveBackWriteChunk, takeWriteChunk, WRITE_CHUNK_BYTES } from '../../src/broker/chunk-pool.js';

describe('write chunks', () => {
  it('keeps eight spare chunks to reuse and gives the memory of the rest back at once', () => {
    const chunks = Array.from({ length: 12 }, () => takeWriteChunk());
    expect(new Set(chunks).size).toBe(12);
    chunks.forEach((chunk, i) => chunk.fill(i));
    for (const chunk of chunks) giveBackWriteChunk(chunk);
    // The first eight are spares, as they were; the last four were released.
    for (const [i, chunk] of chunks.entries()) expect(chunk.length, `chunk ${i}`).toBe(i < 8 ? WRITE_CHUNK_BYTES : 0);
    const again = Array.from({ length: 8 }, () => takeWriteChunk());
    expect(new Set(again)).toEqual(new Set(chunks.slice(0, 8)));
    // Past the spares, a new one.
    const fresh = takeWriteChunk();
    expect(chunks).not.toContain(fresh);
    expect(fresh.length).toBe(WRITE_CHUNK_BYTES);
  });
});
