/**
 * What the client sends: requests (registered with their pending call first, so the
 * reply can find them) and notifications. A request that cannot go out fails its own
 * promise at once rather than waiting for its timeout.
 */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { HEADER_BYTES, encodeFrame } from '../protocol/framing.js';
import { exceedsJsonDepthText, MAX_JSON_DEPTH } from '../protocol/json-depth.js';
import { notification, request as requestText } from '../protocol/jsonrpc.js';
import type { Connection } from './connection.js';
import { connectionLostError, errorText } from './errors.js';
import type { BatchAnswer } from './pending-batches.js';
import type { PendingCalls } from './pending-calls.js';

/**
 * Largest batch frame when the broker advertised no `max_message_size`: the contract's
 * default limit, which every broker speaking it accepts.
 */
export const DEFAULT_BATCH_FRAME_BYTES = 1024 * 1024;

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
      this.pending.fail(id, this.tooLarge(method, frame.length - HEADER_BYTES, limit));
      return promise;
    }
    if (!conn.send(frame)) this.pending.fail(id, this.sendFailure(conn, method));
    return promise;
  }

  /**
   * Send `count` calls of `method` on `conn` as JSON-RPC batch frames, as few as the
   * broker's `max_message_size` allows, and resolve with every call's answer in order.
   * `callText(i, id)` writes call `i` with the id it must carry (a plain `request` of its
   * params, or text the caller builds faster itself). A call the batch cannot carry is
   * answered with its own error and the others go ahead: params that are not JSON, a call
   * larger than the broker takes or nested deeper than it reads (a call that is one level
   * too deep for a batch, whose array counts as a level, goes out alone). When a frame
   * cannot be queued (the socket closed, or its send buffer is full), it and every call
   * after it are answered with that error, so what is sent stays in order. Rejects as a
   * whole on the timeout, or when the connection is lost before every answer is in.
   */
  requestBatch(conn: Connection, method: string, count: number, callText: (i: number, id: number) => string, timeoutMs: number): Promise<BatchAnswer[]> {
    if (count === 0) return Promise.resolve([]);
    const { first, promise } = this.pending.createBatch(method, count, timeoutMs);
    const advertised = this.maxMessageSize();
    // Anything but a positive size is not a limit a broker could mean: the contract's default.
    const limit = typeof advertised === 'number' && advertised > 0 ? advertised : DEFAULT_BATCH_FRAME_BYTES;
    let parts: string[] = [];
    let ids: number[] = [];
    let bytes = 1; // the brackets and the commas between calls
    let refused: RpcError | null = null;
    const sendFrame = (text: string, frameIds: readonly number[]): void => {
      if (refused === null && conn.send(encodeFrame(text))) return;
      refused ??= this.sendFailure(conn, method);
      for (const id of frameIds) this.pending.failInBatch(id, refused);
    };
    const sendBatch = (): void => {
      if (parts.length === 0) return;
      sendFrame(`[${parts.join(',')}]`, ids);
      parts = [];
      ids = [];
      bytes = 1;
    };
    for (let i = 0; i < count; i++) {
      const id = first + i;
      let text: string;
      try {
        text = callText(i, id);
      } catch (err) {
        this.pending.failInBatch(id, new RpcError(ErrorCode.INVALID_PARAMS, `params of "${method}" are not JSON-serialisable: ${errorText(err)}`));
        continue;
      }
      const size = Buffer.byteLength(text, 'utf8') + 1;
      if (size + 1 > limit) {
        this.pending.failInBatch(id, this.tooLarge(method, size + 1, limit));
        continue;
      }
      if (exceedsJsonDepthText(text, MAX_JSON_DEPTH - 1)) {
        if (exceedsJsonDepthText(text, MAX_JSON_DEPTH)) {
          this.pending.failInBatch(id, this.tooDeep(method));
        } else {
          sendBatch();
          sendFrame(text, [id]);
        }
        continue;
      }
      if (bytes + size > limit) sendBatch();
      parts.push(text);
      ids.push(id);
      bytes += size;
    }
    sendBatch();
    return promise;
  }

  /** Send a notification on `conn`; returns false when it could not be queued. */
  notify(conn: Connection, method: string, params: unknown): boolean {
    return conn.send(encodeFrame(notification(method, params)));
  }

  private tooDeep(method: string): RpcError {
    return new RpcError(ErrorCode.INVALID_REQUEST, `"${method}" nests JSON deeper than the broker reads (${MAX_JSON_DEPTH} levels, the call's own included)`, {
      max_depth: MAX_JSON_DEPTH,
    });
  }

  private tooLarge(method: string, bytes: number, limit: number): RpcError {
    return new RpcError(ErrorCode.INVALID_REQUEST, `"${method}" is ${bytes} bytes, over the broker's max_message_size of ${limit}`, { max_message_size: limit });
  }

  private sendFailure(conn: Connection, method: string): RpcError {
    if (conn.isClosed) return connectionLostError(method, 'connection_lost', this.where);
    return new RpcError(
      ErrorCode.LIMIT_EXCEEDED,
      `cannot send "${method}": ${conn.bufferedBytes} bytes are already waiting for the broker at ${this.where} to read them`,
    );
  }
}
