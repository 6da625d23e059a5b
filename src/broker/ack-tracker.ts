/**
 * Who acknowledged which QoS 1 message, for `_internal.message_acks`. Bounded: the oldest
 * records are forgotten first, and a forgotten id answers like an unknown one.
 */
import type { BrokerMessage } from './message.js';
import { MessageRecords } from './message-records.js';

/**
 * Who a message was routed to and who acked it. Built for the common case, one or a few
 * subscribers that may never ack (AutoHotkey clients rarely do): it keeps the router's
 * own list of targets and makes a Set only when one is needed. Two Sets per message were
 * the tracker's main cost per QoS 1 publish.
 */
class AckRecord {
  /** Acked, in ack order. */
  private acked: Set<string> | null = null;
  /** Targets whose session expired unacked: neither acked nor pending any more. */
  private gone: Set<string> | null = null;
  /** The targets as a Set, for a large fan-out only. */
  private lookup: Set<string> | null = null;

  /** @param targets the sessions' client ids, each once; kept, not copied */
  constructor(private readonly targets: readonly string[]) {}

  /** Record `clientId`'s ack; false when it was not routed to it or its session expired. */
  ack(clientId: string): boolean {
    if (this.acked?.has(clientId)) return true;
    if (!this.isTarget(clientId) || this.gone?.has(clientId)) return false;
    (this.acked ??= new Set()).add(clientId);
    return true;
  }

  /** `clientId`'s session expired: it will never ack. */
  forget(clientId: string): void {
    if (!this.acked?.has(clientId) && this.isTarget(clientId)) (this.gone ??= new Set()).add(clientId);
  }

  clients(): string[] {
    return this.acked ? [...this.acked] : [];
  }

  pending(): string[] {
    return this.targets.filter((id) => !this.acked?.has(id) && !this.gone?.has(id));
  }

  private isTarget(clientId: string): boolean {
    if (this.targets.length <= 8) return this.targets.includes(clientId);
    return (this.lookup ??= new Set(this.targets)).has(clientId);
  }
}

export class AckTracker {
  private readonly records = new MessageRecords<AckRecord>();

  constructor(private readonly limit: number = 10_000) {}

  get size(): number {
    return this.records.size;
  }

  /**
   * Start tracking `msg`, routed to the sessions in `clientIds` (each once). The array is
   * kept, not copied: the caller must not change it afterwards.
   */
  track(msg: BrokerMessage, clientIds: readonly string[]): void {
    this.records.set(msg, new AckRecord(clientIds));
    if (this.records.size > this.limit) this.records.shift();
  }

  /** Start tracking a message known by its id alone (restored from the journal). */
  trackById(messageId: string, clientIds: Iterable<string>): void {
    this.records.setById(messageId, new AckRecord([...new Set(clientIds)]));
    if (this.records.size > this.limit) this.records.shift();
  }

  /**
   * Record `clientId`'s ack. True when recorded now or before; false when the message,
   * or its routing to `clientId`, is unknown, or that session expired.
   */
  ack(messageId: string, clientId: string): boolean {
    return this.records.get(messageId)?.ack(clientId) ?? false;
  }

  /** A session that expired will never ack: stop listing it as pending. */
  forgetClient(messageIds: Iterable<string>, clientId: string): void {
    for (const id of messageIds) this.records.get(id)?.forget(clientId);
  }

  get(messageId: string): { clients: string[]; pending: string[] } | undefined {
    const rec = this.records.get(messageId);
    return rec && { clients: rec.clients(), pending: rec.pending() };
  }
}
