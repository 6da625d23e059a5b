/**
 * An answer a method handler gives later, delivered in the very turn it arrives.
 *
 * A promise would answer one microtask later, after the flush scheduler has already
 * written that read's other frames: a request's reply would reach the requester
 * after the responder's `{accepted}`, in a second write, and on a busy machine after the
 * responder has woken up to read it. Handlers that wait (a request for its reply) return
 * one of these instead of a promise; the dispatcher listens to it.
 */
import type { Settle } from '../protocol/pending-replies.js';

/** `failed` tells an error (`value` is what was thrown or rejected) from a result. */
export type AnswerListener = (failed: boolean, value: unknown) => void;

export class PendingAnswer implements Settle {
  private listener: AnswerListener | null = null;
  private settled = false;
  private failed = false;
  private value: unknown = undefined;

  resolve(value: unknown): void {
    this.settle(false, value);
  }

  reject(error: Error): void {
    this.settle(true, error);
  }

  /**
   * Hear the answer: at once when it is already there, else when it comes. One listener;
   * what it throws reaches whoever settled the answer.
   */
  onSettled(listener: AnswerListener): void {
    if (this.listener !== null) throw new RangeError('a pending answer has one listener');
    this.listener = listener;
    if (this.settled) listener(this.failed, this.value);
  }

  /** The answer as a promise, for a batch that waits for all its calls. */
  toPromise(): Promise<unknown> {
    return new Promise((resolve, reject) => this.onSettled((failed, value) => (failed ? reject(value) : resolve(value))));
  }

  private settle(failed: boolean, value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.failed = failed;
    this.value = value;
    this.listener?.(failed, value);
  }
}
