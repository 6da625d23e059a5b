import { afterEach, describe, expect, it, vi } from 'vitest';
import { BULK_READ_BYTES, ReadTurns, TURN_READ_BYTES, type PausableSocket } from '../../src/broker/read-turns.js';

/** A socket stand-in that records pause and resume. */
class Pausable implements PausableSocket {
  paused = false;
  destroyed = false;
  resumes = 0;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReadTurns', () => {
  afterEach(() => vi.restoreAllMocks());

  it('pauses whoever reads past the turn share, and resumes them all when the turn ends', async () => {
    const turns = new ReadTurns(100);
    const a = new Pausable();
    const b = new Pausable();
    turns.read(a, 60);
    turns.read(b, 40);
    expect([a.paused, b.paused]).toEqual([false, false]); // exactly the share: nobody waits
    turns.read(a, 1);
    turns.read(b, 1);
    expect([a.paused, b.paused]).toEqual([true, true]);
    expect(turns.pausedCount).toBe(2);
    await nextTurn();
    expect([a.paused, b.paused]).toEqual([false, false]);
    expect(turns.pausedCount).toBe(0);
  });

  it('starts each turn with a full share', async () => {
    const turns = new ReadTurns(100);
    const a = new Pausable();
    turns.read(a, 90);
    await nextTurn();
    turns.read(a, 90);
    expect(a.paused).toBe(false);
    turns.read(a, 20);
    expect(a.paused).toBe(true);
    await nextTurn();
    expect(a.paused).toBe(false);
  });

  it('watches for the end of a turn only past a sixteenth of the share; what is read below it counts later', async () => {
    const immediates = vi.spyOn(globalThis, 'setImmediate');
    const turns = new ReadTurns(160);
    const a = new Pausable();
    turns.read(a, 6);
    turns.read(a, 4); // 10 bytes: exactly a sixteenth
    expect(immediates).not.toHaveBeenCalled();
    await nextTurn();
    immediates.mockClear();
    turns.read(a, 150); // 160 with the 10 read before: at the share, not past it
    expect(a.paused).toBe(false);
    expect(immediates).toHaveBeenCalledTimes(1);
    turns.read(a, 1);
    expect(a.paused).toBe(true);
    await nextTurn();
    expect(a.paused).toBe(false);
    turns.read(a, 160); // the count started again
    expect(a.paused).toBe(false);
  });

  it('reports the first bulk read once: not reads below the size, however many add up', async () => {
    let bulk = 0;
    const turns = new ReadTurns(TURN_READ_BYTES, () => bulk++);
    const socket = new Pausable();
    // A desktop client's pace: many small reads, more than a bulk read's bytes in all.
    for (let i = 0; i < 200; i++) turns.read(socket, BULK_READ_BYTES / 64);
    await nextTurn();
    expect(bulk).toBe(0);
    turns.read(socket, BULK_READ_BYTES - 1);
    expect(bulk).toBe(0);
    turns.read(socket, BULK_READ_BYTES);
    expect(bulk).toBe(1);
    turns.read(socket, 64 * 1024);
    await nextTurn();
    turns.read(socket, 64 * 1024);
    expect(bulk).toBe(1);
  });

  it('does not resume a socket destroyed while it waited', async () => {
    const turns = new ReadTurns(10);
    const a = new Pausable();
    turns.read(a, 50);
    a.destroyed = true;
    await nextTurn();
    expect(a.resumes).toBe(0);
    expect(turns.pausedCount).toBe(0);
  });
});
