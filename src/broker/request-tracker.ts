/**
 * Requests waiting for their first reply. Each gets an unguessable `reply_to` token so a
 * client can only answer requests that were delivered to it.
 */
import type { Clock } from '../protocol/clock.js';
import { ErrorCode, RpcError, type RpcErrorObject } from '../protocol/errors.js';
import { shownName } from '../protocol/excerpt.js';
import { PendingReplies, type Settle } from '../protocol/pending-replies.js';
import type { Connection } from './connection.js';
import { newReplyToken } from './reply-token.js';

interface RequestMeta {
  /** `null` for a request that came through the federation upstream. */
  readonly requester: Connection | null;
  readonly topic: string;
  /** How many subscribers the request went to; the timeout error reports it. */
  delivered: number;
}

export class RequestTracker {
  private readonly pending: PendingReplies<string, RequestMeta>;

  constructor(clock?: Clock) {
    this.pending = new PendingReplies<string, RequestMeta>({
      clock,
      // The requester's connection, not this timer, is what keeps the broker alive.
      refTimers: false,
      // `delivered` tells "nobody answered" apart from "nobody got it" (a requester can
      // then say that its N subscribers only listen, e.g. a `bridge sub`).
      timeoutError: ({ topic, delivered }, ms) =>
        new RpcError(ErrorCode.TIMEOUT, `Request timed out: no reply on ${shownName(topic)} within ${ms / 1000}s`, { topic, timeout: ms / 1000, delivered }),
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /** A new pending request; the promise settles with the first reply or a timeout. */
  open(requester: Connection | null, topic: string, timeoutMs: number): { token: string; result: Promise<unknown> } {
    const token = newReplyToken();
    return { token, result: this.pending.open(token, { requester, topic, delivered: 0 }, timeoutMs) };
  }

  /**
   * A new pending request whose first reply or timeout is handed to `settle` in the turn
   * it happens (a `PendingAnswer`): the requester hears before the responder's ack.
   */
  openSettling(requester: Connection, topic: string, timeoutMs: number, settle: Settle): string {
    const token = newReplyToken();
    this.pending.openSettling(token, { requester, topic, delivered: 0 }, timeoutMs, settle);
    return token;
  }

  /** Note how many subscribers the request `token` was routed to (for its timeout error). */
  noteDelivered(token: string, delivered: number): void {
    const meta = this.pending.meta(token);
    if (meta) meta.delivered = delivered;
  }

  /** Settle a request without waiting (nobody matched after all). */
  fail(token: string, err: RpcError): void {
    this.pending.reject(token, err);
  }

  /**
   * Answer the request `token` with a reply. Null results do not answer (another
   * responder may still have one); returns whether this reply was accepted.
   */
  reply(token: string, result: unknown, error: RpcErrorObject | undefined): boolean {
    if (error !== undefined) return this.pending.reject(token, RpcError.from(error));
    if (result === null || result === undefined) return false;
    return this.pending.resolve(token, result);
  }

  /** The requester went away: nobody is left to answer. */
  dropRequester(conn: Connection): void {
    this.pending.rejectWhere(
      () => new RpcError(ErrorCode.INTERNAL_ERROR, 'requester disconnected'),
      (meta) => meta.requester === conn,
    );
  }

  /** Fail every pending request (shutdown). */
  closeAll(reason: string): void {
    this.pending.rejectWhere(() => new RpcError(ErrorCode.INTERNAL_ERROR, `broker ${reason}`));
  }
}
