/**
 * What the session store and the router tell the journal when persistence is on: the
 * moments a session or one of its QoS 1 messages changes without a client call (a
 * disconnect, an expiry, a limit). Client calls (`publish`, `ack`, `subscribe`, `connect`)
 * reach {@link Durability} from their handlers. Null when persistence is off, so the
 * paths that call it pay one null check, and only where a message is dropped.
 */
import type { BrokerMessage } from './message.js';
import type { Session } from './session.js';

export interface SessionJournal {
  /** A QoS 1 message left `session` without an ack (inflight limit, full queue, TTL). */
  dropped(session: Session, msg: BrokerMessage): void;
  /** `session` lost its connection and is kept until `expiresAt` (epoch ms). */
  detached(session: Session, expiresAt: number): void;
  /** `session` is gone (expiry, `clean_session`, nothing left to resume), with its messages. */
  ended(session: Session): void;
}
