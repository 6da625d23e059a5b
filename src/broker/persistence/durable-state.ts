/**
 * The state the journal's records add up to: retained messages by topic, and sessions by
 * client id with their patterns, expiry and pending QoS 1 messages. `apply` is the
 * reducer (replay on load, and every durable append after it); `snapshotRecords` turns
 * the live state back into the few records that rebuild it, for compaction.
 *
 * Each message is held once however many sessions it is pending for, in the order it was
 * first enqueued; every session's pending list keeps that order, so a snapshot can write
 * one `enqueue` per message and still rebuild each session's order exactly.
 *
 * Queue and retained entries are immutable (a change replaces the entry), so capturing
 * the state for a snapshot copies references only: compaction pauses the writer for
 * about a millisecond per 100,000 entries, and the records are built while the snapshot
 * is written.
 */
import { isExpired, type BrokerMessage } from '../message.js';
import { clearsRetained } from '../retained-store.js';
import { storedMessage, type JournalRecord, type SessionRecord } from './records.js';

/** One session as recovered: what phase 2 turns back into a `Session`. */
export interface RecoveredSession {
  clientId: string;
  patterns: string[];
  /** Epoch ms when a detached session expires; `null` when it was attached at shutdown or crash. */
  expiresAt: number | null;
  /** QoS 1 messages not yet acked, oldest first. */
  pending: BrokerMessage[];
}

/** Everything the broker gets back on start. Fresh objects: the caller may keep or change them. */
export interface RecoveredState {
  retained: Map<string, BrokerMessage>;
  sessions: Map<string, RecoveredSession>;
}

/** What {@link DurableState.prune} removed. */
export interface Pruned {
  messages: number;
  retained: number;
  sessions: number;
}

interface SessionEntry {
  patterns: readonly string[];
  expiresAt: number | null;
  /** Ids of pending messages, in enqueue order. */
  pending: Set<string>;
  bytes: number;
}

interface QueuedEntry {
  readonly message: BrokerMessage;
  /** Sessions it is pending for; replaced, never changed, so a capture can share it. */
  readonly clients: readonly string[];
  readonly bytes: number;
}

interface RetainedEntry {
  readonly message: BrokerMessage;
  readonly bytes: number;
}

/** The live state as of one moment, for a snapshot: shared immutable entries. */
export interface SnapshotSource {
  readonly sessions: readonly SessionRecord[];
  readonly queued: readonly QueuedEntry[];
  readonly retained: readonly RetainedEntry[];
}

/**
 * The records that rebuild a captured state, built one at a time as they are written.
 * Sessions come first, so every `enqueue` finds its sessions; one `enqueue` per message,
 * in order.
 */
export function* snapshotRecordsOf(src: SnapshotSource): Generator<JournalRecord> {
  yield* src.sessions;
  for (const q of src.queued) yield { type: 'enqueue', message: q.message, clientIds: q.clients };
  for (const r of src.retained) yield { type: 'retain', message: r.message };
}

export class DurableState {
  private readonly retained = new Map<string, RetainedEntry>();
  private readonly sessions = new Map<string, SessionEntry>();
  /** Pending messages by id, in the order each was first enqueued. */
  private readonly queued = new Map<string, QueuedEntry>();
  private deliveries = 0;
  private bytes = 0;
  /** Queued and retained entries with a TTL: when none, pruning skips the scans. */
  private expiring = 0;

  /** Retained topics. */
  get retainedCount(): number {
    return this.retained.size;
  }
  get sessionCount(): number {
    return this.sessions.size;
  }
  /** Distinct QoS 1 messages pending for at least one session. */
  get messageCount(): number {
    return this.queued.size;
  }
  /** (session, message) pairs pending. */
  get deliveryCount(): number {
    return this.deliveries;
  }
  /** Journal bytes of the records that hold the live state: about what a snapshot takes. */
  get liveBytes(): number {
    return this.bytes;
  }

  /** Apply one record; `bytes` is its framed size, for {@link liveBytes}. */
  apply(r: JournalRecord, bytes: number): void {
    switch (r.type) {
      case 'retain':
        if (clearsRetained(r.message.payload)) this.unretain(r.message.topic);
        else {
          this.unretain(r.message.topic);
          this.retained.set(r.message.topic, { message: storedMessage(r.message), bytes });
          this.bytes += bytes;
          if (r.message.expiresAt !== 0) this.expiring++;
        }
        return;
      case 'unretain':
        this.unretain(r.topic);
        return;
      case 'session': {
        const s = this.session(r.clientId);
        s.patterns = [...r.patterns];
        s.expiresAt = r.expiresAt;
        this.bytes += bytes - s.bytes;
        s.bytes = bytes;
        return;
      }
      case 'session_end':
        this.endSession(r.clientId);
        return;
      case 'enqueue':
        this.enqueue(r.message, r.clientIds, bytes);
        return;
      case 'ack':
      case 'drop':
        this.settle(r.clientId, r.messageId);
        return;
    }
  }

  /**
   * Remove what has run out at `now`: messages past their TTL (retained or pending) and
   * detached sessions past their expiry. Replay calls this once at the end, so a message
   * that expired while the broker was down is not revived.
   */
  prune(now: number): Pruned {
    const out: Pruned = { messages: 0, retained: 0, sessions: 0 };
    for (const [clientId, s] of this.sessions) {
      if (s.expiresAt !== null && s.expiresAt <= now) {
        this.endSession(clientId);
        out.sessions++;
      }
    }
    if (this.expiring === 0) return out;
    for (const [id, q] of this.queued) {
      if (!isExpired(q.message, now)) continue;
      for (const c of q.clients) this.settle(c, id);
      out.messages++;
    }
    for (const [topic, r] of this.retained) {
      if (isExpired(r.message, now)) {
        this.unretain(topic);
        out.retained++;
      }
    }
    return out;
  }

  /**
   * The state as of now, for a snapshot: copies of references only, so the caller can
   * write it out at leisure while this state moves on (see {@link snapshotRecordsOf}).
   */
  capture(): SnapshotSource {
    const sessions: SessionRecord[] = [];
    for (const [clientId, s] of this.sessions) sessions.push({ type: 'session', clientId, patterns: s.patterns, expiresAt: s.expiresAt });
    return { sessions, queued: Array.from(this.queued.values()), retained: Array.from(this.retained.values()) };
  }

  /** The records that rebuild this state (all at once; compaction streams {@link capture} instead). */
  snapshotRecords(): JournalRecord[] {
    return [...snapshotRecordsOf(this.capture())];
  }

  /** A copy of the state for the broker: fresh maps and arrays, messages shared (immutable). */
  recovered(): RecoveredState {
    const retained = new Map<string, BrokerMessage>();
    for (const [topic, r] of this.retained) retained.set(topic, r.message);
    const sessions = new Map<string, RecoveredSession>();
    for (const [clientId, s] of this.sessions) {
      const pending: BrokerMessage[] = [];
      for (const id of s.pending) pending.push(this.queued.get(id)!.message);
      sessions.set(clientId, { clientId, patterns: [...s.patterns], expiresAt: s.expiresAt, pending });
    }
    return { retained, sessions };
  }

  private unretain(topic: string): void {
    const old = this.retained.get(topic);
    if (!old) return;
    this.bytes -= old.bytes;
    if (old.message.expiresAt !== 0) this.expiring--;
    this.retained.delete(topic);
  }

  /**
   * The session for `clientId`, created when missing. An `enqueue` for a session with no
   * `session` record (its record failed to write) still creates it: the message was
   * acknowledged to its publisher and must survive; without a known expiry, the broker
   * starts the session's expiry clock when it loads it.
   */
  private session(clientId: string): SessionEntry {
    let s = this.sessions.get(clientId);
    if (!s) {
      s = { patterns: [], expiresAt: null, pending: new Set(), bytes: 0 };
      this.sessions.set(clientId, s);
    }
    return s;
  }

  private endSession(clientId: string): void {
    const s = this.sessions.get(clientId);
    if (!s) return;
    for (const id of [...s.pending]) this.settle(clientId, id);
    this.bytes -= s.bytes;
    this.sessions.delete(clientId);
  }

  private enqueue(message: BrokerMessage, clientIds: readonly string[], bytes: number): void {
    const added: string[] = [];
    for (const c of clientIds) {
      const s = this.session(c);
      if (s.pending.has(message.id)) continue;
      s.pending.add(message.id);
      added.push(c);
      this.deliveries++;
    }
    if (added.length === 0) return;
    const old = this.queued.get(message.id);
    if (old) {
      this.queued.set(message.id, { ...old, clients: [...old.clients, ...added] });
      return;
    }
    this.queued.set(message.id, { message: storedMessage(message), clients: added, bytes });
    this.bytes += bytes;
    if (message.expiresAt !== 0) this.expiring++;
  }

  private settle(clientId: string, messageId: string): void {
    const s = this.sessions.get(clientId);
    if (!s?.pending.delete(messageId)) return;
    this.deliveries--;
    const q = this.queued.get(messageId)!;
    if (q.clients.length > 1) {
      this.queued.set(messageId, { ...q, clients: q.clients.filter((c) => c !== clientId) });
      return;
    }
    this.queued.delete(messageId);
    this.bytes -= q.bytes;
    if (q.message.expiresAt !== 0) this.expiring--;
  }
}
