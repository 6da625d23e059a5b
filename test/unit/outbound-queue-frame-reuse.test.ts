import { describe, expect, it } from 'vitest';
import { frameStore } from '../../src/broker/frame-store.js';
import { backpressured, drain, drainThenRefuse } from '../helpers/outbound-queue-bed.js';

// Alone in its file, so that the frame store starts empty (test files do not share
// modules): an emptied chunk then goes to the spares and is reused, where a store already
// holding its 256 spares would let the chunk go instead and hide the overwrite.

describe('OutboundQueue, a frame store chunk reused', () => {
  it('never hands a socket its frame inside a shared chunk, which is reused once released', () => {
    const a = backpressured(100);
    const b = backpressured();
    a.deliver('only-frame');
    // A's socket takes the frame but keeps it unsent, as a real one does when the kernel
    // takes part of a write; the queue is now empty and lets go of the frame's chunk.
    a.socket.holds = true;
    a.socket.accept = true;
    a.socket.emit('drain');
    expect(a.q.queuedDeliveries).toBe(0);
    // Another subscriber's frames fill that chunk and more; once it has read them, the
    // store reuses every spare chunk, that one among them, before it makes a new one.
    for (let round = 0; round < 2; round++) {
      const chunks = frameStore.chunkCount;
      for (let i = 0; i < 100_000 && frameStore.chunkCount === chunks; i++) b.deliver(`${round}-${i}-${'b'.repeat(300)}`);
      expect(frameStore.chunkCount).toBeGreaterThan(chunks);
      drainThenRefuse(b);
    }
    a.socket.holds = false;
    a.socket.emit('drain');
    expect(a.socket.overwritten).toBe(0);
    expect(a.socket.bodies(true)).toEqual(['sync', 'only-frame']);
  });

  it('reports an expiry after copying the frames before it: a hook that queues more cannot refill their chunk', async () => {
    const other = backpressured();
    const bed = backpressured(100_000, () => {
      // Another subscriber's frames: their reservations take the spare chunks first, the
      // one released last (the victims', emptied by this flush) before all others.
      for (let i = 0; i < 60; i++) other.deliver(`${i}-${'o'.repeat(300)}`);
    });
    const victims = Array.from({ length: 5 }, (_, i) => `victim-${i}-${'v'.repeat(50)}`);
    for (const body of victims) bed.deliver(body);
    const short = bed.deliver('short', 0, 0.001).msg;
    // Move the store past the victims' chunk, so that nothing but their entries holds it.
    const filler = backpressured();
    for (let i = 0; i < 40; i++) filler.deliver('f'.repeat(300));
    filler.q.abort();
    while (Date.now() < short.expiresAt + 1) await new Promise((r) => setTimeout(r, 1));
    drain(bed);
    expect(bed.expired).toEqual([short]);
    expect(bed.socket.bodies()).toEqual(['sync', ...victims]);
  });
});
