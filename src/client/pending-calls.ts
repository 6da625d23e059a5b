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
  /** Calls that resolve with their result's JSON text (see {@link create}). */
  private readonly textIds = new Set<number>();
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
   * @param text resolve with the result's JSON text as the broker sent it (see
   *   {@link settle}) instead of its value
   */
  create(method: string, timeoutMs: number, text = false): PendingCall {
    const id = this.nextId++;
    const promise = this.replies.open(id, method, timeoutMs);
    if (text) {
      this.textIds.add(id);
      const forget = (): void => void this.textIds.delete(id);
      promise.then(forget, forget);
    }
    return { id, promise };
  }

  /** The method of the single call `id` still waiting, if any. */
  methodOf(id: unknown): string | undefined {
    return typeof id === 'number' ? this.replies.meta(id) : undefined;
  }

  /** Whether the call `id` resolves with its result's text: the caller reads it from the frame. */
  wantsText(id: unknown): boolean {
    return typeof id === 'number' && this.textIds.has(id);
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
   * (it timed out, or the id is not ours). A call that wants text resolves with
   * `resultText`, the result as the frame held it, or failing that the result's JSON.
   */
  settle(id: unknown, response: { result?: unknown; error?: RpcErrorObject }, resultText?: string): boolean {
    if (typeof id !== 'number') return false;
    if (response.error === undefined) {
      const text = this.textIds.has(id) ? (resultText ?? JSON.stringify(response.result ?? null)) : undefined;
      return this.resolve(id, text ?? response.result);
    }
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
