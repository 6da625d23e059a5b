/**
 * A message inside the broker: what was published, and the delivery frames it needs kept
 * (a retained copy's, a large fan-out's). A plain frame is written once per message,
 * never per subscriber: in parts for one connection, once for several (shared-frame.ts),
 * once into the frame store for queues (queued-frame.ts).
 */
import { keepJson } from '../protocol/raw-json.js';
import { isoTimestamp } from '../protocol/timestamp.js';
import { buildDeliveryFrame, type FrameFlags } from './delivery-frame.js';
import { currentIdSpace, nextMessageSeq, type IdSpace } from './message-id.js';
import { messageClock } from './read-clock.js';

export interface BrokerMessage {
  readonly id: string;
  readonly topic: string;
  /**
   * The payload: a value, or a {@link RawJson} (the bytes the publisher sent, still
   * unparsed; `jsonValue()` gives the value, and `JSON.stringify` serialises either).
   */
  readonly payload: unknown;
  readonly sender: string;
  readonly timestamp: string;
  readonly qos: 0 | 1;
  /** Epoch ms after which the message must not be delivered; 0 = never expires. */
  readonly expiresAt: number;
  /** Set on `request` deliveries: the token a responder passes to `reply`. */
  readonly replyTo?: string;
  /**
   * Set on messages that came from a federation upstream: the federation id of the
   * broker where they entered (`upstream` for a foreign publisher). Never exported again.
   */
  readonly origin?: string;
  /**
   * Set on messages this broker created: their id as a number in an id space, which
   * delivery frames write as bytes without making the id string (message-id.ts).
   */
  readonly idSeq?: number;
  readonly idSpace?: IdSpace;
  /** Published with `retain` (federation carries the flag across). */
  readonly retain?: boolean;
  /** Lazily built frames, one per flag combination actually needed. */
  frame?: Buffer;
  retainedFrame?: Buffer;
}

/** Delivery flags that vary per recipient. */
export type DeliveryFlags = FrameFlags;

/**
 * No flags: a plain delivery. Queues tell a plain delivery by this very object, so callers
 * without flags pass it (or nothing) rather than a fresh `{}`.
 */
export const NO_FLAGS: Readonly<DeliveryFlags> = {};

/** True when the message's TTL has run out at `now`. */
export function isExpired(msg: BrokerMessage, now?: number): boolean {
  // Most messages have no TTL: skip the clock read for them (it showed in profiles).
  return msg.expiresAt !== 0 && (now ?? Date.now()) >= msg.expiresAt;
}

/** The delivery frame for `msg` with `flags`, cached for the common combinations. */
export function deliveryFrame(msg: BrokerMessage, flags: DeliveryFlags = NO_FLAGS): Buffer {
  if (flags.redelivered) return buildDeliveryFrame(msg, flags); // rare: not worth caching
  if (flags.retained) return (msg.retainedFrame ??= buildDeliveryFrame(msg, flags));
  return (msg.frame ??= buildDeliveryFrame(msg, flags));
}

let lastStampMs = -1;
let lastStamp = '';

/** The contract's timestamp for now; computed at most once per millisecond under load. */
export function nowTimestamp(ms: number): string {
  if (ms !== lastStampMs) {
    lastStampMs = ms;
    lastStamp = isoTimestamp(ms);
  }
  return lastStamp;
}

export interface NewMessage {
  topic: string;
  payload: unknown;
  sender: string;
  qos?: 0 | 1;
  /** Seconds; 0 or absent = never expires. */
  ttl?: number;
  replyTo?: string;
  retain?: boolean;
}

/** A message published here: its id string is made on first use (most never need it). */
class LocalMessage implements BrokerMessage {
  private idText: string | undefined = undefined;
  readonly idSpace: IdSpace;
  readonly idSeq: number;
  frame?: Buffer = undefined;
  retainedFrame?: Buffer = undefined;

  constructor(
    readonly topic: string,
    readonly payload: unknown,
    readonly sender: string,
    readonly timestamp: string,
    readonly qos: 0 | 1,
    readonly expiresAt: number,
    readonly replyTo: string | undefined,
    readonly retain: boolean | undefined,
  ) {
    this.idSpace = currentIdSpace();
    this.idSeq = nextMessageSeq();
  }

  get id(): string {
    return (this.idText ??= this.idSpace.format(this.idSeq));
  }
}

/** Stamp a new message with an id, a timestamp and its expiry time (from the read it came in: read-clock.ts). */
export function createMessage(m: NewMessage, now: number = messageClock()): BrokerMessage {
  const ttl = m.ttl ?? 0;
  return new LocalMessage(
    m.topic,
    m.payload,
    m.sender,
    nowTimestamp(now),
    m.qos ?? 0,
    ttl > 0 ? now + ttl * 1000 : 0,
    m.replyTo,
    m.retain === true ? true : undefined,
  );
}

/**
 * {@link createMessage} for a plain message (QoS 0, no TTL, no reply address, not
 * retained), without the description object: one publish notification after another
 * takes this path.
 */
export function createPlainMessage(topic: string, payload: unknown, sender: string): BrokerMessage {
  return new LocalMessage(topic, payload, sender, nowTimestamp(messageClock()), 0, 0, undefined, undefined);
}

/**
 * Call before keeping `msg` past the handling of the frame it came in (a retained
 * message, an offline queue, a journal record): a raw payload that still borrows the
 * received bytes gets its own copy. Routing needs none: it copies the bytes into the
 * outgoing frames while they are valid.
 */
export function keepMessage(msg: BrokerMessage): BrokerMessage {
  keepJson(msg.payload);
  return msg;
}
