/**
 * Non-negative integers written as decimal digits straight into bytes. Frames carry
 * counts and ids (a batch's 500 answers each have both); making each a string first,
 * measuring it and handing it to `Buffer#write` cost more than the rest of the answer.
 */

const DIGIT_ZERO = 0x30;

/** True for what {@link writeDecimal} writes as `JSON.stringify` would: 0 to 2^53 - 1. */
export const isDecimalInteger = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Digits of `n`, a {@link isDecimalInteger} number. */
export function decimalLength(n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  return digits;
}

/** Write `n` (a {@link isDecimalInteger} number) at `at`; returns the offset past it. */
export function writeDecimal(target: Uint8Array, at: number, n: number): number {
  const end = at + decimalLength(n);
  let x = n;
  for (let i = end - 1; i >= at; i--) {
    const rest = Math.floor(x / 10);
    target[i] = DIGIT_ZERO + (x - rest * 10);
    x = rest;
  }
  return end;
}
