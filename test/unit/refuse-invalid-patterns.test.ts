import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/protocol/errors.js';
import { MAX_PATTERN_REASONS, refuseInvalidPatterns } from '../../src/broker/handlers/subscribe.js';
import { NAMES_LISTED as PATTERNS_NAMED } from '../../src/protocol/excerpt.js';

/** The error refuseInvalidPatterns throws for `patterns`. */
function refusal(patterns: string[]): RpcError {
  try {
    refuseInvalidPatterns(patterns);
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  throw new Error('not refused');
}

interface PatternRefusal {
  invalid: string[];
  reasons: { pattern: string; reason: string }[];
}

describe('refuseInvalidPatterns', () => {
  it('lists every pattern that is not valid, with its reason', () => {
    let err: unknown;
    try {
      refuseInvalidPatterns(['ok.x', 'a..b', '#.x']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe(-32003);
    expect((err as RpcError).data).toMatchObject({ invalid: ['a..b', '#.x'] });
  });

  it('lets through one the session holds: a pattern an older version took can still be dropped', () => {
    expect(() => refuseInvalidPatterns(['a..b', 'ok.x'], new Set(['a..b']))).not.toThrow();
    expect(() => refuseInvalidPatterns(['a..b', 'c..d'], new Set(['a..b']))).toThrow(/"c\.\.d"/);
  });

  it('shows a long pattern shortened in the message and the reasons, and lists it whole in data.invalid', () => {
    const long = `${'a'.repeat(60_000)}+.b`;
    const err = refusal(['ok', long]);
    expect(err.message).toBe(`Invalid pattern: "${'a'.repeat(100)}..." (60003 characters) (level "${'a'.repeat(100)}..." (60001 characters) mixes a wildcard with other characters)`);
    const data = err.data as PatternRefusal;
    expect(data.invalid).toEqual([long]);
    expect(data.reasons).toEqual([{ pattern: `${'a'.repeat(100)}...`, reason: `level "${'a'.repeat(100)}..." (60001 characters) mixes a wildcard with other characters` }]);
    expect(JSON.stringify({ message: err.message, data }).length).toBeLessThan(long.length + 1000);
  });

  it('names the first few in the message and counts the rest; reasons for the first hundred, in order', () => {
    const patterns = Array.from({ length: 1000 }, (_, i) => `p${i}..x`);
    const err = refusal(patterns);
    const named = patterns.slice(0, PATTERNS_NAMED).map((p) => `"${p}" (pattern has an empty level)`);
    expect(err.message).toBe(`Invalid pattern: ${named.join(', ')}, and ${1000 - PATTERNS_NAMED} more`);
    const data = err.data as PatternRefusal;
    expect(data.invalid).toEqual(patterns);
    expect(data.reasons).toHaveLength(MAX_PATTERN_REASONS);
    expect(data.reasons[MAX_PATTERN_REASONS - 1]).toEqual({ pattern: `p${MAX_PATTERN_REASONS - 1}..x`, reason: 'pattern has an empty level' });
  });

  it('escapes a control character in the message rather than repeating it; the reasons keep the pattern as sent', () => {
    const err = refusal(['a\u0007b']);
    expect(err.message).toBe('Invalid pattern: "a\\u0007b" (pattern contains a control character)');
    expect((err.data as PatternRefusal).reasons).toEqual([{ pattern: 'a\u0007b', reason: 'pattern contains a control character' }]);
  });
});
