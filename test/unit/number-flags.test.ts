import { describe, expect, it } from 'vitest';
import { CliError } from '../../bridge/cli-error.js';
import { secondsFlag, wholeNumberFlag } from '../../bridge/number-flags.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return (err as Error).message;
  }
  throw new Error('expected a CliError');
}

describe('secondsFlag', () => {
  it('reads digits with an optional fraction, surrounding blanks allowed', () => {
    expect(['2', '0.5', '.5', '3.', ' 10 ', '2147483'].map((v) => secondsFlag(v, '--t'))).toEqual([2, 0.5, 0.5, 3, 10, 2147483]);
    expect(secondsFlag('0', '--ttl', { zero: true, max: Infinity })).toBe(0);
    expect(secondsFlag('1000000000000', '--ttl', { zero: true, max: Infinity })).toBe(1e12);
  });

  it.each(['', ' ', '0', '-1', '1e3', '0x10', 'Infinity', 'NaN', '1,5', '2s', '+2', '2147484'])('refuses %j, naming the flag and the range', (v) => {
    expect(refusal(() => secondsFlag(v, '--stop-grace'))).toBe(`invalid --stop-grace "${v}": use seconds, more than 0 and at most 2147483`);
  });

  it('says 0 or more where 0 is allowed, and no bound where there is none', () => {
    expect(refusal(() => secondsFlag('', '--ttl', { zero: true, max: Infinity }))).toBe('invalid --ttl "": use seconds, 0 or more');
    expect(refusal(() => secondsFlag('301', '--timeout', { max: 300 }))).toBe('invalid --timeout "301": use seconds, more than 0 and at most 300');
  });
});

describe('wholeNumberFlag', () => {
  it('reads decimal digits within the range', () => {
    expect(wholeNumberFlag('5', '-n')).toBe(5);
    expect(wholeNumberFlag(' 12 ', '-n')).toBe(12);
    expect(wholeNumberFlag('9007199254740991', '-n')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each(['', '0', '1.5', '1e3', '0x10', '-2', '9007199254740992', 'Infinity'])('refuses %j', (v) => {
    expect(refusal(() => wholeNumberFlag(v, '--count'))).toBe(`invalid --count "${v}": use a positive whole number`);
  });

  it('names a range other than the positive numbers', () => {
    expect(refusal(() => wholeNumberFlag('0', '--events', 1, 100))).toBe('invalid --events "0": use a whole number from 1 to 100');
  });
});
