import { describe, expect, it } from 'vitest';
import { compareNames } from '../../src/protocol/name-order.js';

describe('compareNames', () => {
  it('orders names case-insensitively, a name and its other case next to each other, upper case first', () => {
    const names = ['saw', 'CAD', 'bridge.tail.q', 'cad', 'Saw-2', 'alpha', 'cad_hotkeys', 'cad.hotkeys', 'B'];
    expect([...names].sort(compareNames)).toEqual(['alpha', 'B', 'bridge.tail.q', 'CAD', 'cad', 'cad.hotkeys', 'cad_hotkeys', 'saw', 'Saw-2']);
  });

  it('is a total order that ignores the machine locale: antisymmetric, and 0 only for equal names', () => {
    const names = ['a', 'A', 'ä', 'Ä', 'z', 'Z', 'é', 'E', 'e', 'Ж', 'ж', '10', '9', '', 'a b'];
    for (const x of names) {
      for (const y of names) {
        expect(Math.sign(compareNames(x, y)) + Math.sign(compareNames(y, x)), `${x} / ${y}`).toBe(0);
        expect(compareNames(x, y) === 0, `${x} / ${y}`).toBe(x === y);
      }
    }
    // By code unit once lower-cased, not by a locale's collation: digits as text, accents after z.
    expect(['ä', 'z', '9', '10'].sort(compareNames)).toEqual(['10', '9', 'z', 'ä']);
  });
});
