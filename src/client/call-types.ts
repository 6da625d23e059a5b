/** The shapes of the client's calls: their options, and the results the broker sends back. */
import type { RpcError } from '../protocol/errors.js';

/** Where the client is in its lifecycle. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

/** Options of {@link BrokerClient.publish}. */
export interface PublishOptions {
  /** 0 = at most once (default), 1 = at least once: subscribers ack, offline sessions queue it. */
  qos?: 0 | 1;
  /** Seconds until the message expires undelivered; 0 = never (default). */
  ttl?: number;
  /** Keep it as the topic's retained message for future subscribers. */
  retain?: boolean;
}

/** One message of {@link BrokerClient.publishBatch}: its topic and payload, and the options of `publish`. */
export interface BatchPublish extends PublishOptions {
  topic: string;
  /** Any JSON value; `undefined` is sent as `null`. */
  payload?: unknown;
  /**
   * The payload as JSON text, sent as it is instead of `payload`, for a caller that holds
   * the text already. It must be one valid JSON value: it is not checked here, and text
   * that is not JSON makes the broker refuse the whole frame it is in.
   */
  payloadJson?: string;
  /**
   * Writes the payload's JSON into the call, for a caller that holds it as bytes; used
   * instead of `payloadJson` and `payload`. What it writes must be one valid JSON value,
   * as for `payloadJson`.
   */
  writePayload?(out: PayloadWriter): void;
}

/** Where {@link BatchPublish.writePayload} writes: bytes of JSON text, in order. */
export interface PayloadWriter {
  /** The UTF-8 JSON bytes `src[start, end)`, as they are. */
  bytes(src: Uint8Array, start: number, end: number): void;
  /** A non-negative integer's decimal digits (at most 2^53 - 1). */
  uint(n: number): void;
}

/** Options of {@link BrokerClient.publishBatch}. */
export interface PublishBatchOptions {
  /**
   * Seconds to wait for every answer (default: the client's `requestTimeout`): more
   * than 0 and at most 2147483 (24.8 days, what a timer can wait), else -32602 at once.
   */
  timeout?: number;
  /** QoS of the messages that give none of their own (default 0). */
  qos?: 0 | 1;
}

/** What became of one message of {@link BrokerClient.publishBatch}. */
export type BatchPublishOutcome = { ok: true; messageId: string } | { ok: false; error: RpcError };

/** Options of {@link BrokerClient.subscribe}. */
export interface SubscribeOptions {
  /**
   * Keep the subscription when the broker is unreachable now or the connection drops
   * during the call: it is made (again) on the next reconnect. Default false: the call
   * rejects with NOT_CONNECTED and nothing stays registered.
   */
  durable?: boolean;
}

/** Options of {@link BrokerClient.request}. */
export interface RequestOptions {
  /** Seconds the broker waits for a reply (default: the client's `requestTimeout`). Max 300. */
  timeout?: number;
  /**
   * Resolve with the reply's JSON text as the broker sent it (a string) instead of its
   * value: for a tool that shows or passes on the reply exactly, which the parsed value
   * cannot always hold (`1e400`, `-0`, `1.0`, digits past a double's precision).
   */
  text?: boolean;
}

/** Result of `ping`. */
export interface PingResult {
  pong: boolean;
  /** Broker time, ISO 8601 UTC with `+00:00`. */
  timestamp: string;
}

/** Result of `status`: the contract's fields, plus whatever else this broker reports. */
export interface StatusResult {
  client_count: number;
  message_count: number;
  uptime: number;
  started_at: string;
  version: string;
  /** One row per session, connected or kept offline. */
  clients?: StatusClient[];
  [key: string]: unknown;
}

/** A session in `status`. */
export interface StatusClient {
  client_id: string;
  client_type: string;
  connected: boolean;
  /** Who it authenticated as: a `clients` entry's id, `token` or `anonymous`. */
  identity?: string;
  subscriptions: number;
  queued: number;
  unacked: number;
  dropped: number;
}

/** Result of `subscriptions`. */
export interface SubscriptionsResult {
  client_id: string;
  patterns: string[];
}
