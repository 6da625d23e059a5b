/**
 * Calls awaiting their response: id to promise, each with its own timeout.
 */
import { ErrorCode, RpcError, type RpcErrorObject } from '../protocol/errors.js';

interface Entry {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

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
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;

  /** Calls still waiting. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Register a call.
   * @param method for error messages only
   * @param timeoutMs reject with TIMEOUT (-32002) after this long; 0 waits forever
   */
  create(method: string, timeoutMs: number): PendingCall {
    const id = this.nextId++;
    let entry!: Entry;
    const promise = new Promise<unknown>((resolve, reject) => {
      entry = { method, resolve, reject, timer: undefined };
    });
    if (timeoutMs > 0) {
      entry.timer = setTimeout(() => {
        if (this.entries.get(id) !== entry) return;
        this.entries.delete(id);
        entry.reject(new RpcError(ErrorCode.TIMEOUT, `no reply to "${method}" within ${+(timeoutMs / 1000).toFixed(3)}s`, { method }));
      }, timeoutMs);
    }
    this.entries.set(id, entry);
    return { id, promise };
  }

  /**
   * Settle the call `id` with a response. Returns false when no call is waiting for it
   * (it timed out, or the id is not ours).
   */
  settle(id: unknown, response: { result?: unknown; error?: RpcErrorObject }): boolean {
    if (typeof id !== 'number') return false;
    const entry = this.take(id);
    if (!entry) return false;
    if (response.error !== undefined) {
      const e = response.error;
      const code = typeof e.code === 'number' ? e.code : ErrorCode.INTERNAL_ERROR;
      const message = typeof e.message === 'string' ? e.message : 'error without a message';
      entry.reject(new RpcError(code, message, e.data));
    } else {
      entry.resolve(response.result);
    }
    return true;
  }

  /** Reject the call `id` locally (e.g. its frame could not be sent). */
  fail(id: number, error: Error): void {
    this.take(id)?.reject(error);
  }

  /** Reject every waiting call; `makeError` gets each call's method for its message. */
  rejectAll(makeError: (method: string) => Error): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(makeError(entry.method));
    }
  }

  private take(id: number): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    return entry;
  }
}
