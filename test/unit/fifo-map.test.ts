/**
 * FifoMap against a plain Map as the model: the same contents in the same order after
 * any mix of set, delete, shift and clear, including keys deleted and set again.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { FifoMap } from '../../src/broker/fifo-map.js';
import { shiftModel } from '../helpers/map-model.js';

describe('FifoMap', () => {
  it('shift takes the oldest live entry; deleted ones are skipped', () => {
    const m = new FifoMap<string, number>();
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) m.set(k, i);
    expect(m.delete('a')).toBe(true);
    expect(m.delete('c')).toBe(true);
    expect(m.delete('zz')).toBe(false);
    expect(m.shift()).toBe(1);
    expect([...m.keys()]).toEqual(['d']);
    expect(m.shift()).toBe(3);
    expect(m.shift()).toBeUndefined();
    expect(m.size).toBe(0);
  });

  it('a replaced key keeps its place; a key deleted and set again goes to the end, as in a Map', () => {
    const m = new FifoMap<string, number>();
    m.set('a', 1).set('b', 2).set('c', 3);
    m.set('a', 10);
    expect([...m.keys()]).toEqual(['a', 'b', 'c']);
    m.delete('b');
    m.set('b', 20);
    expect([...m.keys()]).toEqual(['a', 'c', 'b']);
    expect([...m.values()]).toEqual([10, 3, 20]);
    expect(m.shift()).toBe(10);
    expect(m.shift()).toBe(3);
    expect(m.shift()).toBe(20);
  });

  it('matches a Map through 50,000 random operations', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const m = new FifoMap<string, number>();
    const model = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const op = rand(100);
      const key = `k${rand(300)}`;
      if (op < 45) {
        m.set(key, i);
        model.set(key, i);
      } else if (op < 75) {
        expect(m.delete(key)).toBe(model.delete(key));
      } else if (op < 99) {
        expect(m.shift()).toBe(shiftModel(model));
      } else {
        m.clear();
        model.clear();
      }
      expect(m.size).toBe(model.size);
      if (i % 997 === 0) expect([...m.keys()]).toEqual([...model.keys()]);
    }
    expect([...m.values()]).toEqual([...model.values()]);
    for (const [k, v] of model) expect(m.get(k)).toBe(v);
  });

  it('a bounded record (set, then shift past the bound) keeps the newest entries', () => {
    const m = new FifoMap<number, number>();
    for (let i = 0; i < 100_000; i++) {
      m.set(i, i);
      if (m.size > 1000) m.shift();
      // Acked in the middle now and then, like in-flight QoS 1 messages.
      if (i % 7 === 0) m.delete(i - 500);
    }
    expect(m.size).toBe(1000);
    const keys = [...m.keys()];
    expect(keys[keys.length - 1]).toBe(99_999);
    expect(keys.every((k, j) => j === 0 || k > keys[j - 1]!)).toBe(true);
  });
  it('lets go of a deleted value at once, though its entry may wait in the queue behind a live one', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const m = new FifoMap<string, object>();
    m.set('oldest', {}); // stays: the dead entries behind it cannot leave the queue yet
    // Made in a function of its own: a suspended async function keeps its locals.
    const refs = ((): WeakRef<object>[] => {
      const made: WeakRef<object>[] = [];
      for (let i = 0; i < 10; i++) {
        const payload = { bytes: new Uint8Array(64 * 1024) };
        made.push(new WeakRef(payload));
        m.set(`acked-${i}`, payload);
      }
      for (let i = 0; i < 10; i++) m.delete(`acked-${i}`);
      return made;
    })();
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(m.size).toBe(1);
  });
});
