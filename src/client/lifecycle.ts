/**
 * The connection's lifecycle: `connect()`, the handshake on each new socket, what a lost
 * connection does to calls in flight, the reconnect loop with its backoff, `disconnect()`,
 * and the heartbeat that runs while connected. It owns the client's state and current
 * connection; `BrokerClient` reads them to decide whether a call can go out.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode, RpcError } from '../protocol/errors.js';
import type { ConnectResult } from '../protocol/messages.js';
import { reconnectDelay } from './backoff.js';
import type { ClientState } from './call-types.js';
import { Connection, DEFAULT_MAX_INCOMING_FRAME } from './connection.js';
import { connectionLostError, errorText, type NotConnectedState } from './errors.js';
import { restoreSubscriptions, sendConnect, type HandshakeContext } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import type { PendingCalls } from './pending-calls.js';

// `disconnect()` is a courtesy to the broker; never let a dead broker stall shutdown.
const DISCONNECT_REPLY_TIMEOUT = 2;
const DISCONNECT_CLOSE_GRACE_MS = 1000;

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** What the lifecycle needs from its client, beyond what the handshake needs. */
export interface LifecycleDeps extends HandshakeContext {
  /** Rejected all at once when a connection closes. */
  pending: PendingCalls;
  /** The patterns to re-subscribe on each new connection. */
  patterns(): string[];
  /** Every value read from the current connection, with its frame's bytes (valid during the call). */
  onValue(conn: Connection, value: unknown, body: Buffer): void;
  /** Resolves once no delivery callback is running, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

/** The client's connection state machine; see the file comment. */
export class ConnectionLifecycle {
  private conn: Connection | undefined;
  private currentState: ClientState = 'idle';
  private result: ConnectResult | undefined;
  /** Error the broker sent unprompted (`id: null`) on the current connection, e.g. -32006. */
  private serverError: RpcError | undefined;
  private connecting: Promise<ConnectResult> | undefined;
  private disconnecting: Promise<void> | undefined;
  /** Bumped by `disconnect()`, so a handshake in flight can tell it was cancelled. */
  private epoch = 0;
  /** Attempts since the last loss: what `maxReconnectAttempts` counts. */
  private reconnectAttempt = 0;
  /**
   * Where the backoff is: it goes on across connections lost before they were up for
   * `maxReconnectDelay`, so two clients connecting with one client_id, which close each
   * other's connection at every connect (`replaced`), slow down instead of taking turns
   * every second forever.
   */
  private backoffStep = 0;
  /** Connections in a row lost before they were up for `maxReconnectDelay`. */
  private shortConnections = 0;
  /** When the current (or last) connection finished its handshake (`performance.now()`). */
  private connectedAt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat = new Heartbeat();

  constructor(private readonly deps: LifecycleDeps) {}

  /** Where the client is: see {@link ClientState}. */
  get state(): ClientState {
    return this.currentState;
  }

  /** The open connection, handshaken or not; undefined between connections. */
  get connection(): Connection | undefined {
    return this.conn;
  }

  /** The broker's `connect` result of the current (or last) connection. */
  get serverInfo(): ConnectResult | undefined {
    return this.result;
  }

  /** The state as the NOT_CONNECTED error words it. */
  notConnectedState(): NotConnectedState {
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

  /** Remember the broker's unprompted error: it explains a close during the handshake. */
  noteServerError(error: RpcError): void {
    this.serverError = error;
  }

  /** `BrokerClient.connect()`. */
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
        this.deps.fire('connection_failed', toError(err));
      }
      throw err;
    } finally {
      this.connecting = undefined;
    }
  }

  /** Set by `BrokerClient.windDown()`: a lost connection is expected, not reconnected. */
  private windingDown = false;

  /** `BrokerClient.windDown()`. */
  windDown(): void {
    this.windingDown = true;
  }

  /** `BrokerClient.disconnect()`. */
  disconnect(): Promise<void> {
    this.disconnecting ??= this.doDisconnect().finally(() => {
      this.disconnecting = undefined;
    });
    return this.disconnecting;
  }

  private async doDisconnect(): Promise<void> {
    const { log, clientId } = this.deps;
    this.epoch++;
    this.clearReconnectTimer();
    this.heartbeat.stop();
    const wasConnected = this.currentState === 'connected';
    if (this.currentState === 'idle' || this.currentState === 'closed') return;
    this.currentState = 'closing';
    const conn = this.conn;
    if (conn && wasConnected) {
      // Let callbacks that are still running send their replies and acks first.
      await this.deps.idle(DISCONNECT_REPLY_TIMEOUT * 1000);
      try {
        await this.deps.request(conn, 'disconnect', undefined, DISCONNECT_REPLY_TIMEOUT * 1000);
      } catch (err) {
        log.debug('no reply to disconnect; closing anyway', { client_id: clientId, error: errorText(err) });
      }
      await conn.end(DISCONNECT_CLOSE_GRACE_MS);
    } else if (conn) {
      conn.destroy('client_disconnect');
    }
    this.currentState = 'closed';
    if (wasConnected) {
      log.info('disconnected', { client_id: clientId, reason: 'client_disconnect' });
      this.deps.fire('disconnected', 'client_disconnect');
    }
  }

  /**
   * Open a socket, handshake, restore subscriptions. Shared by `connect()` and the
   * reconnect loop; the caller owns the state before and after a failure.
   */
  private async establish(first: boolean): Promise<ConnectResult> {
    const { opts, where } = this.deps;
    const epoch = this.epoch;
    const deadline = performance.now() + opts.connectTimeout * 1000;
    const remaining = (): number => Math.max(1, deadline - performance.now());
    const aborted = (): RpcError => new RpcError(ErrorCode.NOT_CONNECTED, `connecting to the broker at ${where} was cancelled by disconnect()`);

    const conn: Connection = await Connection.open(
      { host: opts.host, port: opts.port, timeoutMs: remaining(), maxFrameSize: DEFAULT_MAX_INCOMING_FRAME },
      {
        onValue: (value, body) => {
          if (conn === this.conn) this.deps.onValue(conn, value, body);
        },
        onError: (error) => this.deps.fire('error_occurred', error),
        onClose: (reason, error) => this.onClose(conn, reason, error),
      },
    );
    if (epoch !== this.epoch) {
      conn.destroy('client_disconnect');
      throw aborted();
    }
    this.conn = conn;
    this.serverError = undefined;

    let result: ConnectResult;
    try {
      result = await sendConnect(this.deps, conn, first, remaining());
      if (epoch !== this.epoch) throw aborted();
      await restoreSubscriptions(this.deps, conn, this.deps.patterns());
      if (epoch !== this.epoch) throw aborted();
      if (conn.isClosed) throw connectionLostError('subscribe', 'connection_lost', where);
    } catch (err) {
      conn.destroy('handshake_failed');
      // "cancelled" explains a connect() that disconnect() cut short better than "closed".
      throw epoch !== this.epoch ? aborted() : err;
    }

    this.result = result;
    this.currentState = 'connected';
    this.reconnectAttempt = 0;
    this.connectedAt = performance.now();
    this.startHeartbeat(conn, result);
    this.deps.log.info('connected', {
      client_id: this.deps.clientId,
      broker: where,
      server_version: result.server_version,
      session_present: result.session_present,
    });
    // On a reconnect the broker may still hold this client's own dropped connection; on
    // the first connect, a live one is most likely another program's.
    if (first && result.replaced === true) {
      this.deps.log.warning('this client id was connected elsewhere; the broker closed that connection (replaced): is another program connecting as it?', {
        client_id: this.deps.clientId,
        broker: where,
      });
    }
    this.deps.fire('connected', result);
    return result;
  }

  private onClose(conn: Connection, reason: string, error: Error | undefined): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.heartbeat.stop();
    const state = this.currentState;
    const why = state === 'closing' ? 'client_disconnect' : reason;
    const serverError = this.serverError;
    this.serverError = undefined;
    // During a handshake the broker's unprompted error (e.g. -32006 too many connections)
    // says more than "connection closed".
    this.deps.pending.rejectAll((method) =>
      serverError && state !== 'connected' ? serverError : connectionLostError(method, why, this.deps.where),
    );
    if (state !== 'connected') return;

    if (this.windingDown) {
      // The program is shutting down, and its broker with it: nothing for an operator to do.
      this.deps.log.info('connection lost while winding down', { client_id: this.deps.clientId, reason: why });
      this.currentState = 'closed';
      this.deps.fire('disconnected', why);
      return;
    }
    this.deps.log.warning('connection lost', { client_id: this.deps.clientId, reason: why, error: error?.message });
    this.deps.fire('disconnected', why);
    if (this.deps.opts.autoReconnect) {
      this.currentState = 'reconnecting';
      this.noteHowLongItLasted();
      this.scheduleReconnect();
    } else {
      this.currentState = 'closed';
    }
  }

  /** Keep the backoff going after a short-lived connection, start it over after a stable one. */
  private noteHowLongItLasted(): void {
    const lasted = (performance.now() - this.connectedAt) / 1000;
    if (lasted >= this.deps.opts.maxReconnectDelay) {
      this.shortConnections = 0;
      this.backoffStep = 0;
      return;
    }
    this.shortConnections++;
    if (this.shortConnections >= 2) {
      this.deps.log.warning('connection lost soon after it was made, again; reconnecting with growing delays', {
        client_id: this.deps.clientId,
        lasted: +lasted.toFixed(3),
        short_connections_in_a_row: this.shortConnections,
        hint: 'is another program connecting with this client_id? each connect closes the other one\'s connection',
      });
    }
  }

  private scheduleReconnect(): void {
    this.reconnectAttempt++;
    this.backoffStep++;
    const delay = reconnectDelay(this.backoffStep, {
      baseDelay: this.deps.opts.reconnectDelay,
      maxDelay: this.deps.opts.maxReconnectDelay,
    });
    this.deps.log.info('reconnecting', { client_id: this.deps.clientId, attempt: this.reconnectAttempt, delay: +delay.toFixed(3) });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      // Failures are reported through events and by scheduling the next attempt.
      this.reconnectNow().catch(() => undefined);
    }, delay * 1000);
  }

  private async reconnectNow(): Promise<ConnectResult> {
    if (this.connecting) return this.connecting;
    const { log, clientId, where } = this.deps;
    const attempt = this.reconnectAttempt;
    this.connecting = this.establish(false);
    try {
      return await this.connecting;
    } catch (err) {
      if (this.currentState !== 'reconnecting') throw err;
      const error = toError(err);
      log.warning('reconnect attempt failed', { client_id: clientId, attempt, error: error.message });
      this.deps.fire('connection_failed', error);
      const max = this.deps.opts.maxReconnectAttempts;
      if (max > 0 && attempt >= max) {
        this.currentState = 'closed';
        log.error('gave up reconnecting', { client_id: clientId, attempts: attempt });
        this.deps.fire(
          'error_occurred',
          new Error(`gave up reconnecting to the broker at ${where} after ${attempt} attempt(s): ${error.message}`, { cause: err }),
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
    const ping = (silenceMs: number): Promise<unknown> => this.deps.request(conn, 'ping', undefined, silenceMs);
    this.heartbeat.start(conn, result, this.deps.opts.heartbeatInterval, ping, (idleMs) => {
      this.deps.log.warning('broker silent; dropping connection', { client_id: this.deps.clientId, silent_for: +(idleMs / 1000).toFixed(3) });
      conn.destroy('heartbeat_timeout');
    });
  }
}
