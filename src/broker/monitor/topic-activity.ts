/**
 * The recently used topics, with a message count and the last payload each: what
 * `/api/topics` shows. Bounded: past `limit` topics the least recently used are forgotten,
 * in batches, so a stream of one-off topics (reply topics) costs an amortised sort, not
 * a scan per message.
 */
import type { BrokerMessage } from '../message.js';

/** One topic's activity. The payload is the message's own value, never copied. */
export interface TopicEntry {
  readonly topic: string;
  messages: number;
  /** The last message's own timestamp (ISO 8601): no clock read per message. */
  lastAt: string;
  /** Orders entries by recency. */
  lastSeq: number;
  lastSender: string;
  lastPayload: unknown;
}

export class TopicActivity {
  private readonly entries = new Map<string, TopicEntry>();
  private seq = 0;

  /** @param limit topics kept (the table grows to twice this between trims) */
  constructor(readonly limit = 100) {}

  record(msg: BrokerMessage): void {
    const seq = ++this.seq;
    const entry = this.entries.get(msg.topic);
    if (entry !== undefined) {
      entry.messages++;
      entry.lastAt = msg.timestamp;
      entry.lastSeq = seq;
      entry.lastSender = msg.sender;
      entry.lastPayload = msg.payload;
      return;
    }
    this.entries.set(msg.topic, { topic: msg.topic, messages: 1, lastAt: msg.timestamp, lastSeq: seq, lastSender: msg.sender, lastPayload: msg.payload });
    if (this.entries.size >= this.limit * 2) this.trim();
  }

  /** The newest `limit` topics, most recent first. */
  recent(): TopicEntry[] {
    return [...this.entries.values()].sort((a, b) => b.lastSeq - a.lastSeq).slice(0, this.limit);
  }

  private trim(): void {
    const keep = new Set(this.recent().map((e) => e.topic));
    for (const topic of this.entries.keys()) if (!keep.has(topic)) this.entries.delete(topic);
  }
}
