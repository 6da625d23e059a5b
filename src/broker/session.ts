/**
 * A client's session: its subscriptions and QoS 1 state, which outlive any one TCP
 * connection for `session_expiry` seconds so a reconnecting client misses nothing.
 */
import type { LongTimeout } from '../protocol/long-timeout.js';
import type { Identity } from './auth/authenticator.js';
import type { Connection } from './connection.js';
import { Deque } from './deque.js';
import { MessageRecords } from './message-records.js';
import { isExpired, keepMessage, type BrokerMessage } from './message.js';

/** Until a connect says otherwise: the broker's own sessions and tests. */
const UNRESTRICTED: Identity = { name: 'anonymous', kind: 'anonymous', permissions: null };

/**
 * A reconnect's catch-up: the unacked messages to send again, and how many of them went;
 * the messages queued while offline are taken from the session's `offline` queue after them.
 */
export interface CatchUp {
  /** The connection it feeds; a catch-up of an earlier connection stops. */
  readonly conn: Connection;
  readonly redeliver: BrokerMessage[];
  next: number;
}

export class Session {
  readonly patterns = new Set<string>();
  /** QoS 1 messages handed to the connection and not yet acked, by message id. */
  readonly inflight = new MessageRecords<BrokerMessage>();
  /**
   * QoS 1 messages that arrived while no connection was attached, and any that arrived
   * during a reconnect's catch-up (QoS 0 too), waiting behind it.
   */
  readonly offline = new Deque<BrokerMessage>();
  connection: Connection | null = null;
  /**
   * A reconnect's catch-up while it lasts (see Router.resume): new messages for the
   * session queue in `offline`, behind what it has still to send.
   */
  catchUp: CatchUp | null = null;
  clientType = 'unknown';
  /**
   * Who the client authenticated as on its latest connect; its permissions also decide
   * what is queued for it while it is offline.
   */
  identity: Identity = UNRESTRICTED;
  /** When the session was created, for status output. */
  readonly createdAt = Date.now();
  expiryTimer: LongTimeout | null = null;

  /** Drops since the last `system.client.slow` event, and since the session began. */
  /**
   * Persistence only: the journal has heard of this session (a `session` or `enqueue`
   * record was appended for it), so its detach and end must be journaled too. A client
   * that never subscribes costs no journal record.
   */
  durable = false;
  /**
   * Persistence only: the last step of this client's publishes that wait for the journal.
   * While set, every later publish of the client, QoS 0 included, is routed behind it, so
   * one publisher's messages still reach each subscriber in publish order.
   */
  publishChain: Promise<void> | null = null;
  /**
   * Persistence only: steps in `publishChain` that change the client's subscriptions, or
   * that wait for such a change; while any is there, a QoS 1 publish of the client chooses
   * its sessions when its turn comes, not when it arrives (see publish-chain.ts).
   */
  targetMovesChained = 0;

  droppedSinceEvent = 0;
  totalDropped = 0;
  lastSlowEventAt = 0;
  slowTimer: NodeJS.Timeout | null = null;

  constructor(readonly clientId: string) {}

  get isOnline(): boolean {
    return this.connection !== null;
  }

  /**
   * Deliveries waiting for the client: in its connection's queue, and in `offline` (all
   * of them while it is away; during a reconnect's catch-up, what is still to be given).
   */
  get queued(): number {
    return (this.connection?.outbound.queuedDeliveries ?? 0) + this.offline.length;
  }

  /**
   * Remember a QoS 1 message sent to the connection until it is acked. A client that
   * never acks (AutoHotkey clients rarely do) must not grow this without bound: past
   * `limit` the oldest unacked message is forgotten, losing only its redelivery.
   * @returns the message forgotten, if one was (the journal must forget it too)
   */
  trackInflight(msg: BrokerMessage, limit: number): BrokerMessage | undefined {
    this.inflight.set(msg, keepMessage(msg));
    if (this.inflight.size <= limit) return undefined;
    return this.inflight.shift();
  }

  /**
   * Queue a QoS 1 message for a disconnected session. Expired messages at the head are
   * purged first (`onExpired` is told of each); when still full, the new message is
   * refused (returns false).
   */
  queueOffline(msg: BrokerMessage, limit: number, onExpired: (msg: BrokerMessage, session: Session) => void, now: number = Date.now()): boolean {
    while (this.offline.length > 0 && isExpired(this.offline.peek()!, now)) onExpired(this.offline.shift()!, this);
    if (this.offline.length + this.inflight.size >= limit) return false;
    this.offline.push(keepMessage(msg));
    return true;
  }

  /** Clear the timers this session owns. */
  dispose(): void {
    this.expiryTimer?.cancel();
    if (this.slowTimer) clearTimeout(this.slowTimer);
    this.expiryTimer = null;
    this.slowTimer = null;
  }
}
