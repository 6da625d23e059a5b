import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/protocol/errors.js';
import { refuseInvalidPatterns } from '../../src/broker/handlers/subscribe.js';

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
});
