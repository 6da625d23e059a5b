import { describe, expect, it } from 'vitest';
import { runtimeFullCollection } from '../../src/runtime/full-collection.js';
import { releaseBuffer } from '../../src/runtime/release-buffer.js';

/** V8's `gc()` with its options (`{ type: 'minor' }` for a scavenge alone). */
type Collect = (options?: { type: 'minor' | 'major' }) => void;

/** The runtime's own `gc()` (full-collection.ts), which also takes V8's options. */
function collector(): Collect {
  const gc = runtimeFullCollection();
  if (gc === null) throw new Error('this runtime offers no gc()');
  return gc as Collect;
}

describe('releaseBuffer', () => {
  it('empties a buffer that is the whole of its own memory, and every view of that memory', () => {
    const buf = Buffer.allocUnsafeSlow(64 * 1024).fill(7);
    const view = buf.subarray(100, 200);
    expect(releaseBuffer(buf)).toBe(true);
    expect(buf.length).toBe(0);
    expect(view.length).toBe(0);
    expect(buf.buffer.byteLength).toBe(0);
  });

  it('leaves slices of Node\'s pool, parts of larger buffers and small buffers as they are', () => {
    const pooled = Buffer.from('a pooled slice');
    const neighbour = Buffer.from('its neighbour in the pool');
    expect(pooled.buffer).toBe(neighbour.buffer);
    expect(releaseBuffer(pooled)).toBe(false);
    expect(pooled.toString()).toBe('a pooled slice');
    expect(neighbour.toString()).toBe('its neighbour in the pool');

    const large = Buffer.allocUnsafeSlow(64 * 1024).fill(1);
    const part = large.subarray(0, 32 * 1024);
    expect(releaseBuffer(part)).toBe(false);
    expect(large.length).toBe(64 * 1024);
    expect(part[0]).toBe(1);

    const small = Buffer.allocUnsafeSlow(1024).fill(2);
    expect(releaseBuffer(small)).toBe(false);
    expect(small.length).toBe(1024);
  });

  it('lets a scavenge free promoted buffers that a major collection alone would free otherwise', () => {
    const gc = collector();
    const count = 200;
    const bytes = 64 * 1024;
    let bufs: Buffer[] = Array.from({ length: count }, () => Buffer.allocUnsafeSlow(bytes));
    // Survivors of two collections are in the old generation, as a socket's reads and
    // write chunks that lived a while are.
    gc();
    gc();
    const before = process.memoryUsage().arrayBuffers;
    for (const buf of bufs.slice(0, count / 2)) expect(releaseBuffer(buf)).toBe(true);
    bufs = [];
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    const afterScavenges = process.memoryUsage().arrayBuffers;
    // The released half is gone; the other half, as dead, waits for a major collection.
    const freed = before - afterScavenges;
    expect(freed).toBeGreaterThanOrEqual((count / 2) * bytes * 0.95);
    expect(freed).toBeLessThan((count / 2) * bytes * 1.5);
  });
});
