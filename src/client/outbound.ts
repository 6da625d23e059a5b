/**
 * What the client sends: requests (registered with their pending call first, so the
 * reply can find them) and notifications. A request that cannot go out fails its own
 * promise at once rather than waiting for its timeout.
 */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { HEADER_BYTES, encodeFrame } from '../protocol/framing.js';
import { notification, request as requestText } from '../protocol/jsonrpc.js';
import type { Connection } from './connection.js';
import { connectionLostError, errorText } from './errors.js';
import type { PendingCalls } from './pending-calls.js';

/** Sends requests and notifications on whichever connection it is given. */
export class Outbound {
  /**
   * @param pending where requests wait for their replies
   * @param where `host:port` of the broker, for error messages
   * @param maxMessageSize the broker's advertised `max_message_size`, if any
   */
  constructor(
    private readonly pending: PendingCalls,
    private readonly where: string,
    private readonly maxMessageSize: () => number | undefined,
  ) {}

  /**
   * Send a request on `conn` and resolve with its result. No connected-state check:
   * the handshake and the heartbeat use it on connections that are not "connected" yet.
   */
  request(conn: Connection, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const { id, promise } = this.pending.create(method, timeoutMs);
    let frame: Buffer;
    try {
      frame = encodeFrame(requestText(id, method, params));
    } catch (err) {
      this.pending.fail(id, new RpcError(ErrorCode.INVALID_PARAMS, `params of "${method}" are not JSON-serialisable: ${errorText(err)}`));
      return promise;
    }
    const limit = this.maxMessageSize();
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
  notify(conn: Connection, method: string, params: unknown): boolean {
    return conn.send(encodeFrame(notification(method, params)));
  }

  private sendFailure(conn: Connection, method: string): RpcError {
    if (conn.isClosed) return connectionLostError(method, 'connection_lost', this.where);
    return new RpcError(
      ErrorCode.LIMIT_EXCEEDED,
      `cannot send "${method}": ${conn.bufferedBytes} bytes are already waiting for the broker at ${this.where} to read them`,
    );
  }
}
