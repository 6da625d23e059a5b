/**
 * Decimal digits written into bytes (src/protocol/decimal.ts), against `String(n)`: every
 * integer around each power of ten, and a seeded spread up to 2^53 - 1.
 */
import { describe, expect, it } from 'vitest';
import { decimalLength, isDecimalInteger, writeDecimal } from '../../src/protocol/decimal.js';

function written(n: number): string {
  const target = Buffer.alloc(40, 0x2e); // '.' around what is written
  const end = writeDecimal(target, 3, n);
  expect(end - 3, `${n}`).toBe(decimalLength(n));
  expect(target.subarray(0, 3).toString('latin1')).toBe('...');
  expect(target.subarray(end).toString('latin1')).toBe('.'.repeat(40 - end));
  return target.subarray(3, end).toString('latin1');
}

describe('writeDecimal', () => {
  it('writes every integer around each power of ten as String does', () => {
    const around = [0, 1, 2, 9];
    for (let p = 1; p <= 1e15; p *= 10) around.push(p - 1, p, p + 1);
    around.push(2 ** 53 - 2, 2 ** 53 - 1);
    for (const n of around) expect(written(n)).toBe(String(n));
  });

  it('writes 20,000 seeded integers up to 2^53 - 1 as String does', () => {
    let seed = 42;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(next() * 2 ** Math.floor(next() * 54)) % 2 ** 53;
      expect(written(n)).toBe(String(n));
    }
  });

  it('takes only what it writes as JSON.stringify would: non-negative safe integers', () => {
    for (const n of [0, -0, 1, 2 ** 53 - 1]) expect(isDecimalInteger(n)).toBe(true);
    for (const n of [-1, 1.5, 2 ** 53, 1e21, Number.NaN, Infinity, '1', null, 1n]) expect(isDecimalInteger(n)).toBe(false);
    expect(written(-0)).toBe(JSON.stringify(-0));
  });
});
