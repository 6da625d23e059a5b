import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Connection } from '../../src/broker/connection.js';
import { RequestTracker } from '../../src/broker/request-tracker.js';
import { ErrorCode } from '../../src/protocol/errors.js';

// The tracker only compares requesters by identity.
const requester = {} as Connection;

/** Settles to what the request's promise settled with, or 'pending'. */
function observe(result: Promise<unknown>): () => unknown {
  let state: unknown = 'pending';
  result.then(
    (v) => (state = { value: v }),
    (e: unknown) => (state = { error: e }),
  );
  return () => state;
}

describe('RequestTracker timeouts (the broker answers -32002 itself, not only the client)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fails a request with -32002 exactly when its timeout runs out, not before', async () => {
    const tracker = new RequestTracker();
    const { result } = tracker.open(requester, 'svc.slow', 300);
    const state = observe(result);
    await vi.advanceTimersByTimeAsync(299);
    expect(state()).toBe('pending');
    expect(tracker.size).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(state()).toMatchObject({ error: { code: ErrorCode.TIMEOUT, data: { topic: 'svc.slow', timeout: 0.3 } } });
    expect(tracker.size).toBe(0);
  });

  it('the timeout error carries how many subscribers the request was delivered to', async () => {
    const tracker = new RequestTracker();
    const { token, result } = tracker.open(requester, 'svc.slow', 100);
    const state = observe(result);
    tracker.noteDelivered(token, 3);
    await vi.advanceTimersByTimeAsync(100);
    expect(state()).toMatchObject({ error: { code: ErrorCode.TIMEOUT, data: { topic: 'svc.slow', timeout: 0.1, delivered: 3 } } });
  });

  it('a reply before the timeout wins, and the timer is gone with it', async () => {
    const tracker = new RequestTracker();
    const { token, result } = tracker.open(requester, 'svc.fast', 5000);
    const state = observe(result);
    expect(tracker.reply(token, { ok: 1 }, undefined)).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(state()).toEqual({ value: { ok: 1 } });
    expect(vi.getTimerCount()).toBe(0);
  });
});
