/**
 * `BrokerClient`: the TypeScript peer of the seed's Python `BrokerClient`, with the Qt
 * client's signals as events. This file is the public face: the calls and the events.
 * The parts behind it each live in a file of their own: the connection lifecycle with
 * its reconnect loop (lifecycle.ts) and handshake (handshake.ts), the subscription
 * registry (subscriptions.ts), sending (outbound.ts; a batch's publish calls in
 * publish-call.ts) and routing what arrives (inbound.ts), the running of delivery
 * callbacks with their acks and replies (delivery-dispatcher.ts), the pending calls
 * (pending-calls.ts) and the heartbeat (heartbeat.ts).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log/logger.js';
import { ErrorCode, RpcError } from '../protocol/errors.js';
import type { RpcParams } from '../protocol/jsonrpc.js';
import type { ConnectResult, MessageAcksResult } from '../protocol/messages.js';
import type {
  BatchPublish,
  BatchPublishOutcome,
  PublishBatchOptions,
  ClientState,
  PingResult,
  PublishOptions,
  RequestOptions,
  StatusResult,
  SubscribeOptions,
  SubscriptionsResult,
} from './call-types.js';
import type { CallWriter } from './batch-frame.js';
import type { Connection } from './connection.js';
import { DeliveryDispatcher } from './delivery-dispatcher.js';
import { errorText, notConnectedError, timeoutProblem } from './errors.js';
import type { BrokerClientEvents } from './events.js';
import { InboundRouter } from './inbound.js';
import { ConnectionLifecycle } from './lifecycle.js';
import type { MessageHandler } from './message.js';
import { resolveClientOptions, validateClientId, type BrokerClientOptions, type ResolvedClientOptions } from './options.js';
import { Outbound } from './outbound.js';
import { PendingCalls } from './pending-calls.js';
import { TopicJson, writePublishCall } from './publish-call.js';
import { RetainedReplay } from './retained-replay.js';
import { SubscriptionRegistry, confirmedPatterns } from './subscriptions.js';

/**
 * Extra seconds the local timer of a `request` waits beyond the timeout sent to the
 * broker, so the broker's own TIMEOUT (-32002) normally arrives first and the local
 * timer only fires when the broker itself is unresponsive.
 */
export const REQUEST_TIMEOUT_MARGIN = 1;

/**
 * A client of the ahk-bridge message broker.
 *
 * ```ts
 * const client = new BrokerClient('my_app', { port: 15234 });
 * await client.connect();
 * await client.subscribe(['jobs.*'], (msg) => console.log(msg.topic, msg.payload));
 * await client.publish('jobs.activated', { job_id: '12345' });
 * ```
 *
 * Calls made while not connected reject at once with `RpcError` code NOT_CONNECTED
 * (-32001); so do calls in flight when the connection drops. After an unexpected loss the
 * client reconnects (unless `autoReconnect` is false), restores its subscriptions, and
 * emits `connected` again.
 */
export class BrokerClient extends EventEmitter<BrokerClientEvents> {
  private readonly id: string;
  private readonly opts: ResolvedClientOptions;
  private readonly log: Logger;
  private readonly where: string;
  private readonly subs = new SubscriptionRegistry();
  private readonly replay = new RetainedReplay();
  private readonly outbound: Outbound;
  private readonly deliveries: DeliveryDispatcher;
  private readonly lifecycle: ConnectionLifecycle;

  /**
   * @param clientId this client's identity at the broker (1-128 characters). A second
   *   connection with the same id takes over the session and closes the first.
   * @param options connection, reconnect and timing options; times are in seconds
   * @throws RangeError when `clientId` or an option is out of range
   */
  constructor(clientId: string, options: BrokerClientOptions = {}) {
    super();
    this.id = validateClientId(clientId);
    this.opts = resolveClientOptions(options);
    this.log = this.opts.logger.child('client');
    this.where = `${this.opts.host}:${this.opts.port}`;
    const pending = new PendingCalls();
    const fire = this.fire.bind(this);
    // The broker's limit of the last connection also guards the next handshake's frames.
    this.outbound = new Outbound(pending, this.where, () => this.lifecycle.serverInfo?.max_message_size);
    this.deliveries = new DeliveryDispatcher({
      concurrent: this.opts.concurrentDeliveries,
      handlersFor: (topic) => this.subs.handlersFor(topic),
      isCurrent: (conn) => conn === this.lifecycle.connection && !conn.isClosed,
      notify: (conn, method, params) => this.outbound.notify(conn, method, params),
      reportError: (err) => this.fire('error_occurred', err),
      logFailure: (err) => this.log.error('delivery dispatch failed', { client_id: this.id, error: errorText(err) }),
    });
    const inbound = new InboundRouter({
      clientId: this.id,
      payloadText: this.opts.payloadText,
      log: this.log,
      pending,
      onServerError: (error) => this.lifecycle.noteServerError(error),
      replay: this.replay,
      onMessage: (conn, message, target) => {
        this.fire('message_received', message.topic, message.payload, message.sender, message.messageId, message);
        this.deliveries.deliver(conn, message, target);
      },
      reportError: (error) => this.fire('error_occurred', error),
    });
    this.lifecycle = new ConnectionLifecycle({
      clientId: this.id,
      opts: this.opts,
      where: this.where,
      log: this.log,
      fire,
      pending,
      request: (conn, method, params, timeoutMs) => this.outbound.request(conn, method, params, timeoutMs),
      patterns: () => this.subs.patterns,
      onValue: (conn, value, body) => inbound.route(conn, value, body),
      idle: (timeoutMs) => this.idle(timeoutMs),
    });
  }

  /** The `client_id` given to the constructor. */
  get clientId(): string {
    return this.id;
  }

  /** True while a handshaken connection is up and calls can be made. */
  get isConnected(): boolean {
    return this.lifecycle.state === 'connected';
  }

  /** Lifecycle state, finer-grained than {@link isConnected}. */
  get state(): ClientState {
    return this.lifecycle.state;
  }

  /** The broker's `connect` result of the current (or last) connection. */
  get serverInfo(): ConnectResult | undefined {
    return this.lifecycle.serverInfo;
  }

  /** Patterns this client holds; they are re-subscribed after every reconnect. */
  get patterns(): string[] {
    return this.subs.patterns;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Open the connection and perform the `connect` handshake. Resolves with the broker's
   * connect result; when already connected, resolves with the current one.
   *
   * Rejects with a `BrokerConnectionError` when TCP fails (the message names host:port,
   * e.g. "no broker at localhost:15234: connection refused"), or with the broker's
   * `RpcError` when it refuses the handshake (bad token, invalid client id). A failed
   * first connect is not retried; auto-reconnect covers losses after a success.
   */
  connect(): Promise<ConnectResult> {
    return this.lifecycle.connect();
  }

  /**
   * The program is shutting down and still has things to send before it calls
   * `disconnect()` (a supervisor's last events while its scripts stop): from now on a lost
   * connection is expected, as the broker may be stopping too. It is logged at info, not
   * WARNING, emits `disconnected`, and is not reconnected.
   */
  windDown(): void {
    this.lifecycle.windDown();
  }

  /**
   * Say goodbye to the broker and close. Waits briefly for the broker's reply, never
   * longer than a couple of seconds. Stops any reconnecting; calls still in flight reject
   * with NOT_CONNECTED. The broker keeps this client's session (subscriptions, queued
   * QoS 1 messages) for its `session_expiry`; `connect()` again resumes it.
   */
  disconnect(): Promise<void> {
    return this.lifecycle.disconnect();
  }

  /**
   * Resolves once no delivery callback is running (their replies and acks are queued),
   * or after `timeoutMs`. `disconnect()` uses it so a callback's reply is not cut off.
   */
  idle(timeoutMs = 2000): Promise<void> {
    return this.deliveries.idle(timeoutMs);
  }

  // ---------------------------------------------------------------- calls

  /** The socket calls go out on, or null unless the client is connected. */
  private connectedConnection(): Connection | null {
    const conn = this.lifecycle.connection;
    return this.lifecycle.state === 'connected' && conn ? conn : null;
  }

  /**
   * Send any method and resolve with its `result`: the escape hatch for methods this
   * class does not wrap. Broker errors reject as `RpcError` with the broker's code.
   * @param timeout seconds to wait for the reply (default `requestTimeout`): more than 0
   *   and at most 2147483 (24.8 days, what a timer can wait), else -32602 at once
   */
  call<T = unknown>(method: string, params?: RpcParams, timeout?: number): Promise<T> {
    // The result's shape is the broker's promise, not something checked here.
    return this.send(method, params, timeout ?? this.opts.requestTimeout, false) as Promise<T>;
  }

  /**
   * A call on the current connection; with `text`, resolved with its result's JSON text.
   * @param onId told the call's id when it is sent
   */
  private send(method: string, params: RpcParams | undefined, timeout: number, text: boolean, marginS = 0, onId?: (id: number) => void): Promise<unknown> {
    const bad = timeoutProblem(method, timeout);
    if (bad) return Promise.reject(bad);
    const conn = this.connectedConnection();
    if (!conn) return Promise.reject(notConnectedError(method, this.lifecycle.notConnectedState(), this.where));
    return this.outbound.request(conn, method, params, (timeout + marginS) * 1000, text, onId);
  }

  /**
   * Subscribe to topic patterns (`jobs.*`, `scripts.+.status`, `logs.#`). `callback`, if
   * given, runs for every delivery whose topic matches one of them (once per delivery,
   * however many of its patterns match). Resolves with the patterns the broker confirmed.
   */
  async subscribe(patterns: string | string[], callback?: MessageHandler, options: SubscribeOptions = {}): Promise<string[]> {
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    if (!this.isConnected && !options.durable) throw notConnectedError('subscribe', this.lifecycle.notConnectedState(), this.where);
    // Register before sending: retained messages follow the response in the same read,
    // before an `await` here could resume.
    const undo = this.subs.add(list, callback);
    // Durable and offline: the reconnect's re-subscribe sends it.
    if (!this.isConnected) return list;
    // The retained messages that follow the answer run this callback alone (retained-replay.ts).
    let id: number | undefined;
    try {
      const res = await this.send('subscribe', { patterns: list }, this.opts.requestTimeout, false, 0, (sent) => {
        id = sent;
        this.replay.expect(sent, callback ?? null);
      });
      const subscribed = confirmedPatterns(res, 'subscribed', list);
      this.fire('subscribed', subscribed);
      return subscribed;
    } catch (err) {
      if (id !== undefined) this.replay.forget(id);
      // Lost the connection mid-call: a durable subscription stays registered and is
      // restored on reconnect. A broker refusal (bad pattern) is final either way.
      if (options.durable && err instanceof RpcError && err.code === ErrorCode.NOT_CONNECTED) return list;
      undo();
      throw err;
    }
  }

  /** Drop patterns (and their callbacks). Resolves with the patterns the broker removed. */
  async unsubscribe(patterns: string | string[]): Promise<string[]> {
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    const res = await this.call('unsubscribe', { patterns: list });
    this.subs.remove(list);
    return confirmedPatterns(res, 'unsubscribed', list);
  }

  /**
   * Publish to a topic. Resolves with the broker's `message_id` once the broker has
   * routed it (not once subscribers have processed it; use QoS 1 and
   * `_internal.message_acks` for that).
   */
  async publish(topic: string, payload?: unknown, options: PublishOptions = {}): Promise<string> {
    // JSON.stringify would leave the payload out, which the broker delivers as null, where
    // publishBatch refuses the same value.
    if (typeof payload === 'function' || typeof payload === 'symbol') {
      throw new RpcError(ErrorCode.INVALID_PARAMS, `params of "publish" are not JSON-serialisable: the payload is a ${typeof payload}`);
    }
    const params: Record<string, unknown> = { topic, payload: payload === undefined ? null : payload };
    if (options.qos !== undefined) params.qos = options.qos;
    if (options.ttl !== undefined) params.ttl = options.ttl;
    if (options.retain !== undefined) params.retain = options.retain;
    const res = await this.call<{ message_id?: unknown }>('publish', params);
    const messageId = typeof res?.message_id === 'string' ? res.message_id : '';
    this.fire('published', messageId);
    return messageId;
  }

  /**
   * Publish many messages in order with one batch frame (or as few as the broker's
   * `max_message_size` allows) and one wait for all their answers: far cheaper per
   * message than as many `publish` calls. Resolves with one outcome per item, in order:
   * its `message_id`, or the broker's refusal of that message alone (a bad topic, a
   * payload over the size limit), which does not stop the others. A message that could
   * not be sent at all (the socket closed while the frames were queued) fails the same
   * way, with NOT_CONNECTED. Rejects as a whole, like a single call, when not connected,
   * on the timeout, or when the connection is lost before every answer is in: then any
   * of them may or may not have been published.
   * @param options the timeout and a default QoS; a number is the timeout in seconds
   *   (default `requestTimeout`)
   */
  publishBatch(items: readonly BatchPublish[], options: number | PublishBatchOptions = {}): Promise<BatchPublishOutcome[]> {
    const { timeout = this.opts.requestTimeout, qos } = typeof options === 'number' ? { timeout: options, qos: undefined } : (options ?? {});
    const bad = timeoutProblem('publish', timeout);
    if (bad) return Promise.reject(bad);
    const conn = this.connectedConnection();
    if (!conn) return Promise.reject(notConnectedError('publish', this.lifecycle.notConnectedState(), this.where));
    const topics = new TopicJson();
    const write = (i: number, id: number, out: CallWriter): void => writePublishCall(items[i]!, id, out, topics, qos);
    return this.outbound.requestBatch(conn, 'publish', items.length, write, timeout * 1000).then((answers) =>
      answers.map((a): BatchPublishOutcome => {
        if (!a.ok) return a;
        const res = a.result as { message_id?: unknown } | null;
        const messageId = typeof res?.message_id === 'string' ? res.message_id : '';
        this.fire('published', messageId);
        return { ok: true, messageId };
      }),
    );
  }

  /**
   * Send a request to the subscribers of `topic` and resolve with the first non-null
   * reply. Rejects with NO_RESPONDERS (-32005) when nobody subscribes, TIMEOUT (-32002)
   * when nobody answers within `timeout` seconds, or the responder's error.
   */
  request(topic: string, payload?: unknown, options: RequestOptions = {}): Promise<unknown> {
    const timeout = options.timeout ?? this.opts.requestTimeout;
    return this.send('request', { topic, payload: payload === undefined ? null : payload, timeout }, timeout, options.text === true, REQUEST_TIMEOUT_MARGIN);
  }

  /**
   * Acknowledge a QoS 1 delivery. Deliveries handled by subscription callbacks are acked
   * automatically; this is for code that handles `message_received` itself.
   */
  async ack(messageId: string): Promise<void> {
    await this.call('ack', { message_id: messageId });
  }

  /** Round trip to the broker. */
  ping(): Promise<PingResult> {
    return this.call<PingResult>('ping');
  }

  /** Broker statistics. */
  status(): Promise<StatusResult> {
    return this.call<StatusResult>('status');
  }

  /** The patterns a client holds at the broker (default: this client). */
  subscriptions(clientId?: string): Promise<SubscriptionsResult> {
    return this.call<SubscriptionsResult>('subscriptions', clientId === undefined ? {} : { client_id: clientId });
  }

  /** Who acked a QoS 1 message and who has not yet (`_internal.message_acks`). */
  messageAcks(messageId: string): Promise<MessageAcksResult> {
    // The shape is the contract's for this broker-answered topic.
    return this.request('_internal.message_acks', { message_id: messageId }) as Promise<MessageAcksResult>;
  }

  // ---------------------------------------------------------------- events

  /**
   * Emit without letting a throwing listener unwind into socket or timer code. A listener
   * error becomes `error_occurred` (or a log line, if that listener threw).
   */
  private fire<K extends keyof BrokerClientEvents>(event: K, ...args: BrokerClientEvents[K]): void {
    try {
      // TS cannot relate the generic tuple to EventEmitter's conditional Args<K, T>; they are the same type.
      (this.emit as (e: K, ...a: BrokerClientEvents[K]) => boolean).call(this, event, ...args);
    } catch (err) {
      this.log.error('event listener threw', { client_id: this.id, event, error: errorText(err) });
      if (event !== 'error_occurred') {
        try {
          this.emit('error_occurred', new Error(`"${event}" listener threw: ${errorText(err)}`, { cause: err }));
        } catch {
          // Already logged above; nothing else can be done with it.
        }
      }
    }
  }
}
