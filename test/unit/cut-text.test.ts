import { describe, expect, it } from 'vitest';
import { cutMarked, cutToBytes } from '../../bridge/supervisor/cut-text.js';

describe('cutToBytes', () => {
  it('keeps what fits, counted in UTF-8, never half a character', () => {
    expect(cutToBytes('short', 5)).toBe('short');
    expect(cutToBytes('ab€cd', 5)).toBe('ab€');
    expect(cutToBytes('abcd€', 5)).toBe('abcd');
    expect(cutToBytes('a😀', 4)).toBe('a');
  });
});

describe('cutMarked', () => {
  it('leaves a line that fits as it is, and marks a cut one with the bytes left out', () => {
    expect(cutMarked('x'.repeat(10), 10)).toBe('x'.repeat(10));
    expect(cutMarked('x'.repeat(11), 10)).toBe(`${'x'.repeat(10)} [... 1 bytes left out]`);
    // € is 3 bytes: 4 of them are 12, of which 2 whole ones fit in 7.
    expect(cutMarked('€€€€', 7)).toBe('€€ [... 6 bytes left out]');
  });
});
