/**
 * What the broker journals when (issue 11): the one place that turns broker events into
 * journal records, rebuilds the broker's state from the journal at start, and reports
 * what is stored. The journal itself (src/broker/persistence/) knows nothing of sessions
 * or connections; the broker's parts know nothing of records.
 *
 * | broker event | record | awaited? |
 * |---|---|---|
 * | QoS 1 `publish` routed to sessions | `enqueue` with their ids | yes: the publisher's answer waits (durable-publish.ts) |
 * | retained `publish` (any QoS) | `retain`, or `unretain` for a clearing payload | yes |
 * | `ack` of an in-flight message | `ack` | no |
 * | a QoS 1 message leaves a session unacked: inflight limit, full queue, TTL | `drop` | no |
 * | `subscribe` / `unsubscribe` | `session` with the patterns, `expiresAt: null` | no |
 * | a known session gets a connection | `session`, `expiresAt: null` | no |
 * | its connection goes | `session`, `expiresAt` = now + session_expiry | no |
 * | expiry, `clean_session`, nothing left to resume | `session_end` | no |
 *
 * Records that are not awaited still reach the disk in order with the awaited ones (the
 * journal writes in append order), so a subscription made before a QoS 1 publish is
 * durable once that publish is answered. One that fails is logged (a WARNING per cause
 * and minute) and costs what it recorded: a lost `ack` means one more redelivery after a
 * restart, a lost `drop` or `session_end` brings back what was let go, a lost `session`
 * the latest change of patterns.
 *
 * At shutdown nothing is recorded for the sessions the shutdown itself detaches: the
 * broker is stopping, not the clients leaving, so they are restored as attached (see
 * {@link Durability.restore}) exactly as after a crash.
 */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import type { Logger } from '../log/logger.js';
import { WarningBudgets } from '../log/warning-budget.js';
import type { AckTracker } from './ack-tracker.js';
import type { Identity } from './auth/authenticator.js';
import type { BrokerConfig } from './config.js';
import { isExpired, keepMessage, type BrokerMessage } from './message.js';
import { Journal, PersistenceError, type JournalFs, type JournalRecord, type RecoveredState } from './persistence/index.js';
import { clearsRetained, type RetainedStore } from './retained-store.js';
import { Session } from './session.js';
import type { SessionJournal } from './session-journal.js';
import type { SessionStore } from './session-store.js';
import { SYSTEM_SENDER } from './system-events.js';

/** One WARNING per kind of failure and error code in this interval; the rest at debug. */
const WARN_INTERVAL_MS = 60_000;

/** What {@link Durability.restore} rebuilds. */
export interface RestoreTargets {
  sessions: SessionStore;
  retained: RetainedStore;
  acks: AckTracker;
  /** Who a restored session's client is until it connects again (see `Authenticator.presumedIdentity`). */
  identityOf(clientId: string): Identity;
}

/** The broker's link to its journal; exists only while persistence is enabled. */
export class Durability implements SessionJournal {
  private shuttingDown = false;
  private readonly warnings: WarningBudgets;

  private constructor(
    private readonly journal: Journal,
    private readonly retained: RetainedStore,
    private readonly sessionExpiryMs: number,
    private readonly log: Logger,
  ) {
    this.warnings = new WarningBudgets(log, 1, WARN_INTERVAL_MS);
  }

  /**
   * Lock and read the persistence directory.
   * @throws PersistenceError `LOCKED` when another broker holds the directory (its
   *   message names the directory and the owner's pid); a system code when it cannot be
   *   created or read
   */
  static async open(
    config: BrokerConfig,
    retained: RetainedStore,
    log: Logger,
    fs?: JournalFs,
  ): Promise<{ durability: Durability; state: RecoveredState }> {
    const dir = config.persistence_path!;
    const { journal, state } = await Journal.open({ dir, fsync: config.persistence_fsync, log: log.child('persistence'), ...(fs ? { fs } : {}) });
    return { durability: new Durability(journal, retained, config.session_expiry * 1000, log), state };
  }

  /**
   * Rebuild the broker's state from what the journal recovered: retained messages, and
   * sessions with their patterns, pending QoS 1 messages and expiry. A session that was
   * attached when the broker stopped or crashed (`expiresAt: null`) had handed every
   * pending message to its connection, so they are restored as in flight and go out
   * again with `redelivered: true`; its expiry clock starts now, with the full
   * `session_expiry`, and that is journaled so a crash loop cannot keep it forever. A
   * detached session's messages wait in its offline queue, and it expires when it would
   * have. Messages a detached session had in flight when it detached cannot be told from
   * those queued after (the journal records no deliveries: that would be a write per
   * delivery), so after a restart they come without the `redelivered` flag.
   */
  restore(state: RecoveredState, into: RestoreTargets): { retained: number; sessions: number; messages: number } {
    const now = Date.now();
    let retained = 0;
    for (const msg of state.retained.values()) {
      if (isExpired(msg, now)) continue; // ran out between recovery and now: the TTL wins
      into.retained.set(msg);
      retained++;
    }
    const routedTo = new Map<string, string[]>();
    let sessions = 0;
    let messages = 0;
    for (const r of state.sessions.values()) {
      if (r.patterns.length === 0 && r.pending.length === 0) {
        this.append({ type: 'session_end', clientId: r.clientId }, 'ending an empty restored session');
        continue;
      }
      const session = new Session(r.clientId);
      session.durable = true;
      session.identity = into.identityOf(r.clientId);
      for (const p of r.patterns) session.patterns.add(p);
      for (const msg of r.pending) {
        if (r.expiresAt === null) session.inflight.setById(msg.id, msg);
        else session.offline.push(msg);
        const ids = routedTo.get(msg.id);
        if (ids) ids.push(r.clientId);
        else routedTo.set(msg.id, [r.clientId]);
        messages++;
      }
      let expiresAt = r.expiresAt;
      if (expiresAt === null) {
        expiresAt = now + this.sessionExpiryMs;
        this.append({ type: 'session', clientId: r.clientId, patterns: r.patterns, expiresAt }, 'recording a restored session');
      }
      into.sessions.adopt(session, Math.max(0, expiresAt - now));
      sessions++;
    }
    for (const [id, clientIds] of routedTo) into.acks.trackById(id, clientIds);
    return { retained, sessions, messages };
  }

  /**
   * Journal what a publish changes: `enqueue` for `targets` (a QoS 1 message) and the
   * retained topic. Resolves to null once durable, or to the -32004 error the publisher
   * gets; never rejects, so a chained publish can wait on it without an unhandled
   * rejection. Null (nothing to wait for) when nothing needs journaling.
   */
  storePublish(msg: BrokerMessage, targets: readonly Session[] | null, retain: boolean): Promise<RpcError | null> | null {
    keepMessage(msg); // records hold the message until they are applied
    let enqueued: Promise<void> | null = null;
    let clientIds: string[] = [];
    if (targets !== null && targets.length > 0) {
      clientIds = targets.map((s) => s.clientId);
      for (const s of targets) s.durable = true; // the journal knows them now: their detach and end count
      enqueued = this.journal.append({ type: 'enqueue', message: msg, clientIds });
    }
    let kept: Promise<void> | null = null;
    const previous = retain ? this.retained.get(msg.topic) : undefined;
    if (retain) kept = this.journal.append(clearsRetained(msg.payload) ? { type: 'unretain', topic: msg.topic } : { type: 'retain', message: msg });
    if (enqueued === null && kept === null) return null;
    if (enqueued === null || kept === null) {
      return (enqueued ?? kept)!.then(
        () => null,
        (err: unknown) => this.refused(err, msg),
      );
    }
    return Promise.allSettled([enqueued, kept]).then(([e, k]) => {
      if (e.status === 'fulfilled' && k.status === 'fulfilled') return null;
      // One of the two reached the disk (they are two writes under fsync `always`): the
      // publisher is told the publish failed, so take that half back.
      if (e.status === 'fulfilled') for (const clientId of clientIds) this.append({ type: 'drop', clientId, messageId: msg.id }, 'taking back a failed publish');
      if (k.status === 'fulfilled') {
        const undo: JournalRecord = previous ? { type: 'retain', message: previous } : { type: 'unretain', topic: msg.topic };
        this.append(undo, 'taking back a failed retained publish');
      }
      return this.refused(e.status === 'rejected' ? e.reason : (k as PromiseRejectedResult).reason, msg);
    });
  }

  /**
   * Journal a session's pattern set before a `subscribe` is answered. Resolves to null
   * once durable, or to the -32003 error the subscriber gets; never rejects.
   */
  storePatterns(session: Session, patterns: readonly string[]): Promise<RpcError | null> {
    session.durable = true;
    return this.journal.append({ type: 'session', clientId: session.clientId, patterns: [...patterns], expiresAt: null }).then(
      () => null,
      (err: unknown) => {
        const e = this.warn('subscribe', err, 'subscribe refused: the journal cannot store it', { client_id: session.clientId });
        return new RpcError(ErrorCode.SUBSCRIPTION_ERROR, `Subscribe failed: the subscription could not be stored (${e.reason})`, { reason: e.reason, code: e.code });
      },
    );
  }

  /** The client acked an in-flight message. */
  acked(session: Session, messageId: string): void {
    if (session.durable) this.append({ type: 'ack', clientId: session.clientId, messageId }, 'recording an ack');
  }

  /** The session's patterns changed (`subscribe`, `unsubscribe`: it is attached). */
  patternsChanged(session: Session): void {
    session.durable = true;
    this.append({ type: 'session', clientId: session.clientId, patterns: [...session.patterns], expiresAt: null }, 'recording a subscription');
  }

  /** A connection took the session: it no longer expires. */
  attached(session: Session): void {
    if (session.durable) this.append({ type: 'session', clientId: session.clientId, patterns: [...session.patterns], expiresAt: null }, 'recording a reconnect');
  }

  /** {@inheritDoc SessionJournal.detached} */
  detached(session: Session, expiresAt: number): void {
    if (this.shuttingDown || !session.durable) return;
    this.append({ type: 'session', clientId: session.clientId, patterns: [...session.patterns], expiresAt }, 'recording a disconnect');
  }

  /** {@inheritDoc SessionJournal.ended} */
  ended(session: Session): void {
    if (this.shuttingDown || !session.durable) return;
    session.durable = false;
    this.append({ type: 'session_end', clientId: session.clientId }, 'recording the end of a session');
  }

  /** {@inheritDoc SessionJournal.dropped} */
  dropped(session: Session, msg: BrokerMessage): void {
    // Only clients' QoS 1 messages are journaled; the broker's own events never are.
    if (msg.qos !== 1 || msg.sender === SYSTEM_SENDER || !session.durable) return;
    this.append({ type: 'drop', clientId: session.clientId, messageId: msg.id }, 'recording a dropped message');
  }

  /** The `persistence` object of `status`. */
  status(): Record<string, unknown> {
    const s = this.journal.stats();
    const c = s.lastCompaction;
    return {
      enabled: true,
      path: s.dir,
      fsync: s.fsync,
      retained: s.retained,
      sessions: s.sessions,
      messages: s.messages,
      pending_deliveries: s.pendingDeliveries,
      bytes: s.diskBytes,
      live_bytes: s.liveBytes,
      files: s.files,
      appends: s.appends,
      failed_appends: s.failedAppends,
      compacting: s.compacting,
      last_compaction: c && { at: c.at, duration_ms: c.durationMs, bytes_before: c.diskBytesBefore, bytes_after: c.diskBytesAfter },
      last_error: s.lastError,
    };
  }

  /** From now on the sessions that lose their connection are being shut down, not left. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** Write what was appended, close the journal and release the directory's lock. */
  close(): Promise<void> {
    this.shuttingDown = true;
    return this.journal.close();
  }

  /** Append without waiting; a failure is logged (see the module comment for its cost). */
  private append(record: JournalRecord, doing: string): void {
    this.journal.append(record).catch((err: unknown) => this.warn(doing, err, 'journal append failed; the change is not persistent', { record: record.type }));
  }

  /** The publisher's -32004 for a failed append, and the (rate-limited) WARNING. */
  private refused(err: unknown, msg: BrokerMessage): RpcError {
    const e = this.warn('publish', err, 'publish refused: the journal cannot store it, so it is neither stored nor delivered', {
      topic: msg.topic, qos: msg.qos, sender: msg.sender,
    });
    return new RpcError(ErrorCode.PUBLISH_ERROR, `Publish failed: the message could not be stored (${e.reason})`, { reason: e.reason, code: e.code });
  }

  /** Log a failed append: a WARNING per `what` and error code per minute, the repeats at debug. */
  private warn(what: string, err: unknown, text: string, fields: Record<string, unknown>): PersistenceError {
    if (!(err instanceof PersistenceError)) {
      // The journal rejects with PersistenceError only; anything else is a bug to see.
      this.log.error(`${text} (unexpected error)`, { doing: what, ...fields, error: err as Error, stack: (err as Error)?.stack });
      return new PersistenceError('EOTHER', (err as Error)?.message ?? String(err), { cause: err });
    }
    this.warnings.warning(`${what}\0${err.code}`, text, { doing: what, code: err.code, reason: err.reason, ...fields });
    return err;
  }
}
