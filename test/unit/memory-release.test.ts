import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryReleaser } from '../../src/broker/memory-release.js';
import { runtimeFullCollection } from '../../src/runtime/full-collection.js';
import { silentLogger } from '../../src/log/logger.js';

const MiB = 1024 * 1024;

describe('MemoryReleaser', () => {
  let collections: number[];
  let releaser: MemoryReleaser;
  beforeEach(() => {
    vi.useFakeTimers();
    collections = [];
    releaser = new MemoryReleaser(silentLogger(), () => () => collections.push(Date.now()));
  });
  afterEach(() => {
    releaser.stop();
    vi.useRealTimers();
  });

  it('does nothing for small discards, collects once after megabytes were dropped', () => {
    releaser.discarded(1 * MiB);
    releaser.discarded(2 * MiB);
    vi.runAllTimers();
    expect(collections).toHaveLength(0);
    releaser.discarded(2 * MiB);
    releaser.discarded(10 * MiB);
    expect(collections).toHaveLength(0); // never inside the caller's own call
    vi.runAllTimers();
    expect(collections).toHaveLength(1);
  });

  it('keeps collections at least 5 s apart however often output is dropped', () => {
    const start = Date.now();
    for (let i = 0; i < 20; i++) {
      releaser.discarded(8 * MiB);
      vi.advanceTimersByTime(500);
    }
    vi.runAllTimers();
    const gaps = collections.slice(1).map((t, i) => t - collections[i]!);
    expect(collections[0]).toBe(start);
    expect(gaps.every((g) => g >= 5000)).toBe(true);
    expect(collections.length).toBeLessThanOrEqual(3);
  });

  it('survives a runtime without a collection to call', () => {
    const none = new MemoryReleaser(silentLogger(), () => null);
    none.discarded(100 * MiB);
    expect(() => vi.runAllTimers()).not.toThrow();
    none.stop();
  });
});

describe('runtimeFullCollection', () => {
  it('finds V8\'s collector on this runtime and it runs', () => {
    const gc = runtimeFullCollection();
    expect(gc).toBeTypeOf('function');
    gc!();
  });
});
