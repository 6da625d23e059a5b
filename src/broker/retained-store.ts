/**
 * The last retained message per topic, in memory. With persistence on, every client's
 * retained publish is journaled before it gets here, and the store is refilled from the
 * journal at start (durability.ts).
 */
import { topicMatches } from '../protocol/topics.js';
import { RawJson } from '../protocol/raw-json.js';
import { deliveryFrame, isExpired, keepMessage, type BrokerMessage } from './message.js';

/** True for the payloads that clear a retained topic instead of setting it. */
export function clearsRetained(payload: unknown): boolean {
  if (payload instanceof RawJson) return payload.length === 2 && payload.toString() === '""';
  return payload === null || payload === undefined || payload === '';
}

export class RetainedStore {
  private readonly byTopic = new Map<string, BrokerMessage>();

  get size(): number {
    return this.byTopic.size;
  }

  /**
   * Store `msg` as its topic's retained message, or clear the topic. The retained frame is
   * built now, so a message that cannot be serialised fails the publish that sent it
   * instead of every later subscription's replay.
   */
  set(msg: BrokerMessage): void {
    if (clearsRetained(msg.payload)) {
      this.byTopic.delete(msg.topic);
      return;
    }
    deliveryFrame(msg, { retained: true });
    this.byTopic.set(msg.topic, keepMessage(msg));
  }

  get(topic: string): BrokerMessage | undefined {
    return this.byTopic.get(topic);
  }

  /** Retained messages matching any of `patterns`, each once, expired ones purged. */
  matching(patterns: readonly string[], now: number = Date.now()): BrokerMessage[] {
    const out: BrokerMessage[] = [];
    for (const [topic, msg] of this.byTopic) {
      if (isExpired(msg, now)) {
        this.byTopic.delete(topic);
        continue;
      }
      if (patterns.some((p) => topicMatches(p, topic))) out.push(msg);
    }
    return out;
  }

  clear(): void {
    this.byTopic.clear();
  }
}
