/**
 * Who acknowledged which QoS 1 message, for `_internal.message_acks`. Bounded: the oldest
 * records are forgotten first, and a forgotten id answers like an unknown one.
 */
import type { BrokerMessage } from './message.js';
import { MessageRecords } from './message-records.js';

export interface AckRecord {
  readonly clients: Set<string>;
  readonly pending: Set<string>;
}

export class AckTracker {
  private readonly records = new MessageRecords<AckRecord>();

  constructor(private readonly limit: number = 10_000) {}

  get size(): number {
    return this.records.size;
  }

  /** Start tracking `msg`, routed to the sessions in `clientIds`. */
  track(msg: BrokerMessage, clientIds: Iterable<string>): void {
    this.records.set(msg, { clients: new Set(), pending: new Set(clientIds) });
    if (this.records.size > this.limit) this.records.shift();
  }

  /** Start tracking a message known by its id alone (restored from the journal). */
  trackById(messageId: string, clientIds: Iterable<string>): void {
    this.records.setById(messageId, { clients: new Set(), pending: new Set(clientIds) });
    if (this.records.size > this.limit) this.records.shift();
  }

  /** Record `clientId`'s ack. Returns false when the message or the routing is unknown. */
  ack(messageId: string, clientId: string): boolean {
    const rec = this.records.get(messageId);
    if (!rec || !rec.pending.delete(clientId)) return rec?.clients.has(clientId) ?? false;
    rec.clients.add(clientId);
    return true;
  }

  /** A session that expired will never ack: stop listing it as pending. */
  forgetClient(messageIds: Iterable<string>, clientId: string): void {
    for (const id of messageIds) this.records.get(id)?.pending.delete(clientId);
  }

  get(messageId: string): { clients: string[]; pending: string[] } | undefined {
    const rec = this.records.get(messageId);
    return rec && { clients: [...rec.clients], pending: [...rec.pending] };
  }
}
