/** What a method handler can reach: the broker's parts, the calling connection, the params. */
import type { Logger } from '../log/logger.js';
import type { AckTracker } from './ack-tracker.js';
import type { Authenticator } from './auth/authenticator.js';
import type { AuthFailureLog } from './auth/failure-log.js';
import type { BrokerConfig } from './config.js';
import type { Connection } from './connection.js';
import type { Durability } from './durability.js';
import type { FaultInjector } from './faults.js';
import type { Federation } from './federation/federation.js';
import type { RequestTracker } from './request-tracker.js';
import type { RetainedStore } from './retained-store.js';
import type { Router } from './router.js';
import type { SessionStore } from './session-store.js';
import type { BrokerStats } from './stats.js';
import type { SystemEvents } from './system-events.js';

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly version: string;
  readonly startedAt: number;
  readonly sessions: SessionStore;
  readonly router: Router;
  readonly retained: RetainedStore;
  readonly requests: RequestTracker;
  readonly acks: AckTracker;
  readonly stats: BrokerStats;
  readonly system: SystemEvents;
  /** The federation while one is configured and the broker runs; null otherwise. */
  readonly federation: Federation | null;
  /** The journal's link while persistence is enabled and the broker runs; null otherwise. */
  readonly durability: Durability | null;
  readonly auth: Authenticator;
  readonly authFailures: AuthFailureLog;
  /** Set when the listener is reachable beyond loopback without credentials. */
  readonly exposureWarning: string | null;
  /** Test seam: throws where a test injects a failure, otherwise does nothing. */
  readonly fault: FaultInjector;
  /** Open sockets, connected or not. */
  connectionCount(): number;
  /** The address the broker listens on, for status output. */
  listening(): { host: string; port: number };
}

export interface CallContext {
  readonly broker: BrokerContext;
  readonly conn: Connection;
  /** Named params; positional params were mapped onto the method's names. */
  readonly params: Record<string, unknown>;
  /** True for a notification: the result is discarded. */
  readonly isNotification: boolean;
  /** Run `fn` right after the response is queued (or at once for a notification). */
  after(fn: () => void): void;
}

export interface MethodSpec {
  readonly name: string;
  /** Param names in positional order, so `params: [...]` works as the spec allows. */
  readonly params: readonly string[];
  /** False for `connect`, `ping` and `disconnect`, allowed before `connect`. */
  readonly requiresConnect: boolean;
  /**
   * True for `connect`: refused with -32600 on a connected socket, before its params are
   * looked at, since -32600 takes precedence over -32602.
   */
  readonly onlyBeforeConnect?: boolean;
  /**
   * Params the broker only passes on (a payload, a reply's result): the handler gets them
   * as `RawJson` when the frame took the fast path (call-scan.ts), or as values otherwise,
   * so it must accept both (`jsonValue()` reads either). `null` is always a plain `null`.
   */
  readonly rawParams?: readonly string[];
  handle(ctx: CallContext): unknown;
}
