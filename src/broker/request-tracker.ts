/**
 * Requests waiting for their first reply. Each gets an unguessable `reply_to` token so a
 * client can only answer requests that were delivered to it.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, RpcError, type RpcErrorObject } from '../protocol/errors.js';
import type { Connection } from './connection.js';

interface PendingRequest {
  readonly requester: Connection;
  readonly topic: string;
  resolve(result: unknown): void;
  reject(err: RpcError): void;
  timer: NodeJS.Timeout;
}

export class RequestTracker {
  private readonly pending = new Map<string, PendingRequest>();

  get size(): number {
    return this.pending.size;
  }

  /** A new pending request; the promise settles with the first reply or a timeout. */
  open(requester: Connection, topic: string, timeoutMs: number): { token: string; result: Promise<unknown> } {
    const token = randomUUID();
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new RpcError(ErrorCode.TIMEOUT, `Request timed out: no reply on ${topic} within ${timeoutMs / 1000}s`, { topic, timeout: timeoutMs / 1000 }));
      }, timeoutMs);
      timer.unref();
      this.pending.set(token, { requester, topic, resolve, reject, timer });
    });
    return { token, result };
  }

  /** Settle a request without waiting (nobody matched after all). */
  fail(token: string, err: RpcError): void {
    const p = this.pending.get(token);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(token);
    p.reject(err);
  }

  /**
   * Answer the request `token` with a reply. Null results do not answer (another
   * responder may still have one); returns whether this reply was accepted.
   */
  reply(token: string, result: unknown, error: RpcErrorObject | undefined): boolean {
    const p = this.pending.get(token);
    if (!p) return false;
    if (error === undefined && (result === null || result === undefined)) return false;
    clearTimeout(p.timer);
    this.pending.delete(token);
    if (error !== undefined) p.reject(RpcError.from(error));
    else p.resolve(result);
    return true;
  }

  /** The requester went away: nobody is left to answer. */
  dropRequester(conn: Connection): void {
    for (const [token, p] of this.pending) {
      if (p.requester !== conn) continue;
      clearTimeout(p.timer);
      this.pending.delete(token);
      p.reject(new RpcError(ErrorCode.INTERNAL_ERROR, 'requester disconnected'));
    }
  }

  /** Fail every pending request (shutdown). */
  closeAll(reason: string): void {
    for (const [token, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(token);
      p.reject(new RpcError(ErrorCode.INTERNAL_ERROR, `broker ${reason}`));
    }
  }
}
