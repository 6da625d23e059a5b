/**
 * What the federation needs of a distributed engine (NATS, MQTT): one adapter per engine,
 * loaded only when a broker federates (their client libraries cost memory and start-up).
 * Topics and patterns cross this interface in the broker's own form (dot-separated, `*`
 * `+` `#`); each adapter maps them to its engine's subjects.
 */

/** A message crossing the link, with the metadata that prevents loops. */
export interface LinkMessage {
  topic: string;
  payload: unknown;
  /** The client that published it, on the broker where it entered. */
  sender: string;
  /** The message id, kept across the link so receivers can tell duplicates. */
  id: string;
  qos: 0 | 1;
  timestamp: string;
  /**
   * The federation id of the broker where the message entered; `null` for a message from
   * a publisher that is not one of ours (a PLC speaking MQTT, a `nats pub`).
   */
  origin: string | null;
  /** Published with `retain`: the receiving broker keeps it as its topic's retained message (MQTT: the engine's retain flag). */
  retain?: boolean;
  /**
   * When its `ttl` runs out, on this broker's clock (ms since the epoch); absent for a
   * message that does not expire. The wire carries what is left of it (clocks of two PCs
   * need not agree), read at the moment it is sent ({@link remainingTtlMs}).
   */
  expiresAt?: number;
}

/**
 * Milliseconds `msg` has left to live now: undefined when it does not expire, 0 when it
 * has expired (it is then not sent: a message is never delivered late).
 */
export function remainingTtlMs(msg: LinkMessage, now = Date.now()): number | undefined {
  if (msg.expiresAt === undefined || msg.expiresAt === 0) return undefined;
  return Math.max(0, msg.expiresAt - now);
}

/** `expiresAt` for a message that arrived with `ttlMs` left to live: absent when the wire said none or not a positive number. */
export function expiryOfTtl(ttlMs: number | undefined, now = Date.now()): number | undefined {
  return ttlMs !== undefined && Number.isFinite(ttlMs) && ttlMs > 0 ? now + ttlMs : undefined;
}

/** How a request that crossed the link was answered. */
export type LinkReply = { ok: true; result: unknown } | { ok: false; code: number; message: string };

/** A request failed on the link side. `code`: what happened, for the requester's error. */
export class LinkRequestError extends Error {
  constructor(
    readonly code: 'no_responders' | 'timeout' | 'not_connected' | 'remote_error',
    message: string,
    readonly rpcCode?: number,
  ) {
    super(message);
    this.name = 'LinkRequestError';
  }
}

export interface LinkHandlers {
  /** A message arrived on one of the interest subscriptions. */
  message(msg: LinkMessage): void;
  /** A request arrived; `respond` answers it (once). */
  request(msg: LinkMessage, timeoutMs: number, respond: (reply: LinkReply) => void): void;
  /** Connected (first time and after every reconnect). */
  up(server: string): void;
  /** Lost the upstream; the adapter keeps reconnecting. */
  down(reason: string): void;
}

export interface UpstreamLink {
  /** The upstream's address without credentials, for logs and status. */
  readonly address: string;
  /** The engine's name: `nats` or `mqtt`. */
  readonly engine: string;
  /**
   * Whether a request's `respond` may be told "nobody here" (-32005) while the request is
   * handed over: true where the link tells requesters of ours so and keeps it from anyone
   * else (NATS); false where any reply is the answer (MQTT), so silence is the only way to
   * let another broker answer.
   */
  readonly toldNobodyHere: boolean;
  /** Start connecting (in the background; `handlers.up` says when). Never rejects for an unreachable upstream. */
  start(handlers: LinkHandlers): Promise<void>;
  /** Resolves once the upstream has accepted the message (it is on the engine's side). */
  publish(msg: LinkMessage): Promise<void>;
  /** Subscribe upstream to exactly these patterns (broker form), dropping the others. */
  setInterest(patterns: readonly string[]): void;
  /**
   * True once the upstream has acknowledged its subscription for `pattern` (one passed to
   * {@link setInterest}): from then on what is published upstream for it arrives here.
   * Between asking and the acknowledgement a publish is missed, as any engine's is before
   * its subscription.
   */
  isSubscribed(pattern: string): boolean;
  /** A request answered by someone upstream. */
  request(msg: LinkMessage, timeoutMs: number): Promise<LinkReply>;
  readonly connected: boolean;
  /** Exports not sent because they are larger than the upstream takes (counted as dropped). */
  readonly tooLarge: number;
  close(): Promise<void>;
}
