/**
 * In-process listeners for messages whose topic matches a pattern: the status page's live
 * message view. Read-only observation: a tap receives no delivery frame, never acks, and
 * cannot slow the broker down beyond its own callback, which must be cheap (the page's
 * queues and rate limits its own output).
 */
import { topicMatches } from '../../protocol/topics.js';
import type { BrokerMessage } from '../message.js';

export type TapListener = (msg: BrokerMessage) => void;

interface Tap {
  readonly pattern: string;
  readonly listener: TapListener;
}

export class MessageTaps {
  private readonly taps = new Set<Tap>();

  get size(): number {
    return this.taps.size;
  }

  /** Listen for messages matching `pattern` (validated by the caller). Returns the remover. */
  add(pattern: string, listener: TapListener): () => void {
    const tap: Tap = { pattern, listener };
    this.taps.add(tap);
    return () => {
      this.taps.delete(tap);
    };
  }

  offer(msg: BrokerMessage): void {
    for (const tap of this.taps) {
      if (topicMatches(tap.pattern, msg.topic)) tap.listener(msg);
    }
  }
}
