import { describe, expect, it } from 'vitest';
import { fitLine } from '../../bridge/supervisor/fit-line.js';

const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s), 'utf8');

describe('fitLine', () => {
  it('keeps a line whose JSON fits, and cuts one that does not to the longest start that fits', () => {
    expect(fitLine('hello', 7)).toEqual({ text: 'hello', cut: false });
    expect(fitLine('hello!', 7)).toEqual({ text: 'hello', cut: true });
    // A control character takes six bytes as JSON, "é" two.
    const cut = fitLine('\u0001\u0001\u0001', 2 + 12);
    expect(cut).toEqual({ text: '\u0001\u0001', cut: true });
    for (const text of ['a\u0001é"\\日😀'.repeat(50), '\u0000'.repeat(100), 'x'.repeat(1000)]) {
      for (const budget of [2, 3, 7, 50, 333, 1000]) {
        const f = fitLine(text, budget);
        expect(jsonBytes(f.text), `${budget}`).toBeLessThanOrEqual(budget);
        expect(text.startsWith(f.text)).toBe(true);
        // The longest: one more unit (or surrogate pair) would not fit.
        if (f.cut) expect(jsonBytes(text.slice(0, f.text.length + (/[\ud800-\udbff]/.test(text[f.text.length]!) ? 2 : 1)))).toBeGreaterThan(budget);
      }
    }
  });

  it('never cuts between the two halves of a surrogate pair', () => {
    const f = fitLine('😀😀', 2 + 6);
    expect(f).toEqual({ text: '😀', cut: true });
    expect(fitLine('a😀', 2 + 3)).toEqual({ text: 'a', cut: true });
  });
});
