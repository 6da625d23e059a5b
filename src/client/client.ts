/**
 * `BrokerClient`: the TypeScript peer of the seed's Python `BrokerClient`, with the Qt
 * client's signals as events. It owns the connection lifecycle (handshake, reconnect with
 * re-subscribe) and the calls; the heartbeat (heartbeat.ts), the running of delivery
 * callbacks with their acks and replies (delivery-dispatcher.ts) and the pending calls
 * (pending-calls.ts) each live in a file of their own.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { HEADER_BYTES, encodeFrame } from '../protocol/framing.js';
import { classify, errorResponse, methodNotFound, notification, request as requestText, type RpcParams } from '../protocol/jsonrpc.js';
import { DELIVERY_METHOD, type ConnectResult, type MessageAcksResult } from '../protocol/messages.js';
import { topicMatches } from '../protocol/topics.js';
import { reconnectDelay } from './backoff.js';
import { Connection, DEFAULT_MAX_INCOMING_FRAME } from './connection.js';
import { connectionLostError, errorText, notConnectedError, type NotConnectedState } from './errors.js';
import type { BrokerClientEvents } from './events.js';
import { parseDelivery, type MessageHandler } from './message.js';
import { resolveClientOptions, validateClientId, type BrokerClientOptions, type ResolvedClientOptions } from './options.js';
import { PendingCalls } from './pending-calls.js';
import type { ClientState, PingResult, PublishOptions, RequestOptions, StatusResult, SubscribeOptions, SubscriptionsResult } from './call-types.js';
import { DeliveryDispatcher } from './delivery-dispatcher.js';
import { Heartbeat } from './heartbeat.js';

/**
 * Extra seconds the local timer of a `request` waits beyond the timeout sent to the
 * broker, so the broker's own TIMEOUT (-32002) normally arrives first and the local
 * timer only fires when the broker itself is unresponsive.
 */
export const REQUEST_TIMEOUT_MARGIN = 1;

// `disconnect()` is a courtesy to the broker; never let a dead broker stall shutdown.
const DISCONNECT_REPLY_TIMEOUT = 2;
const DISCONNECT_CLOSE_GRACE_MS = 1000;

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}


function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

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
  private readonly pending = new PendingCalls();
  /** pattern -> callbacks (possibly none: a pattern subscribed only for `message_received`). */
  private readonly subs = new Map<string, Set<MessageHandler>>();
  private conn: Connection | undefined;
  private currentState: ClientState = 'idle';
  private result: ConnectResult | undefined;
  /** Error the broker sent unprompted (`id: null`) on the current connection, e.g. -32006. */
  private serverError: RpcError | undefined;
  private connecting: Promise<ConnectResult> | undefined;
  private disconnecting: Promise<void> | undefined;
  /** Bumped by `disconnect()`, so a handshake in flight can tell it was cancelled. */
  private epoch = 0;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat = new Heartbeat();
  private readonly deliveries: DeliveryDispatcher;

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
    this.deliveries = new DeliveryDispatcher({
      concurrent: this.opts.concurrentDeliveries,
      handlersFor: (topic) => {
        const handlers = new Set<MessageHandler>();
        for (const [pattern, set] of this.subs) {
          if (set.size > 0 && topicMatches(pattern, topic)) for (const h of set) handlers.add(h);
        }
        return handlers;
      },
      isCurrent: (conn) => conn === this.conn && !conn.isClosed,
      notify: (conn, method, params) => this.notify(conn, method, params),
      reportError: (err) => this.fire('error_occurred', err),
      logFailure: (err) => this.log.error('delivery dispatch failed', { client_id: this.id, error: errorText(err) }),
    });
  }

  /** The `client_id` given to the constructor. */
  get clientId(): string {
    return this.id;
  }

  /** True while a handshaken connection is up and calls can be made. */
  get isConnected(): boolean {
    return this.currentState === 'connected';
  }

  /** Lifecycle state, finer-grained than {@link isConnected}. */
  get state(): ClientState {
    return this.currentState;
  }

  /** The broker's `connect` result of the current (or last) connection. */
  get serverInfo(): ConnectResult | undefined {
    return this.result;
  }

  /** Patterns this client holds; they are re-subscribed after every reconnect. */
  get patterns(): string[] {
    return [...this.subs.keys()];
  }

  private get where(): string {
    return `${this.opts.host}:${this.opts.port}`;
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
  async connect(): Promise<ConnectResult> {
    if (this.disconnecting) await this.disconnecting;
    if (this.currentState === 'connected' && this.result) return this.result;
    if (this.connecting) return this.connecting;
    if (this.currentState === 'reconnecting') {
      // The caller wants a connection now rather than after the backoff delay.
      this.clearReconnectTimer();
      return this.reconnectNow();
    }
    const epoch = this.epoch;
    const settledBefore = this.currentState === 'closed' ? 'closed' : 'idle';
    this.currentState = 'connecting';
    this.connecting = this.establish(true);
    try {
      return await this.connecting;
    } catch (err) {
      if (epoch === this.epoch) {
        this.currentState = settledBefore;
        this.fire('connection_failed', toError(err));
      }
      throw err;
    } finally {
      this.connecting = undefined;
    }
  }

  /**
   * Say goodbye to the broker and close. Waits briefly for the broker's reply, never
   * longer than a couple of seconds. Stops any reconnecting; calls still in flight reject
   * with NOT_CONNECTED. The broker keeps this client's session (subscriptions, queued
   * QoS 1 messages) for its `session_expiry`; `connect()` again resumes it.
   */
  disconnect(): Promise<void> {
    this.disconnecting ??= this.doDisconnect().finally(() => {
      this.disconnecting = undefined;
    });
    return this.disconnecting;
  }

  private async doDisconnect(): Promise<void> {
    this.epoch++;
    this.clearReconnectTimer();
    this.stopHeartbeat();
    const wasConnected = this.currentState === 'connected';
    if (this.currentState === 'idle' || this.currentState === 'closed') return;
    this.currentState = 'closing';
    const conn = this.conn;
    if (conn && wasConnected) {
      // Let callbacks that are still running send their replies and acks first.
      await this.idle(DISCONNECT_REPLY_TIMEOUT * 1000);
      try {
        await this.rawCall(conn, 'disconnect', undefined, DISCONNECT_REPLY_TIMEOUT * 1000);
      } catch (err) {
        this.log.debug('no reply to disconnect; closing anyway', { client_id: this.id, error: errorText(err) });
      }
      await conn.end(DISCONNECT_CLOSE_GRACE_MS);
    } else if (conn) {
      conn.destroy('client_disconnect');
    }
    this.currentState = 'closed';
    if (wasConnected) {
      this.log.info('disconnected', { client_id: this.id, reason: 'client_disconnect' });
      this.fire('disconnected', 'client_disconnect');
    }
  }

  /**
   * Open a socket, handshake, restore subscriptions. Shared by `connect()` and the
   * reconnect loop; the caller owns the state before and after a failure.
   */
  private async establish(first: boolean): Promise<ConnectResult> {
    const epoch = this.epoch;
    const deadline = performance.now() + this.opts.connectTimeout * 1000;
    const remaining = (): number => Math.max(1, deadline - performance.now());
    const aborted = (): RpcError =>
      new RpcError(ErrorCode.NOT_CONNECTED, `connecting to the broker at ${this.where} was cancelled by disconnect()`);

    const conn: Connection = await Connection.open(
      { host: this.opts.host, port: this.opts.port, timeoutMs: remaining(), maxFrameSize: DEFAULT_MAX_INCOMING_FRAME },
      {
        onValue: (value) => this.onValue(conn, value),
        onError: (error) => this.fire('error_occurred', error),
        onClose: (reason, error) => this.onClose(conn, reason, error),
      },
    );
    if (epoch !== this.epoch) {
      conn.destroy('client_disconnect');
      throw aborted();
    }
    this.conn = conn;
    this.serverError = undefined;

    const params: Record<string, unknown> = {
      client_id: this.id,
      client_type: this.opts.clientType,
      version: this.opts.version,
    };
    if (this.opts.token !== undefined) params.token = this.opts.token;
    // Only on the first connect: a reconnect that discarded the session would lose the
    // QoS 1 messages the broker queued for us during the outage.
    if (first && this.opts.cleanSession) params.clean_session = true;

    let result: ConnectResult;
    try {
      const raw = await this.rawCall(conn, 'connect', params, remaining()).catch((err: unknown) => {
        if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) {
          // Say which peer stayed silent: something listens there, but it is not answering as a broker.
          throw new RpcError(
            ErrorCode.TIMEOUT,
            `${this.where} accepted the connection but did not answer "connect" within ${this.opts.connectTimeout}s (is it a broker?)`,
          );
        }
        throw err;
      });
      result = this.checkConnectResult(raw);
      if (epoch !== this.epoch) throw aborted();
      await this.restoreSubscriptions(conn);
      if (epoch !== this.epoch) throw aborted();
      if (conn.isClosed) throw connectionLostError('subscribe', 'connection_lost', this.where);
    } catch (err) {
      conn.destroy('handshake_failed');
      // "cancelled" explains a connect() that disconnect() cut short better than "closed".
      throw epoch !== this.epoch ? aborted() : err;
    }

    this.result = result;
    this.currentState = 'connected';
    this.reconnectAttempt = 0;
    this.startHeartbeat(conn, result);
    this.log.info('connected', { client_id: this.id, broker: this.where, server_version: result.server_version, session_present: result.session_present });
    this.fire('connected', result);
    return result;
  }

  private checkConnectResult(raw: unknown): ConnectResult {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { client_id?: unknown }).client_id !== 'string') {
      throw new RpcError(ErrorCode.INTERNAL_ERROR, `broker at ${this.where} sent a malformed connect result: ${JSON.stringify(raw)}`);
    }
    return raw as ConnectResult;
  }

  private async restoreSubscriptions(conn: Connection): Promise<void> {
    if (this.subs.size === 0) return;
    const patterns = [...this.subs.keys()];
    try {
      const res = await this.rawCall(conn, 'subscribe', { patterns }, this.opts.requestTimeout * 1000);
      const subscribed = stringArray((res as { subscribed?: unknown } | null)?.subscribed) ?? patterns;
      this.fire('subscribed', subscribed);
    } catch (err) {
      if (conn.isClosed) throw err;
      // The connection is fine; the broker refused some pattern (e.g. a lowered
      // max_subscriptions). Staying connected beats a reconnect loop that cannot succeed.
      const error = new Error(`re-subscribing ${patterns.length} pattern(s) after connect failed: ${errorText(err)}`, { cause: err });
      this.log.error('re-subscribe failed', { client_id: this.id, error: errorText(err) });
      this.fire('error_occurred', error);
    }
  }

  private onClose(conn: Connection, reason: string, error: Error | undefined): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.stopHeartbeat();
    const state = this.currentState;
    const why = state === 'closing' ? 'client_disconnect' : reason;
    const serverError = this.serverError;
    this.serverError = undefined;
    // During a handshake the broker's unprompted error (e.g. -32006 too many connections)
    // says more than "connection closed".
    this.pending.rejectAll((method) =>
      serverError && state !== 'connected' ? serverError : connectionLostError(method, why, this.where),
    );
    if (state !== 'connected') return;

    this.log.warning('connection lost', { client_id: this.id, reason: why, error: error?.message });
    this.fire('disconnected', why);
    if (this.opts.autoReconnect) {
      this.currentState = 'reconnecting';
      this.scheduleReconnect();
    } else {
      this.currentState = 'closed';
    }
  }

  private scheduleReconnect(): void {
    this.reconnectAttempt++;
    const delay = reconnectDelay(this.reconnectAttempt, {
      baseDelay: this.opts.reconnectDelay,
      maxDelay: this.opts.maxReconnectDelay,
    });
    this.log.info('reconnecting', { client_id: this.id, attempt: this.reconnectAttempt, delay: +delay.toFixed(3) });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      // Failures are reported through events and by scheduling the next attempt.
      this.reconnectNow().catch(() => undefined);
    }, delay * 1000);
  }

  private async reconnectNow(): Promise<ConnectResult> {
    if (this.connecting) return this.connecting;
    const attempt = this.reconnectAttempt;
    this.connecting = this.establish(false);
    try {
      return await this.connecting;
    } catch (err) {
      if (this.currentState !== 'reconnecting') throw err;
      const error = toError(err);
      this.log.warning('reconnect attempt failed', { client_id: this.id, attempt, error: error.message });
      this.fire('connection_failed', error);
      const max = this.opts.maxReconnectAttempts;
      if (max > 0 && attempt >= max) {
        this.currentState = 'closed';
        this.log.error('gave up reconnecting', { client_id: this.id, attempts: attempt });
        this.fire(
          'error_occurred',
          new Error(`gave up reconnecting to the broker at ${this.where} after ${attempt} attempt(s): ${error.message}`, { cause: err }),
        );
      } else {
        this.scheduleReconnect();
      }
      throw err;
    } finally {
      this.connecting = undefined;
    }
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private startHeartbeat(conn: Connection, result: ConnectResult): void {
    this.heartbeat.start(conn, result, this.opts.heartbeatInterval, (silenceMs) => this.rawCall(conn, 'ping', undefined, silenceMs), (idleMs) => {
      this.log.warning('broker silent; dropping connection', { client_id: this.id, silent_for: +(idleMs / 1000).toFixed(3) });
      conn.destroy('heartbeat_timeout');
    });
  }

  private stopHeartbeat(): void {
    this.heartbeat.stop();
  }

  // ---------------------------------------------------------------- calls

  /**
   * Send any method and resolve with its `result`: the escape hatch for methods this
   * class does not wrap. Broker errors reject as `RpcError` with the broker's code.
   * @param timeout seconds to wait for the reply (default `requestTimeout`)
   */
  call<T = unknown>(method: string, params?: RpcParams, timeout?: number): Promise<T> {
    const conn = this.conn;
    if (this.currentState !== 'connected' || !conn) {
      return Promise.reject(notConnectedError(method, this.notConnectedState(), this.where));
    }
    // The result's shape is the broker's promise, not something checked here.
    return this.rawCall(conn, method, params, (timeout ?? this.opts.requestTimeout) * 1000) as Promise<T>;
  }

  /**
   * Subscribe to topic patterns (`jobs.*`, `scripts.+.status`, `logs.#`). `callback`, if
   * given, runs for every delivery whose topic matches one of them (once per delivery,
   * however many of its patterns match). Resolves with the patterns the broker confirmed.
   */
  async subscribe(patterns: string | string[], callback?: MessageHandler, options: SubscribeOptions = {}): Promise<string[]> {
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    if (!this.isConnected && !options.durable) throw notConnectedError('subscribe', this.notConnectedState(), this.where);
    // Register before sending: retained messages follow the response in the same read,
    // before an `await` here could resume.
    const undo: (() => void)[] = [];
    for (const pattern of list) {
      let set = this.subs.get(pattern);
      if (!set) {
        const created = new Set<MessageHandler>();
        set = created;
        this.subs.set(pattern, created);
        undo.push(() => {
          if (this.subs.get(pattern) === created && created.size === 0) this.subs.delete(pattern);
        });
      }
      if (callback && !set.has(callback)) {
        const target = set;
        target.add(callback);
        undo.unshift(() => target.delete(callback));
      }
    }
    // Durable and offline: the reconnect's re-subscribe sends it.
    if (!this.isConnected) return list;
    try {
      const res = await this.call<{ subscribed?: unknown }>('subscribe', { patterns: list });
      const subscribed = stringArray(res?.subscribed) ?? list;
      this.fire('subscribed', subscribed);
      return subscribed;
    } catch (err) {
      // Lost the connection mid-call: a durable subscription stays registered and is
      // restored on reconnect. A broker refusal (bad pattern) is final either way.
      if (options.durable && err instanceof RpcError && err.code === ErrorCode.NOT_CONNECTED) return list;
      for (const u of undo) u();
      throw err;
    }
  }

  /** Drop patterns (and their callbacks). Resolves with the patterns the broker removed. */
  async unsubscribe(patterns: string | string[]): Promise<string[]> {
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    const res = await this.call<{ unsubscribed?: unknown }>('unsubscribe', { patterns: list });
    for (const pattern of list) this.subs.delete(pattern);
    return stringArray(res?.unsubscribed) ?? list;
  }

  /**
   * Publish to a topic. Resolves with the broker's `message_id` once the broker has
   * routed it (not once subscribers have processed it; use QoS 1 and
   * `_internal.message_acks` for that).
   */
  async publish(topic: string, payload?: unknown, options: PublishOptions = {}): Promise<string> {
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
   * Send a request to the subscribers of `topic` and resolve with the first non-null
   * reply. Rejects with NO_RESPONDERS (-32005) when nobody subscribes, TIMEOUT (-32002)
   * when nobody answers within `timeout` seconds, or the responder's error.
   */
  request(topic: string, payload?: unknown, options: RequestOptions = {}): Promise<unknown> {
    const timeout = options.timeout ?? this.opts.requestTimeout;
    return this.call('request', { topic, payload: payload === undefined ? null : payload, timeout }, timeout + REQUEST_TIMEOUT_MARGIN);
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

  private notConnectedState(): NotConnectedState {
    switch (this.currentState) {
      case 'idle':
        return 'never connected';
      case 'connecting':
        return 'connecting';
      case 'reconnecting':
        return 'reconnecting';
      default:
        return 'disconnected';
    }
  }

  /** Send a request on `conn` without the connected-state check (handshake, heartbeat). */
  private rawCall(conn: Connection, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const { id, promise } = this.pending.create(method, timeoutMs);
    let frame: Buffer;
    try {
      frame = encodeFrame(requestText(id, method, params));
    } catch (err) {
      this.pending.fail(id, new RpcError(ErrorCode.INVALID_PARAMS, `params of "${method}" are not JSON-serialisable: ${errorText(err)}`));
      return promise;
    }
    const limit = this.result?.max_message_size;
    if (typeof limit === 'number' && frame.length - HEADER_BYTES > limit) {
      // The broker would answer an oversize frame by closing the connection, failing
      // every other call in flight too; refuse this one alone.
      this.pending.fail(
        id,
        new RpcError(ErrorCode.INVALID_REQUEST, `"${method}" is ${frame.length - HEADER_BYTES} bytes, over the broker's max_message_size of ${limit}`, {
          max_message_size: limit,
        }),
      );
      return promise;
    }
    if (!conn.send(frame)) this.pending.fail(id, this.sendFailure(conn, method));
    return promise;
  }

  /** Send a notification on `conn`; returns false when it could not be queued. */
  private notify(conn: Connection, method: string, params: unknown): boolean {
    return conn.send(encodeFrame(notification(method, params)));
  }

  private sendFailure(conn: Connection, method: string): RpcError {
    if (conn.isClosed) return connectionLostError(method, 'connection_lost', this.where);
    return new RpcError(
      ErrorCode.LIMIT_EXCEEDED,
      `cannot send "${method}": ${conn.bufferedBytes} bytes are already waiting for the broker at ${this.where} to read them`,
    );
  }

  // ---------------------------------------------------------------- incoming

  private onValue(conn: Connection, value: unknown): void {
    if (conn !== this.conn) return;
    if (Array.isArray(value)) {
      if (value.length === 0) this.fire('error_occurred', new Error('broker sent an empty batch; skipped'));
      for (const item of value) this.onItem(conn, item);
    } else {
      this.onItem(conn, value);
    }
  }

  private onItem(conn: Connection, value: unknown): void {
    const c = classify(value);
    switch (c.kind) {
      case 'response': {
        if (this.pending.settle(c.id, c)) return;
        if (c.id === null && c.error) {
          const error = new RpcError(
            typeof c.error.code === 'number' ? c.error.code : ErrorCode.INTERNAL_ERROR,
            `broker error: ${errorText(c.error)}`,
            c.error.data,
          );
          this.serverError = error;
          this.log.warning('broker sent an error', { client_id: this.id, code: error.code, error: error.message });
          this.fire('error_occurred', error);
        } else {
          // A reply to a call that already timed out locally.
          this.log.debug('reply for no pending call', { client_id: this.id, id: c.id });
        }
        return;
      }
      case 'call': {
        if (c.method === DELIVERY_METHOD && c.id === undefined) {
          this.onDelivery(conn, c.params);
        } else if (c.id !== undefined) {
          // The contract has no broker-to-client requests; answer so a peer is not left waiting.
          conn.send(encodeFrame(errorResponse(c.id, methodNotFound(c.method))));
        } else {
          this.log.debug('ignoring unknown notification from broker', { client_id: this.id, method: c.method });
        }
        return;
      }
      case 'invalid':
        this.fire('error_occurred', new Error(`invalid JSON-RPC message from broker skipped: ${c.reason}`));
        return;
    }
  }

  private onDelivery(conn: Connection, params: unknown): void {
    const parsed = parseDelivery(params);
    if (!parsed.ok) {
      this.fire('error_occurred', new Error(`malformed delivery from broker skipped: ${parsed.reason}`));
      return;
    }
    const message = parsed.message;
    this.fire('message_received', message.topic, message.payload, message.sender, message.messageId, message);
    this.deliveries.deliver(conn, message);
  }

  /**
   * Resolves once no delivery callback is running (their replies and acks are queued),
   * or after `timeoutMs`. `disconnect()` uses it so a callback's reply is not cut off.
   */
  idle(timeoutMs = 2000): Promise<void> {
    return this.deliveries.idle(timeoutMs);
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
