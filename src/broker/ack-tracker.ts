/**
 * Who acknowledged which QoS 1 message, for `_internal.message_acks`. Bounded: the oldest
 * records are forgotten first, and a forgotten id answers like an unknown one.
 */
import type { BrokerMessage } from './message.js';
import type { IdSpace } from './message-id.js';
import { MessageRecords } from './message-records.js';

/**
 * The sessions a message was routed to, as the router listed them: one client id alone
 * (the common case), or an array of them. Until someone acks, or a target's session
 * expires, this is a message's whole record: every QoS 1 message is tracked, most are
 * never acked (AutoHotkey clients rarely do), and a record object and a one-element array
 * per message were most of what a backlog of QoS 1 publishes left the garbage collector
 * to copy and promote.
 */
export type Targets = string | readonly string[];

/** A QoS 1 message routed to no one is tracked too (its acks are refused, and `_internal.message_acks` knows it). */
export const NO_TARGETS: Targets = [];

/**
 * `targets` (as being collected by the router: `null` before the first) with `clientId`
 * added: the id alone for the first, an array from the second.
 */
export function withTarget(targets: string | string[] | null, clientId: string): string | string[] {
  if (targets === null) return clientId;
  if (typeof targets === 'string') return [targets, clientId];
  targets.push(clientId);
  return targets;
}

/**
 * Client ids, held as one string until a second comes: most messages have one
 * subscriber, and a Set per acked message was most of what an ack cost.
 */
type IdSet = string | Set<string> | null;

const hasId = (ids: IdSet, id: string): boolean => (typeof ids === 'string' ? ids === id : ids !== null && ids.has(id));

/** `ids` with `id` added, in insertion order (the caller checked it is not there yet). */
function addId(ids: IdSet, id: string): string | Set<string> {
  if (ids === null) return id;
  if (typeof ids === 'string') return new Set([ids, id]);
  return ids.add(id);
}

const idsOf = (ids: IdSet): string[] => (ids === null ? [] : typeof ids === 'string' ? [ids] : [...ids]);

/**
 * Who a message was routed to and who acked it, once an ack or an expired session needs
 * more than the targets. It keeps the router's list and makes a Set only when one is
 * needed (two Sets per message were the tracker's main cost per QoS 1 publish).
 */
class AckRecord {
  /** Acked, in ack order. */
  private acked: IdSet = null;
  /** Targets whose session expired unacked: neither acked nor pending any more. */
  private gone: IdSet = null;
  /** The targets as a Set, for a large fan-out only. */
  private lookup: Set<string> | null = null;

  /** @param targets the sessions' client ids, each once; kept, not copied */
  constructor(private readonly targets: Targets) {}

  /** Record `clientId`'s ack; false when it was not routed to it, its session expired, or it acked before. */
  ack(clientId: string): boolean {
    if (hasId(this.acked, clientId)) return false;
    if (!this.isTarget(clientId) || hasId(this.gone, clientId)) return false;
    this.acked = addId(this.acked, clientId);
    return true;
  }

  /** `clientId`'s session expired: it will never ack. */
  forget(clientId: string): void {
    if (!hasId(this.acked, clientId) && !hasId(this.gone, clientId) && this.isTarget(clientId)) this.gone = addId(this.gone, clientId);
  }

  clients(): string[] {
    return idsOf(this.acked);
  }

  /**
   * This record with `clientId` among its targets (itself when it is one already, or
   * acked): a new record, since an acked-alone record is shared between messages.
   */
  withTarget(clientId: string): AckRecord {
    if (hasId(this.acked, clientId) || (this.isTarget(clientId) && !hasId(this.gone, clientId))) return this;
    const targets = typeof this.targets === 'string' ? [this.targets] : [...this.targets];
    if (!targets.includes(clientId)) targets.push(clientId);
    const next = new AckRecord(targets);
    next.acked = typeof this.acked === 'object' && this.acked !== null ? new Set(this.acked) : this.acked;
    // A new session of a client whose old one expired unacked: pending again.
    for (const id of idsOf(this.gone)) if (id !== clientId) next.gone = addId(next.gone, id);
    return next;
  }

  pending(): string[] {
    const targets = typeof this.targets === 'string' ? [this.targets] : this.targets;
    return targets.filter((id) => !hasId(this.acked, id) && !hasId(this.gone, id));
  }

  private isTarget(clientId: string): boolean {
    const targets = this.targets;
    if (typeof targets === 'string') return targets === clientId;
    if (targets.length <= 8) return targets.includes(clientId);
    return (this.lookup ??= new Set(targets)).has(clientId);
  }
}

/** The full record of a message with targets; targets alone when it was routed to no one. */
const fullRecord = (rec: Targets | AckRecord): Targets | AckRecord =>
  rec instanceof AckRecord || (typeof rec !== 'string' && rec.length === 0) ? rec : new AckRecord(rec);

/** Client ids whose acked-alone record is kept for sharing; past this the cache starts over. */
const SHARED_RECORDS_LIMIT = 1024;

export class AckTracker {
  private readonly records = new MessageRecords<Targets | AckRecord>();
  /**
   * Per client id, the record of a message routed to that client alone and acked by it.
   * Such records are all alike and no call changes them (an ack by their client is
   * already recorded, anybody else's is refused, and a client that acked is never
   * forgotten as gone), so acked messages share one. A record per ack, kept until
   * 10,000 later messages pushed it out, was copied by the garbage collector and promoted
   * on a backlog whose subscriber acks.
   */
  private readonly ackedAlone = new Map<string, AckRecord>();
  /** A message's record upgraded for an ack by `ackingClient`: the shared one when it went to that client alone. */
  private readonly upgradeForAck = (rec: Targets | AckRecord, ackingClient: string): Targets | AckRecord => {
    if (rec !== ackingClient) return fullRecord(rec);
    // The first ack of a message routed to its client alone: the shared record says acked already.
    this.ackedAloneNow = true;
    return this.recordAckedAlone(ackingClient);
  };
  /** Set by {@link upgradeForAck} when the ack being taken is the one that made a message acked-alone. */
  private ackedAloneNow = false;

  constructor(private readonly limit: number = 10_000) {}

  get size(): number {
    return this.records.size;
  }

  /**
   * Start tracking `msg`, routed to `targets`: one session's client id, or several (each
   * once). An array is kept, not copied: the caller must not change it afterwards.
   */
  track(msg: BrokerMessage, targets: Targets): void {
    this.records.set(msg, targets);
    if (this.records.size > this.limit) this.records.shift();
  }

  /** Start tracking a message known by its id alone (restored from the journal). */
  trackById(messageId: string, clientIds: Iterable<string>): void {
    this.records.setById(messageId, [...new Set(clientIds)]);
    if (this.records.size > this.limit) this.records.shift();
  }

  /**
   * Record `clientId`'s ack. True when recorded now; false when the message, or its
   * routing to `clientId`, is unknown, that session expired, or it acked before.
   */
  ack(messageId: string, clientId: string): boolean {
    this.ackedAloneNow = false;
    const rec = this.records.upgrade(messageId, this.upgradeForAck, clientId);
    return this.ackedAloneNow || ackIn(rec, clientId);
  }

  /** {@link ack} for this broker's message number `seq` of `space` (message-id.ts), with no id string. */
  ackOwn(space: IdSpace, seq: number, clientId: string): boolean {
    this.ackedAloneNow = false;
    const rec = this.records.upgradeOwn(space, seq, this.upgradeForAck, clientId);
    return this.ackedAloneNow || ackIn(rec, clientId);
  }

  /**
   * `clientId` was given the message after it was routed (a retained QoS 1 message
   * replayed to a new subscription): pending until it acks, like the first targets.
   */
  addTarget(messageId: string, clientId: string): void {
    this.records.upgrade(messageId, withLateTarget, clientId);
  }

  /** A session that expired will never ack: stop listing it as pending. */
  forgetClient(messageIds: Iterable<string>, clientId: string): void {
    for (const id of messageIds) this.record(id)?.forget(clientId);
  }

  get(messageId: string): { clients: string[]; pending: string[] } | undefined {
    const found = this.records.get(messageId);
    if (found === undefined) return undefined;
    // Targets alone read as a record nobody acked (made for the answer, not kept).
    const rec = found instanceof AckRecord ? found : new AckRecord(found);
    return { clients: rec.clients(), pending: rec.pending() };
  }

  /** The message's full record, made from its targets on first need; undefined when not tracked. */
  private record(messageId: string): AckRecord | undefined {
    const rec = this.records.upgrade(messageId, fullRecord, null);
    return rec instanceof AckRecord ? rec : undefined; // a message routed to no one has none
  }

  private recordAckedAlone(clientId: string): AckRecord {
    let rec = this.ackedAlone.get(clientId);
    if (rec === undefined) {
      rec = new AckRecord(clientId);
      rec.ack(clientId);
      if (this.ackedAlone.size >= SHARED_RECORDS_LIMIT) this.ackedAlone.clear();
      this.ackedAlone.set(clientId, rec);
    }
    return rec;
  }
}

/** Record `clientId`'s ack in what an upgrade found; a message routed to no one (or unknown) has no record to take it. */
const ackIn = (rec: Targets | AckRecord | undefined, clientId: string): boolean => rec instanceof AckRecord && rec.ack(clientId);

/** `rec` with `clientId` among its targets (see {@link AckRecord.withTarget}); a new array, never the router's. */
function withLateTarget(rec: Targets | AckRecord, clientId: string): Targets | AckRecord {
  if (rec instanceof AckRecord) return rec.withTarget(clientId);
  if (typeof rec === 'string') return rec === clientId ? rec : [rec, clientId];
  return rec.includes(clientId) ? rec : [...rec, clientId];
}
