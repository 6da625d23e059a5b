/**
 * Calls awaiting their response: id to promise, each with its own timeout.
 */
import type { Clock } from '../protocol/clock.js';
import { ErrorCode, RpcError, type RpcErrorObject } from '../protocol/errors.js';
import { PendingReplies } from '../protocol/pending-replies.js';

/** A registered call: the id to put on the wire and the promise of its result. */
export interface PendingCall {
  id: number;
  promise: Promise<unknown>;
}

/**
 * Tracks outstanding requests. Ids are per-client increasing integers and are never
 * reused, so a late reply to a call that already timed out cannot settle a newer one.
 */
export class PendingCalls {
  private readonly replies: PendingReplies<number, string>;
  private nextId = 1;

  constructor(clock?: Clock) {
    this.replies = new PendingReplies<number, string>({
      clock,
      timeoutError: (method, ms) => new RpcError(ErrorCode.TIMEOUT, `no reply to "${method}" within ${+(ms / 1000).toFixed(3)}s`, { method }),
    });
  }

  /** Calls still waiting. */
  get size(): number {
    return this.replies.size;
  }

  /**
   * Register a call.
   * @param method for error messages only
   * @param timeoutMs reject with TIMEOUT (-32002) after this long; 0 waits forever
   */
  create(method: string, timeoutMs: number): PendingCall {
    const id = this.nextId++;
    return { id, promise: this.replies.open(id, method, timeoutMs) };
  }

  /**
   * Settle the call `id` with a response. Returns false when no call is waiting for it
   * (it timed out, or the id is not ours).
   */
  settle(id: unknown, response: { result?: unknown; error?: RpcErrorObject }): boolean {
    if (typeof id !== 'number') return false;
    if (response.error === undefined) return this.replies.resolve(id, response.result);
    const e = response.error;
    const code = typeof e.code === 'number' ? e.code : ErrorCode.INTERNAL_ERROR;
    const message = typeof e.message === 'string' ? e.message : 'error without a message';
    return this.replies.reject(id, new RpcError(code, message, e.data));
  }

  /** Reject the call `id` locally (e.g. its frame could not be sent). */
  fail(id: number, error: Error): void {
    this.replies.reject(id, error);
  }

  /** Reject every waiting call; `makeError` gets each call's method for its message. */
  rejectAll(makeError: (method: string) => Error): void {
    this.replies.rejectWhere(makeError);
  }
}
