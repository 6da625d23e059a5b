/**
 * Calls awaiting their response: id to promise, each with its own timeout, and batches
 * of calls that share one (pending-batches.ts).
 */
import { systemClock, type Clock } from '../protocol/clock.js';
import { ErrorCode, RpcError, type RpcErrorObject } from '../protocol/errors.js';
import { PendingReplies } from '../protocol/pending-replies.js';
import { PendingBatches, type BatchAnswer } from './pending-batches.js';

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
  private readonly batches: PendingBatches;
  private nextId = 1;

  constructor(clock: Clock = systemClock) {
    const timeoutError = (method: string, ms: number): RpcError =>
      new RpcError(ErrorCode.TIMEOUT, `no reply to "${method}" within ${+(ms / 1000).toFixed(3)}s`, { method });
    this.replies = new PendingReplies<number, string>({ clock, timeoutError });
    this.batches = new PendingBatches(clock, timeoutError);
  }

  /** Calls and batches still waiting. */
  get size(): number {
    return this.replies.size + this.batches.size;
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
   * Register `count` calls of `method` as one batch, with consecutive ids from the
   * returned `first`. Its promise resolves with every call's answer, in id order, once
   * all are in (see {@link failInBatch} for a call that cannot be sent); it rejects when
   * any is missing after `timeoutMs` (0 waits forever), or on {@link rejectAll}.
   */
  createBatch(method: string, count: number, timeoutMs: number): { first: number; promise: Promise<BatchAnswer[]> } {
    const first = this.nextId;
    this.nextId += count;
    return { first, promise: this.batches.wait(first, count, method, timeoutMs) };
  }

  /**
   * Settle the call `id` with a response. Returns false when no call is waiting for it
   * (it timed out, or the id is not ours).
   */
  settle(id: unknown, response: { result?: unknown; error?: RpcErrorObject }): boolean {
    if (typeof id !== 'number') return false;
    if (response.error === undefined) return this.resolve(id, response.result);
    const e = response.error;
    const code = typeof e.code === 'number' ? e.code : ErrorCode.INTERNAL_ERROR;
    const message = typeof e.message === 'string' ? e.message : 'error without a message';
    const error = new RpcError(code, message, e.data);
    return this.replies.reject(id, error) || this.batches.answer(id, { ok: false, error });
  }

  /** Settle the call `id` with its result; false when no call is waiting for it. */
  resolve(id: number, result: unknown): boolean {
    return this.replies.resolve(id, result) || this.batches.answer(id, { ok: true, result });
  }

  /** Reject the call `id` locally (e.g. its frame could not be sent). */
  fail(id: number, error: Error): void {
    this.replies.reject(id, error);
  }

  /** Answer the batch's call `id` locally with `error` (e.g. it is too large to send). */
  failInBatch(id: number, error: RpcError): void {
    this.batches.answer(id, { ok: false, error });
  }

  /** Reject every waiting call and batch; `makeError` gets each one's method for its message. */
  rejectAll(makeError: (method: string) => Error): void {
    this.replies.rejectWhere(makeError);
    this.batches.rejectAll(makeError);
  }
}
