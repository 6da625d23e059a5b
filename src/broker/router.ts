/**
 * Routes messages to sessions: online ones get the shared delivery frame on their
 * outbound queue, offline ones queue QoS 1 messages until they return or expire.
 * Each session gets a message once, however many of its patterns match, because the
 * subscription index returns each subscriber once.
 */
import { NO_TARGETS, withTarget, type AckTracker } from './ack-tracker.js';
import { mayReceive } from './auth/enforce.js';
import { isExpired, type BrokerMessage, type DeliveryFlags } from './message.js';
import type { CatchUp, Session } from './session.js';
import { expectSeveral } from './shared-frame.js';
import type { MessageObserver } from './monitor/message-observer.js';
import type { SessionJournal } from './session-journal.js';
import type { SessionStore } from './session-store.js';
import type { SlowConsumerMonitor } from './slow-consumer.js';
import type { BrokerStats } from './stats.js';

const REDELIVERED: DeliveryFlags = { redelivered: true };
/** A publish's options: none (a literal per call was an object per message). */
const NO_OPTIONS: RouteOptions = Object.freeze({});

/** Whether `session` has a connection that is not closing: one deliveries can be handed to. */
const isConnected = (session: Session): boolean => session.connection !== null && !session.connection.isClosing;

/** Whether `session`'s connection is still being given what it missed (see Router.resume). */
const isCatchingUp = (session: Session): boolean => {
  const up = session.catchUp;
  return up !== null && up.conn === session.connection && !up.conn.isClosing;
};

export interface RouteOptions {
  /** Do not deliver to this session (a requester does not answer itself). */
  exclude?: Session;
  /** Deliver only to connected sessions (requests). */
  onlineOnly?: boolean;
}

export class Router {
  /** Told of QoS 1 messages that leave a session unacked, when persistence is on. */
  journal: SessionJournal | null = null;
  /** See every routed message: the status page's monitor, the federation; none by default. */
  readonly observers: MessageObserver[] = [];

  constructor(
    private readonly sessions: SessionStore,
    private readonly acks: AckTracker,
    private readonly slow: SlowConsumerMonitor,
    private readonly stats: BrokerStats,
    private readonly maxQueueSize: number,
  ) {}

  /**
   * Route `msg` to every matching session. Returns the number of sessions it was routed
   * to: connected ones, plus (QoS 1) offline ones that queued it.
   */
  route(msg: BrokerMessage, options: RouteOptions = NO_OPTIONS): number {
    const observers = this.observers;
    for (let i = 0; i < observers.length; i++) observers[i]!.seen(msg);
    const matched = this.sessions.index.match(msg.topic);
    if (matched.length > 1) expectSeveral(msg);
    let delivered = 0;
    const tracked = msg.qos === 1 && msg.sender !== 'broker';
    // The sessions it reached, for the ack tracker (see Targets).
    let routedTo: string | string[] | null = null;
    for (let i = 0; i < matched.length; i++) {
      const session = matched[i]!;
      if (session === options.exclude) continue;
      // Nothing reaches a client outside its subscribe permission, whatever it subscribed.
      if (!mayReceive(session, msg.topic)) continue;
      let ok = false;
      const catchingUp = isCatchingUp(session);
      // A request is answered now or never: it goes past a catch-up, as past any queue.
      if (isConnected(session) && (!catchingUp || options.onlineOnly)) {
        ok = this.send(session, msg);
      } else if ((msg.qos === 1 || catchingUp) && !options.onlineOnly) {
        ok = session.queueOffline(msg, this.maxQueueSize, this.countExpired);
        if (!ok) this.slow.recordDrop(session);
      }
      if (ok) {
        delivered++;
        if (tracked) routedTo = withTarget(routedTo, session.clientId);
      }
    }
    if (matched.length > 1) expectSeveral(null);
    if (tracked) this.acks.track(msg, routedTo ?? NO_TARGETS);
    return delivered;
  }

  /**
   * True when a request `msg` from `sender` has someone to reach now: a connected
   * session other than the sender's, subscribed and allowed to receive it (whom
   * {@link route} with `onlineOnly` hands it to, unless it expired or a queue refused it).
   */
  reachesAnyone(msg: BrokerMessage, sender: Session): boolean {
    return this.targets(msg).some((session) => session !== sender && isConnected(session));
  }

  /**
   * The sessions a QoS 1 `msg` would be routed to now: what the journal's `enqueue`
   * record lists before {@link routeTo} delivers it (see durable-publish.ts).
   */
  targets(msg: BrokerMessage): Session[] {
    const matched = this.sessions.index.match(msg.topic);
    const out: Session[] = [];
    for (let i = 0; i < matched.length; i++) {
      const session = matched[i]!;
      if (mayReceive(session, msg.topic)) out.push(session);
    }
    return out;
  }

  /**
   * Route a journaled QoS 1 `msg` to `targets`, chosen by {@link targets} when it was
   * published; a session that cannot take it now (its queue is full, the message
   * expired) is told to the journal as a drop. A session discarded meanwhile is skipped:
   * its `session_end` record came after the `enqueue` and settled it.
   * @returns the number of sessions it was routed to, like {@link route}
   */
  routeTo(msg: BrokerMessage, targets: readonly Session[]): number {
    const observers = this.observers;
    for (let i = 0; i < observers.length; i++) observers[i]!.seen(msg);
    if (targets.length > 1) expectSeveral(msg);
    let delivered = 0;
    let routedTo: string | string[] | null = null;
    for (const session of targets) {
      if (this.sessions.get(session.clientId) !== session) continue;
      let ok: boolean;
      if (isConnected(session) && !isCatchingUp(session)) {
        ok = this.send(session, msg);
      } else {
        ok = session.queueOffline(msg, this.maxQueueSize, this.countExpired);
        if (!ok) this.slow.recordDrop(session);
      }
      if (ok) {
        delivered++;
        routedTo = withTarget(routedTo, session.clientId);
      } else {
        this.journal?.dropped(session, msg);
      }
    }
    if (targets.length > 1) expectSeveral(null);
    this.acks.track(msg, routedTo ?? NO_TARGETS);
    return delivered;
  }

  /** Hand `msg` to `session`'s connection. False when expired or refused by the queue policy. */
  send(session: Session, msg: BrokerMessage, flags?: DeliveryFlags): boolean {
    const conn = session.connection;
    if (!conn || isExpired(msg)) return false;
    if (!conn.outbound.sendDelivery(msg, flags)) return false;
    if (msg.qos === 1) {
      const forgotten = session.trackInflight(msg, this.maxQueueSize);
      if (forgotten !== undefined) this.journal?.dropped(session, forgotten);
    }
    this.stats.deliveries++;
    return true;
  }

  /**
   * After a reconnect: first the QoS 1 messages sent before and never acked (flagged
   * `redelivered`), then those queued while the session was offline, in order, and then
   * what arrived meanwhile. They are given to the connection only while it takes them
   * straight to the socket, the rest as it drains: at once they could pass the output
   * limit, which closed the connection and lost what was still to go, at every reconnect.
   */
  resume(session: Session): void {
    const conn = session.connection;
    if (!conn) return;
    const up: CatchUp = { conn, redeliver: [...session.inflight.values()], next: 0 };
    session.catchUp = up;
    this.catchUp(session, up);
  }

  /** Give `up`'s messages to its connection until it has no room, then wait for room. */
  private catchUp(session: Session, up: CatchUp): void {
    const conn = up.conn;
    // A takeover or a closed connection ends it; the next connect starts over.
    if (session.catchUp !== up || session.connection !== conn || conn.isClosing) return;
    const out = conn.outbound;
    const now = Date.now();
    const resume = (): void => this.catchUp(session, up);
    while (up.next < up.redeliver.length) {
      if (!out.takesMore) return out.whenWritable(resume);
      const msg = up.redeliver[up.next++]!;
      // Acked since (it may have been delivered before the reconnect's answer was read).
      if (session.inflight.get(msg.id) === undefined) continue;
      if (isExpired(msg, now)) {
        session.inflight.deleteMessage(msg);
        this.countExpired(msg, session);
        continue;
      }
      if (out.sendDelivery(msg, REDELIVERED)) this.stats.deliveries++;
    }
    while (session.offline.length > 0) {
      if (!out.takesMore) return out.whenWritable(resume);
      const msg = session.offline.shift()!;
      if (isExpired(msg, now)) this.countExpired(msg, session);
      else if (!this.send(session, msg)) this.journal?.dropped(session, msg);
    }
    session.catchUp = null;
  }

  /** An expired message was dropped before delivery (`expired_count` in `status`). */
  private readonly countExpired = (msg: BrokerMessage, session: Session): void => {
    this.stats.expired++;
    if (msg.qos === 1) this.journal?.dropped(session, msg);
  };

  /**
   * Deliver retained messages to a new subscription, flagged `retained`. One message that
   * fails is reported to `onError` and skipped; the others are still delivered.
   */
  sendRetained(session: Session, messages: readonly BrokerMessage[], beforeEach: () => void, onError: (msg: BrokerMessage, err: unknown) => void): void {
    for (const msg of messages) {
      try {
        beforeEach();
        // A QoS 1 replay awaits this client's ack as a routed message would.
        if (this.send(session, msg, { retained: true }) && msg.qos === 1) this.acks.addTarget(msg.id, session.clientId);
      } catch (err) {
        onError(msg, err);
      }
    }
  }
}
