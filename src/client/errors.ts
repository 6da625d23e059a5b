/**
 * Errors the client makes itself (as opposed to error responses from the broker, which
 * arrive as `RpcError` with the broker's code). Local failures that stand in for a reply
 * are `RpcError`s too, so callers branch on `code` alone.
 */
import { ErrorCode, RpcError, isRpcErrorObject } from '../protocol/errors.js';
import { isTimerSeconds, MAX_TIMER_S } from '../protocol/long-timeout.js';

/**
 * The TCP connection to the broker could not be opened. `code` is the system error code
 * (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, ...) when there is one.
 */
export class BrokerConnectionError extends Error {
  /** System error code, e.g. `ECONNREFUSED`; `undefined` when none applies. */
  readonly code: string | undefined;
  readonly host: string;
  readonly port: number;

  constructor(message: string, host: string, port: number, code?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BrokerConnectionError';
    this.host = host;
    this.port = port;
    this.code = code;
  }
}

function systemCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  // With autoSelectFamily, Node may report an AggregateError of the per-address failures.
  const inner = (err as { errors?: unknown } | null)?.errors;
  if (Array.isArray(inner)) return systemCode(inner[0]);
  return undefined;
}

/** Turn a socket error from `net.connect` into a message that says what to check. */
export function connectionError(err: unknown, host: string, port: number): BrokerConnectionError {
  const code = systemCode(err);
  const where = `${host}:${port}`;
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ECONNREFUSED':
      return new BrokerConnectionError(`no broker at ${where}: connection refused (is the broker running, and on this port?)`, host, port, code, err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new BrokerConnectionError(`cannot resolve broker host "${host}" (${code}) for ${where}`, host, port, code, err);
    case 'ETIMEDOUT':
      return new BrokerConnectionError(`timed out connecting to broker at ${where}`, host, port, code, err);
    case 'ECONNRESET':
      return new BrokerConnectionError(`broker at ${where} reset the connection`, host, port, code, err);
    default:
      return new BrokerConnectionError(`cannot connect to broker at ${where}: ${detail}`, host, port, code, err);
  }
}

/** Why the client has no connection right now; worded for the NOT_CONNECTED message. */
export type NotConnectedState = 'never connected' | 'connecting' | 'reconnecting' | 'disconnected';

/** The immediate rejection of a call made while there is no connection. */
export function notConnectedError(method: string, state: NotConnectedState, where: string): RpcError {
  return new RpcError(
    ErrorCode.NOT_CONNECTED,
    `cannot call "${method}": client is not connected to the broker at ${where} (${state})`,
    { state },
  );
}

/** The close reason of a connection to a server that answered in HTTP (connection.ts). */
export const NOT_A_BROKER = 'not_a_broker';

/** The rejection of a call whose connection closed before its reply arrived. */
export function connectionLostError(method: string, reason: string, where: string): RpcError {
  const why = reason === NOT_A_BROKER ? `: the server there answered in HTTP, so it is a web server (a status page's port?), not the broker` : '';
  return new RpcError(
    ErrorCode.NOT_CONNECTED,
    `connection to the broker at ${where} closed (${reason}) before the reply to "${method}" arrived${why}`,
    { reason },
  );
}

/** The message of whatever was thrown or rejected with, for logs and error events. */
export function errorText(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (isRpcErrorObject(value)) return value.message;
  return String(value);
}

/**
 * The error for a call's timeout (seconds) that no timer can keep: not a number, 0 or
 * less, or past {@link MAX_TIMER_S}, where Node's timers would fire at once. Null when
 * it is fine.
 */
export function timeoutProblem(method: string, timeout: unknown): RpcError | null {
  if (isTimerSeconds(timeout)) return null;
  const got = typeof timeout === 'number' ? String(timeout) : `a ${timeout === null ? 'null' : typeof timeout}`;
  return new RpcError(ErrorCode.INVALID_PARAMS, `the timeout of "${method}" must be a number of seconds, more than 0 and at most ${MAX_TIMER_S}, got ${got}`);
}
