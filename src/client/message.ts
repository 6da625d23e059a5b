/**
 * A delivered message as callbacks see it: the wire's `message` notification with
 * camelCase names and the optional flags made explicit.
 */
import type { DeliveryParams } from '../protocol/messages.js';

/** One delivery from the broker. */
export interface Message {
  /** The concrete topic it was published to (never a pattern). */
  topic: string;
  /** Any JSON value; `null` when the publisher sent none. */
  payload: unknown;
  /** `client_id` of the publisher, or `broker` for system events. */
  sender: string;
  /** Broker-assigned id; what `ack` and `_internal.message_acks` refer to. */
  messageId: string;
  /**
   * Publish time as the broker wrote it: ISO 8601 UTC with milliseconds and `+00:00`.
   * Kept as text so no precision or offset is lost; `new Date(timestamp)` parses it.
   */
  timestamp: string;
  /** 1 when the broker expects an `ack` (the client sends it after the callbacks settle). */
  qos: 0 | 1;
  /** Sent from the retained store because of a new subscription. */
  retained: boolean;
  /** Sent again because an earlier delivery was not acked. */
  redelivered: boolean;
  /** Set when this is a `request`: a callback's return value becomes the reply. */
  replyTo: string | undefined;
  /**
   * The payload's JSON text as the broker sent it, with the client option `payloadText`
   * (otherwise undefined): what the publisher wrote, which `payload` may not hold exactly.
   */
  payloadText?: string;
}

/**
 * A subscription callback. Its return value (or resolved value) answers a request
 * delivery; `undefined` (or `null`) means "not answering". A throw answers a request with
 * an error. Deliveries are dispatched one at a time, in arrival order: a callback that
 * never settles holds back every later delivery of its client.
 */
export type MessageHandler = (message: Message) => unknown;

/** Result of {@link parseDelivery}. */
export type ParsedDelivery = { ok: true; message: Message } | { ok: false; reason: string };

/**
 * Check and convert the params of a `message` notification. The broker is trusted to
 * follow the contract, but a bad frame must become an `error_occurred`, not a crash
 * deep inside a user callback.
 */
export function parseDelivery(params: unknown): ParsedDelivery {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, reason: 'delivery params must be an object' };
  }
  const p = params as Partial<Record<keyof DeliveryParams, unknown>>;
  if (typeof p.topic !== 'string' || p.topic.length === 0) return { ok: false, reason: 'delivery has no topic' };
  if (typeof p.message_id !== 'string' || p.message_id.length === 0) return { ok: false, reason: 'delivery has no message_id' };
  if (p.reply_to !== undefined && typeof p.reply_to !== 'string') return { ok: false, reason: 'delivery reply_to must be a string' };
  return {
    ok: true,
    message: {
      topic: p.topic,
      payload: p.payload === undefined ? null : p.payload,
      sender: typeof p.sender === 'string' ? p.sender : '',
      messageId: p.message_id,
      timestamp: typeof p.timestamp === 'string' ? p.timestamp : '',
      qos: p.qos === 1 ? 1 : 0,
      retained: p.retained === true,
      redelivered: p.redelivered === true,
      replyTo: p.reply_to,
    },
  };
}
