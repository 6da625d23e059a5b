/**
 * The client's events. Names are the Qt client's signal names so code and docs written
 * against `QtBrokerClient` translate one-to-one.
 */
import type { ConnectResult } from '../protocol/messages.js';
import type { Message } from './message.js';

/**
 * Event name to listener arguments, for `EventEmitter<BrokerClientEvents>`.
 *
 * There is deliberately no `error` event: Node throws when `error` is emitted without a
 * listener, and a library must not crash an app that forgot one. Errors go to
 * `error_occurred`, which is safe to leave unheard.
 */
export interface BrokerClientEvents {
  /** The handshake succeeded (first connect or a reconnect); subscriptions are restored. */
  connected: [result: ConnectResult];
  /**
   * The connection ended. `reason`: `client_disconnect` (our `disconnect()`),
   * `connection_lost`, `heartbeat_timeout` (the broker went silent), `protocol_error`.
   * Emitted once per connection; reconnect attempts that never connect do not emit it.
   */
  disconnected: [reason: string];
  /** A connect or reconnect attempt failed. */
  connection_failed: [error: Error];
  /** Every delivery, before subscription callbacks run. */
  message_received: [topic: string, payload: unknown, sender: string, messageId: string, message: Message];
  /** A `subscribe` (or the automatic re-subscribe after a reconnect) succeeded. */
  subscribed: [patterns: string[]];
  /** A `publish` succeeded. */
  published: [messageId: string];
  /**
   * Something went wrong that no promise reports: a callback threw, a malformed frame
   * arrived, re-subscribing failed, reconnecting gave up.
   */
  error_occurred: [error: Error];
}

/**
 * How the client's parts emit its events: `BrokerClient`'s own emit, which turns a
 * throwing listener into `error_occurred` instead of letting it unwind into socket code.
 */
export type EmitFn = <K extends keyof BrokerClientEvents>(event: K, ...args: BrokerClientEvents[K]) => void;
