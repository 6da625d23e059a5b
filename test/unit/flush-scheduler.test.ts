import { describe, expect, it } from 'vitest';
import { FlushScheduler, type Flushable } from '../../src/broker/flush-scheduler.js';

/** A flushable that records its flushes in a shared log. */
class Target implements Flushable {
  flushPending = false;
  constructor(
    private readonly name: string,
    private readonly log: string[],
    private readonly onFlush: () => void = () => undefined,
  ) {}
  flush(): void {
    this.log.push(this.name);
    this.onFlush();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('FlushScheduler', () => {
  it('flushes each target marked in a turn once, at the end of the turn', async () => {
    const log: string[] = [];
    const scheduler = new FlushScheduler();
    const a = new Target('a', log);
    const b = new Target('b', log);
    scheduler.mark(a);
    scheduler.mark(b);
    scheduler.mark(a);
    expect(log).toEqual([]);
    await tick();
    expect(log).toEqual(['a', 'b']);
    scheduler.mark(a);
    await tick();
    expect(log).toEqual(['a', 'b', 'a']);
  });

  it('flushes what a read marked when the read is released, before the turn ends', () => {
    const log: string[] = [];
    const scheduler = new FlushScheduler();
    const a = new Target('a', log);
    scheduler.hold();
    scheduler.mark(a);
    scheduler.hold(); // a nested read (not one the broker makes, but allowed)
    scheduler.mark(new Target('b', log));
    scheduler.release();
    expect(log).toEqual([]);
    scheduler.release();
    expect(log).toEqual(['a', 'b']);
  });

  it('flushes a target marked during a flush, once, after the batch', async () => {
    const log: string[] = [];
    const scheduler = new FlushScheduler();
    const b = new Target('b', log);
    const a = new Target('a', log, () => scheduler.mark(b));
    scheduler.hold();
    scheduler.mark(a);
    scheduler.release();
    expect(log).toEqual(['a']);
    await tick();
    expect(log).toEqual(['a', 'b']);
  });

  it('lets a failing flush throw, and flushes the rest of its batch in the next turn', async () => {
    const log: string[] = [];
    const scheduler = new FlushScheduler();
    const broken = new Target('broken', log, () => {
      throw new Error('socket gone');
    });
    scheduler.hold();
    scheduler.mark(broken);
    scheduler.mark(new Target('b', log));
    scheduler.mark(new Target('c', log));
    expect(() => scheduler.release()).toThrow('socket gone');
    expect(log).toEqual(['broken']);
    await tick();
    expect(log).toEqual(['broken', 'b', 'c']);
    expect(broken.flushPending).toBe(false); // it can be marked again
  });
});
