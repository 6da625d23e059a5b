import { describe, expect, it } from 'vitest';
import { PromotedGarbageCollector } from '../../bridge/old-generation.js';

const MB = 1024 * 1024;

/** A collector over a scripted old space: `used` is read by the collector, `gc` frees down to `live`. */
function scripted(start: number, options: { live?: number; gcAvailable?: boolean } = {}) {
  const space = { used: start, live: options.live ?? start, runs: 0 };
  const gc = (): void => {
    space.runs += 1;
    space.used = space.live;
  };
  const collector = new PromotedGarbageCollector(
    () => (options.gcAvailable === false ? null : gc),
    () => space.used,
    MB,
  );
  return { space, collector };
}

describe('PromotedGarbageCollector', () => {
  it('collects once the old space has grown by the step, and measures from what is left', () => {
    const { space, collector } = scripted(5 * MB);
    space.used = 6 * MB - 1;
    expect(collector.afterBatch()).toBeNull();
    space.used = 6 * MB;
    space.live = 5.2 * MB;
    expect(collector.afterBatch()).toEqual({ before: 6 * MB, after: 5.2 * MB });
    expect(space.runs).toBe(1);
    // The next step counts from the 5.2 MB left, not from the 5 MB of the start.
    space.used = 6.1 * MB;
    expect(collector.afterBatch()).toBeNull();
    space.used = 6.2 * MB;
    expect(collector.afterBatch()).not.toBeNull();
    expect(collector.count).toBe(2);
  });

  it('measures growth from the lowest reading, so V8 shrinking the space on its own counts', () => {
    const { space, collector } = scripted(8 * MB, { live: 4 * MB });
    space.used = 4 * MB; // a collection of V8's own
    expect(collector.afterBatch()).toBeNull();
    space.used = 5 * MB;
    expect(collector.afterBatch()).toEqual({ before: 5 * MB, after: 4 * MB });
  });

  it('does nothing where the runtime offers no full collection', () => {
    const { space, collector } = scripted(5 * MB, { gcAvailable: false });
    space.used = 9 * MB;
    expect(collector.afterBatch()).toBeNull();
    expect(collector.count).toBe(0);
    expect(space.runs).toBe(0);
  });
});
