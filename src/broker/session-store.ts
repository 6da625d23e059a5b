/**
 * Every session by client id, and the subscription index that routes to them. A session
 * outlives its connection for `session_expiry` seconds; then its subscriptions go too.
 */
import type { Logger } from '../log/logger.js';
import type { AckTracker } from './ack-tracker.js';
import type { Connection } from './connection.js';
import { LongTimeout } from '../protocol/long-timeout.js';
import { Session } from './session.js';
import type { SessionJournal } from './session-journal.js';
import { SubscriptionIndex } from './subscription-index.js';

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  readonly index = new SubscriptionIndex<Session>();
  /** Told of detaches and ends when persistence is on (set by the broker at start). */
  journal: SessionJournal | null = null;
  /** Told when the set of subscribed patterns may have changed (federation interest). */
  onInterestChange: (() => void) | null = null;

  constructor(
    private readonly sessionExpirySeconds: number,
    private readonly acks: AckTracker,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get(clientId: string): Session | undefined {
    return this.sessions.get(clientId);
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Connected sessions. */
  get onlineCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.isOnline) n++;
    return n;
  }

  /**
   * The session for `clientId`, reused unless `clean` asks for a fresh one. The caller
   * has already closed any connection that held it.
   */
  open(clientId: string, clean: boolean): { session: Session; present: boolean } {
    let session = this.sessions.get(clientId);
    if (session && clean) {
      this.discard(session);
      session = undefined;
    }
    if (session) {
      session.expiryTimer?.cancel();
      session.expiryTimer = null;
      return { session, present: true };
    }
    session = new Session(clientId);
    this.sessions.set(clientId, session);
    return { session, present: false };
  }

  subscribe(session: Session, pattern: string): void {
    session.patterns.add(pattern);
    this.index.add(pattern, session);
    this.onInterestChange?.();
  }

  unsubscribe(session: Session, pattern: string): boolean {
    if (!session.patterns.delete(pattern)) return false;
    this.index.remove(pattern, session);
    this.onInterestChange?.();
    return true;
  }

  /** The connection went away: keep the session until it expires. */
  detach(session: Session, conn: Connection): void {
    if (session.connection !== conn) return; // already taken over by a newer connection
    session.connection = null;
    // A session without subscriptions or messages holds nothing a reconnect could resume;
    // keeping it would let every one-shot client (a `bridge pub`, a script that publishes
    // once) linger in memory and in `status` for session_expiry.
    const empty = session.patterns.size === 0 && session.inflight.size === 0 && session.offline.length === 0;
    if (this.sessionExpirySeconds === 0 || empty) {
      this.discard(session);
      return;
    }
    const ms = this.sessionExpirySeconds * 1000;
    this.journal?.detached(session, Date.now() + ms);
    this.startExpiry(session, ms);
  }

  /**
   * Take in a session rebuilt from the journal at start: index its patterns and let it
   * expire in `expiresInMs` unless a client attaches first.
   */
  adopt(session: Session, expiresInMs: number): void {
    this.sessions.set(session.clientId, session);
    for (const p of session.patterns) this.index.add(p, session);
    this.onInterestChange?.();
    this.startExpiry(session, expiresInMs);
  }

  private startExpiry(session: Session, ms: number): void {
    // A LongTimeout: a session may be kept longer than Node's timers can wait.
    session.expiryTimer = new LongTimeout(
      () => {
        this.log.debug('session expired', { client_id: session.clientId, queued: session.offline.length, unacked: session.inflight.size });
        this.discard(session);
      },
      ms,
      true,
    );
  }

  /**
   * Remove a session, its subscriptions and its queued messages. `journaled: false` at
   * shutdown: the broker is stopping, the session is not ending, and the journal must
   * keep it for the next start.
   */
  discard(session: Session, journaled = true): void {
    if (journaled) this.journal?.ended(session);
    session.dispose();
    for (const p of session.patterns) this.index.remove(p, session);
    if (session.patterns.size > 0) this.onInterestChange?.();
    session.patterns.clear();
    // At shutdown the session is not ending and the tracker goes with the broker: telling it
    // made an id string for each of up to max_queue_size unacked messages, for nothing.
    if (journaled) this.acks.forgetClient([...session.inflight.keys(), ...[...session.offline].map((m) => m.id)], session.clientId);
    session.inflight.clear();
    session.offline.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  /** Drop every session from memory (shutdown); the journal keeps them. */
  clear(): void {
    for (const s of [...this.sessions.values()]) this.discard(s, false);
  }
}
