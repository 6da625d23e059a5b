/**
 * The recently used topics, with a message count and the last payload each: what
 * `/api/topics` shows. Bounded without deleting from a map in the hot path (V8's Map
 * deletes and re-inserts cost ~1 µs each under churn): two generations, each holding at
 * most `limit` topics. A topic seen again is updated in place, or carried over from the
 * previous generation; when the current one is full it becomes the previous one. The
 * `limit` most recently used topics are always in one of the two.
 */
import { keepMessage, type BrokerMessage } from '../message.js';

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
  private current = new Map<string, TopicEntry>();
  private previous = new Map<string, TopicEntry>();
  private seq = 0;

  /** @param limit topics listed by {@link recent} (at most twice this are held) */
  constructor(readonly limit = 100) {}

  record(msg: BrokerMessage): void {
    const seq = ++this.seq;
    let entry = this.current.get(msg.topic);
    if (entry === undefined) {
      entry = this.previous.get(msg.topic) ?? { topic: msg.topic, messages: 0, lastAt: '', lastSeq: 0, lastSender: '', lastPayload: null };
      if (this.current.size >= this.limit) {
        this.previous = this.current;
        this.current = new Map();
      }
      this.current.set(msg.topic, entry);
    }
    entry.messages++;
    entry.lastAt = msg.timestamp;
    entry.lastSeq = seq;
    entry.lastSender = msg.sender;
    entry.lastPayload = keepMessage(msg).payload;
  }

  /** The newest `limit` topics, most recent first. */
  recent(): TopicEntry[] {
    const all = new Map(this.previous);
    for (const [topic, e] of this.current) all.set(topic, e);
    return [...all.values()].sort((a, b) => b.lastSeq - a.lastSeq).slice(0, this.limit);
  }
}
