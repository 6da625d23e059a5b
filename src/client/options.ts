/**
 * Client options and their defaults. Names are the seed's `ClientConfig` names in
 * camelCase; times are in seconds, as in the seed, so values can be copied across.
 */
import { silentLogger, type Logger } from '../log/logger.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/messages.js';
import { isTimerSeconds, MAX_TIMER_S } from '../protocol/long-timeout.js';
import { VERSION } from '../version.js';

/** Options of {@link BrokerClient}; every field is optional. */
export interface BrokerClientOptions {
  /**
   * Broker host. Default `localhost`. The library does not read `BROKER_HOST`; an
   * application that honours it passes `process.env.BROKER_HOST` here.
   */
  host?: string;
  /** Broker port. Default 15234. `BROKER_PORT` is not read by the library (see `host`). */
  port?: number;
  /** Sent as `client_type` in `connect`; shows up in `system.client.connected`. Default `typescript`. */
  clientType?: string;
  /** Sent as `version` in `connect`. Default: this package's version, or `1.0`. */
  version?: string;
  /** Shared secret, when the broker is configured with one. */
  token?: string;
  /** Ask the broker to discard this client id's old session (subscriptions, queued QoS 1). Default false. */
  cleanSession?: boolean;
  /** Reconnect after an unexpected connection loss. Default true. */
  autoReconnect?: boolean;
  /** Seconds before the first reconnect attempt (before jitter). Default 1. */
  reconnectDelay?: number;
  /** Ceiling of the doubling reconnect delay, in seconds. Default 30. */
  maxReconnectDelay?: number;
  /** Attempts per outage before giving up; 0 retries forever. Default 0. */
  maxReconnectAttempts?: number;
  /**
   * Seconds allowed for TCP connect plus the `connect` handshake. Default 10. Every
   * duration option sets a timer, so each is at most 2147483 (24.8 days).
   */
  connectTimeout?: number;
  /** Default seconds to wait for the reply to a call. Default 5. */
  requestTimeout?: number;
  /**
   * Seconds between pings. Default: the broker's `heartbeat_interval` from the connect
   * result. 0 disables pings and the silence watchdog (the broker never times out a client
   * that does not ping).
   */
  heartbeatInterval?: number;
  /**
   * Run subscription callbacks for different deliveries concurrently instead of one at a
   * time. Callbacks still start in arrival order (their synchronous part runs in order);
   * a slow async callback (awaiting a reply from elsewhere) then no longer holds up the
   * deliveries behind it. Default false: strictly sequential, like the seed's client.
   */
  concurrentDeliveries?: boolean;
  /**
   * Also give each delivery's payload as the JSON text the broker sent
   * ({@link import('./message.js').Message.payloadText}), for a tool that shows or passes
   * on payloads exactly: the parsed `payload` cannot hold `1e400`, `-0`, `1.0` or digits
   * past a double's precision. Default false (the text is not kept).
   */
  payloadText?: boolean;
  /** Where the client logs; default silent, so embedding apps stay quiet. */
  logger?: Logger;
}

/** {@link BrokerClientOptions} with the defaults filled in and values checked. */
export interface ResolvedClientOptions {
  host: string;
  port: number;
  clientType: string;
  version: string;
  token: string | undefined;
  cleanSession: boolean;
  autoReconnect: boolean;
  reconnectDelay: number;
  maxReconnectDelay: number;
  maxReconnectAttempts: number;
  connectTimeout: number;
  requestTimeout: number;
  heartbeatInterval: number | undefined;
  concurrentDeliveries: boolean;
  payloadText: boolean;
  logger: Logger;
}

/** Longest `client_id` the broker accepts. */
export const MAX_CLIENT_ID_LENGTH = 128;

/** The default `version` sent in `connect`: this package's version. */
export function defaultClientVersion(): string {
  return VERSION;
}

/** A duration option: each sets a timer, and Node's timers fire at once past MAX_TIMER_S. */
function seconds(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!isTimerSeconds(value, allowZero)) {
    throw new RangeError(`BrokerClient option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, at most ${MAX_TIMER_S}, got ${String(value)}`);
  }
  return value;
}

/** Check a client id the way the broker will, so mistakes surface at construction. */
export function validateClientId(clientId: unknown): string {
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new RangeError(`BrokerClient clientId must be a string of 1-${MAX_CLIENT_ID_LENGTH} characters, got ${JSON.stringify(clientId)}`);
  }
  return clientId;
}

/** Fill in defaults and reject values that could only fail later, far from their cause. */
export function resolveClientOptions(options: BrokerClientOptions = {}): ResolvedClientOptions {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`BrokerClient option port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const maxAttempts = options.maxReconnectAttempts ?? 0;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new RangeError(`BrokerClient option maxReconnectAttempts must be a non-negative integer, got ${String(maxAttempts)}`);
  }
  const reconnectDelay = seconds('reconnectDelay', options.reconnectDelay, 1);
  return {
    host: options.host ?? DEFAULT_HOST,
    port,
    clientType: options.clientType ?? 'typescript',
    version: options.version ?? defaultClientVersion(),
    token: options.token,
    cleanSession: options.cleanSession ?? false,
    autoReconnect: options.autoReconnect ?? true,
    reconnectDelay,
    maxReconnectDelay: Math.max(reconnectDelay, seconds('maxReconnectDelay', options.maxReconnectDelay, 30)),
    maxReconnectAttempts: maxAttempts,
    connectTimeout: seconds('connectTimeout', options.connectTimeout, 10),
    requestTimeout: seconds('requestTimeout', options.requestTimeout, 5),
    heartbeatInterval: options.heartbeatInterval === undefined ? undefined : seconds('heartbeatInterval', options.heartbeatInterval, 0, true),
    concurrentDeliveries: options.concurrentDeliveries ?? false,
    payloadText: options.payloadText ?? false,
    logger: options.logger ?? silentLogger(),
  };
}
