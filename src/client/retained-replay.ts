/**
 * Which callbacks a subscribe's retained messages run. The broker sends the retained
 * messages matching a `subscribe` right after its answer, for every pattern of it, held
 * before or not. They are for that subscribe's callback: a callback that already held a
 * pattern got them when it subscribed, and a second callback on the same pattern (a
 * second window of an app) must not run the first one again.
 *
 * The answer and its retained messages arrive in a row (the broker queues them in one
 * turn), so the window opens at a subscribe's answer and closes at the next frame that
 * is not a retained delivery. A subscribe the reconnect sends again has no window: after
 * a reconnect every callback gets the retained messages, the state it may have missed.
 */
import type { Message, MessageHandler } from './message.js';

/** The callback a retained delivery runs: that one only, or `null` for none. */
export type ReplayTarget = MessageHandler | null;

export class RetainedReplay {
  /** Subscribe calls waiting for their answer: call id -> the callback each adds. */
  private readonly awaiting = new Map<number, ReplayTarget>();
  /** The callback of the subscribe answered last, while its retained messages follow. */
  private current: ReplayTarget | undefined = undefined;

  /** The subscribe call `id` adds `callback` (`null`: none). */
  expect(id: number, callback: ReplayTarget): void {
    this.awaiting.set(id, callback);
  }

  /**
   * The call `id` failed here (timed out, not sent, its connection lost: every failure of
   * a subscribe comes here): an answer that still comes opens no window.
   */
  forget(id: number): void {
    this.awaiting.delete(id);
  }

  /** A response arrived for `id`: it closes the window, and a subscribe's success opens one. */
  answered(id: unknown, ok: boolean): void {
    this.current = undefined;
    if (typeof id !== 'number' || !this.awaiting.has(id)) return;
    const target = this.awaiting.get(id)!;
    this.awaiting.delete(id);
    if (ok) this.current = target;
  }

  /** Any other frame closes the window. */
  interrupted(): void {
    this.current = undefined;
  }

  /**
   * For a delivery: the one callback it may run while a subscribe's retained messages
   * follow (`null` for none), or `undefined` for every matching callback. A delivery that
   * is not retained closes the window.
   */
  targetOf(message: Message): ReplayTarget | undefined {
    if (!message.retained) this.current = undefined;
    return this.current;
  }
}
