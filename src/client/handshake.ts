/**
 * What the client says on a fresh connection before it counts as connected: the
 * `connect` request (with `clean_session` only on the first connect) and the re-subscribe
 * of the patterns it already holds. When to do it, and what a failure means for the
 * connection's state, is lifecycle.ts's business.
 */
import type { Logger } from '../log/logger.js';
import { ErrorCode, RpcError } from '../protocol/errors.js';
import type { ConnectResult } from '../protocol/messages.js';
import type { Connection } from './connection.js';
import { errorText } from './errors.js';
import type { EmitFn } from './events.js';
import type { ResolvedClientOptions } from './options.js';
import { confirmedPatterns } from './subscriptions.js';

/** What the handshake needs from its client. */
export interface HandshakeContext {
  clientId: string;
  opts: ResolvedClientOptions;
  /** `host:port` of the broker, for messages. */
  where: string;
  log: Logger;
  fire: EmitFn;
  /** Send a request on `conn`, which is not "connected" yet. */
  request(conn: Connection, method: string, params: unknown, timeoutMs: number): Promise<unknown>;
}

/**
 * Send `connect` on `conn` and resolve with the broker's checked result. `first` is
 * true for `connect()`, false for a reconnect.
 */
export async function sendConnect(ctx: HandshakeContext, conn: Connection, first: boolean, timeoutMs: number): Promise<ConnectResult> {
  const { opts } = ctx;
  const params: Record<string, unknown> = {
    client_id: ctx.clientId,
    client_type: opts.clientType,
    version: opts.version,
  };
  if (opts.token !== undefined) params.token = opts.token;
  // Only on the first connect: a reconnect that discarded the session would lose the
  // QoS 1 messages the broker queued for us during the outage.
  if (first && opts.cleanSession) params.clean_session = true;

  const raw = await ctx.request(conn, 'connect', params, timeoutMs).catch((err: unknown) => {
    if (err instanceof RpcError && err.code === ErrorCode.TIMEOUT) {
      // Say which peer stayed silent: something listens there, but it is not answering as a broker.
      throw new RpcError(
        ErrorCode.TIMEOUT,
        `${ctx.where} accepted the connection but did not answer "connect" within ${opts.connectTimeout}s (is it a broker?)`,
      );
    }
    throw err;
  });
  if (typeof raw !== 'object' || raw === null || typeof (raw as { client_id?: unknown }).client_id !== 'string') {
    throw new RpcError(ErrorCode.INTERNAL_ERROR, `broker at ${ctx.where} sent a malformed connect result: ${JSON.stringify(raw)}`);
  }
  // Only client_id is checked; the other fields are the broker's promise.
  return raw as ConnectResult;
}

/**
 * Subscribe `conn` to `patterns` again. Rejects only when the connection closed; a
 * broker that refuses becomes an `error_occurred` and the connection stays.
 */
export async function restoreSubscriptions(ctx: HandshakeContext, conn: Connection, patterns: string[]): Promise<void> {
  if (patterns.length === 0) return;
  try {
    const res = await ctx.request(conn, 'subscribe', { patterns }, ctx.opts.requestTimeout * 1000);
    ctx.fire('subscribed', confirmedPatterns(res, 'subscribed', patterns));
  } catch (err) {
    if (conn.isClosed) throw err;
    // The connection is fine; the broker refused some pattern (e.g. a lowered
    // max_subscriptions). Staying connected beats a reconnect loop that cannot succeed.
    const error = new Error(`re-subscribing ${patterns.length} pattern(s) after connect failed: ${errorText(err)}`, { cause: err });
    ctx.log.error('re-subscribe failed', { client_id: ctx.clientId, error: errorText(err) });
    ctx.fire('error_occurred', error);
  }
}
