/**
 * What the client sends: requests (registered with their pending call first, so the
 * reply can find them) and notifications. A request that cannot go out fails its own
 * promise at once rather than waiting for its timeout.
 */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { HEADER_BYTES, encodeFrame } from '../protocol/framing.js';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '../protocol/json-depth.js';
import { notification, request as requestText } from '../protocol/jsonrpc.js';
import { BatchFrameWriter, type CallWriter } from './batch-frame.js';
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
   * Send a request on `conn` and resolve with its result (with `text`, the result's JSON
   * text as the broker sent it). No connected-state check: the handshake and the
   * heartbeat use it on connections that are not "connected" yet.
   * @param onId told the call's id before it is sent
   */
  request(conn: Connection, method: string, params: unknown, timeoutMs: number, text = false, onId?: (id: number) => void): Promise<unknown> {
    const { id, promise } = this.pending.create(method, timeoutMs, text);
    onId?.(id);
    let frame: Buffer;
    try {
      frame = encodeFrame(requestText(id, method, params));
    } catch (err) {
      this.pending.fail(id, new RpcError(ErrorCode.INVALID_PARAMS, `params of "${method}" are not JSON-serialisable: ${errorText(err)}`));
      return promise;
    }
    if (exceedsJsonDepth(frame.subarray(HEADER_BYTES))) {
      // The broker cannot read the id of a frame it refuses for its depth: its error
      // (id null) would find no call, and this one would wait for its timeout.
      this.pending.fail(id, this.tooDeep(method));
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
   * `writeCall(i, id, out)` writes call `i` with the id it must carry into `out` (see
   * batch-frame.ts: each call goes straight into the frame's bytes). A call the batch
   * cannot carry is answered with its own error and the others go ahead: a `writeCall`
   * that throws (params that are not JSON), a call larger than the broker takes or nested
   * deeper than it reads (a call that is one level too deep for a batch, whose array
   * counts as a level, goes out alone). When a frame cannot be queued (the socket closed,
   * or its send buffer is full), it and every call after it are answered with that error,
   * so what is sent stays in order. Rejects as a whole on the timeout, or when the
   * connection is lost before every answer is in.
   */
  requestBatch(conn: Connection, method: string, count: number, writeCall: (i: number, id: number, out: CallWriter) => void, timeoutMs: number): Promise<BatchAnswer[]> {
    if (count === 0) return Promise.resolve([]);
    const { first, promise } = this.pending.createBatch(method, count, timeoutMs);
    const advertised = this.maxMessageSize();
    // Anything but a positive size is not a limit a broker could mean: the contract's default.
    const limit = typeof advertised === 'number' && advertised > 0 ? advertised : DEFAULT_BATCH_FRAME_BYTES;
    /** Ids written and not yet handed over in a frame, in order. */
    const unsent: number[] = [];
    let refused: RpcError | null = null;
    const frames = new BatchFrameWriter(limit, MAX_JSON_DEPTH, (frame, calls) => {
      const ids = unsent.splice(0, calls);
      if (refused === null && conn.send(frame)) return;
      refused ??= this.sendFailure(conn, method);
      for (const id of ids) this.pending.failInBatch(id, refused);
    });
    for (let i = 0; i < count; i++) {
      const id = first + i;
      frames.beginCall();
      try {
        writeCall(i, id, frames);
      } catch (err) {
        frames.abortCall();
        this.pending.failInBatch(id, new RpcError(ErrorCode.INVALID_PARAMS, `params of "${method}" are not JSON-serialisable: ${errorText(err)}`));
        continue;
      }
      unsent.push(id);
      const fit = frames.endCall();
      if (fit.kind === 'too-large' || fit.kind === 'too-deep') {
        unsent.pop();
        this.pending.failInBatch(id, fit.kind === 'too-large' ? this.tooLarge(method, fit.bytes, limit) : this.tooDeep(method));
      }
    }
    frames.flush();
    return promise;
  }

  /**
   * Send a notification on `conn`; returns false when it could not be queued. Throws an
   * {@link RpcError} (-32600) for params nested deeper than the broker reads, which it
   * would refuse unanswerably, or a frame over its `max_message_size`, for which it would
   * close the connection; and whatever `JSON.stringify` throws for params it cannot
   * serialise.
   */
  notify(conn: Connection, method: string, params: unknown): boolean {
    const frame = encodeFrame(notification(method, params));
    if (exceedsJsonDepth(frame.subarray(HEADER_BYTES))) throw this.tooDeep(method);
    // As for a call: the broker would close the connection for an oversize frame. A reply
    // too big is answered as an error instead (the delivery dispatcher), so the requester
    // fails at once and this client stays connected.
    const limit = this.maxMessageSize();
    if (typeof limit === 'number' && frame.length - HEADER_BYTES > limit) throw this.tooLarge(method, frame.length - HEADER_BYTES, limit);
    return conn.send(frame);
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
