/**
 * The client's own record of its subscriptions: which patterns it holds and which
 * callbacks each one runs. The broker keeps the authoritative list; this one is what a
 * reconnect re-subscribes and what deliveries are matched against.
 */
import { topicMatches } from '../protocol/topics.js';
import type { MessageHandler } from './message.js';

/**
 * The patterns a `subscribe` or `unsubscribe` result confirms, read from its `field`.
 * Falls back to the patterns asked for when the broker sent no usable list.
 */
export function confirmedPatterns(result: unknown, field: 'subscribed' | 'unsubscribed', requested: string[]): string[] {
  const value = (result as Partial<Record<typeof field, unknown>> | null | undefined)?.[field];
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : requested;
}

/** Pattern to callbacks; a pattern may have none (subscribed only for `message_received`). */
export class SubscriptionRegistry {
  private readonly byPattern = new Map<string, Set<MessageHandler>>();

  /** How many patterns are held. */
  get size(): number {
    return this.byPattern.size;
  }

  /** The patterns held, in the order they were first added. */
  get patterns(): string[] {
    return [...this.byPattern.keys()];
  }

  /**
   * Hold `patterns`, each running `callback` if given. Returns an undo that takes back
   * exactly what this call added (a pattern or callback that was already there stays),
   * for when the broker refuses the subscription.
   */
  add(patterns: string[], callback?: MessageHandler): () => void {
    const undo: (() => void)[] = [];
    for (const pattern of patterns) {
      let set = this.byPattern.get(pattern);
      if (!set) {
        const created = new Set<MessageHandler>();
        set = created;
        this.byPattern.set(pattern, created);
        undo.push(() => {
          // Another subscribe may have added a callback to it meanwhile; keep it then.
          if (this.byPattern.get(pattern) === created && created.size === 0) this.byPattern.delete(pattern);
        });
      }
      if (callback && !set.has(callback)) {
        const target = set;
        target.add(callback);
        // Callbacks come off before their patterns, so an emptied pattern can go too.
        undo.unshift(() => target.delete(callback));
      }
    }
    return () => {
      for (const u of undo) u();
    };
  }

  /** Drop `patterns` and their callbacks. */
  remove(patterns: string[]): void {
    for (const pattern of patterns) this.byPattern.delete(pattern);
  }

  /** Every callback whose pattern matches `topic`, each once however many patterns match. */
  handlersFor(topic: string): Set<MessageHandler> {
    const handlers = new Set<MessageHandler>();
    for (const [pattern, set] of this.byPattern) {
      if (set.size > 0 && topicMatches(pattern, topic)) for (const h of set) handlers.add(h);
    }
    return handlers;
  }
}
