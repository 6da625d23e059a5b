/**
 * Routes what the broker sends: responses to the calls waiting for them, its unprompted
 * errors (`id: null`) to the client, `message` notifications to delivery. Anything else
 * is answered or reported, never thrown: this runs inside the socket's data handler.
 */
import type { Logger } from '../log/logger.js';
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { encodeFrame } from '../protocol/framing.js';
import { classify, errorResponse, methodNotFound } from '../protocol/jsonrpc.js';
import { DELIVERY_METHOD } from '../protocol/messages.js';
import { valueSpan } from '../protocol/value-span.js';
import { incomingFrameLimit, type Connection } from './connection.js';
import { errorText } from './errors.js';
import { parseDelivery, type Message } from './message.js';
import type { PendingCalls } from './pending-calls.js';
import { PublishAnswers } from './publish-answers.js';
import type { ReplayTarget, RetainedReplay } from './retained-replay.js';

/** Where a delivery frame holds its payload, and a response its result. */
const PAYLOAD_PATH = ['params', 'payload'];
const RESULT_PATH = ['result'];

/** The text of the value at `path` in the frame `body` (the broker writes UTF-8). */
function spanText(body: Buffer, path: readonly string[]): string | undefined {
  const span = valueSpan(body, 0, body.length, path);
  return span === null ? undefined : body.toString('utf8', span[0], span[1]);
}

/** What the router needs from its client. */
export interface InboundDeps {
  clientId: string;
  log: Logger;
  /** The calls that responses settle. */
  pending: PendingCalls;
  /** The broker sent an error outside any call (e.g. -32006 too many connections). */
  onServerError(error: RpcError): void;
  /** Which callbacks a subscribe's retained messages run. */
  replay: RetainedReplay;
  /**
   * A well-formed delivery arrived on `conn`; `target`, when not undefined, is the one
   * callback it may run (a subscribe's retained message), `null` for none.
   */
  onMessage(conn: Connection, message: Message, target: ReplayTarget | undefined): void;
  /** Something unusable arrived: the client's `error_occurred`. */
  reportError(error: Error): void;
  /** Keep each delivery's payload text (the client option `payloadText`). */
  payloadText: boolean;
}

/** Dispatches each incoming JSON value of the current connection. */
export class InboundRouter {
  constructor(private readonly deps: InboundDeps) {}

  /**
   * Handle one frame's value: a single message or a batch of them. `body`, the frame's
   * bytes, is read only during the call, for a delivery's payload text.
   */
  route(conn: Connection, value: unknown, body?: Buffer): void {
    if (value instanceof PublishAnswers) {
      this.deps.replay.interrupted();
      const { ids, results } = value;
      for (let i = 0; i < ids.length; i++) {
        if (!this.deps.pending.resolve(ids[i]!, results[i])) this.unexpectedReply(ids[i]!);
      }
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) this.deps.reportError(new Error('broker sent an empty batch; skipped'));
      // The broker sends a delivery in a frame of its own; in a batch its text is not looked for.
      this.deps.replay.interrupted();
      for (const item of value) this.routeOne(conn, item);
    } else {
      this.routeOne(conn, value, body);
    }
  }

  private routeOne(conn: Connection, value: unknown, body?: Buffer): void {
    const c = classify(value);
    switch (c.kind) {
      case 'response': {
        // Here, not when the handshake's promise resumes: the deliveries that follow the
        // connect result (a redelivered QoS 1 message) may be in this very read.
        // One look-up per connection, not per answer.
        if (!conn.brokerLimitKnown && c.error === undefined && this.deps.pending.methodOf(c.id) === 'connect') {
          conn.acceptFramesUpTo(incomingFrameLimit((c.result as { max_message_size?: unknown } | null)?.max_message_size));
        }
        this.deps.replay.answered(c.id, c.error === undefined);
        const text = body !== undefined && this.deps.pending.wantsText(c.id) ? spanText(body, RESULT_PATH) : undefined;
        if (this.deps.pending.settle(c.id, c, text)) return;
        if (c.id === null && c.error) {
          const error = new RpcError(
            typeof c.error.code === 'number' ? c.error.code : ErrorCode.INTERNAL_ERROR,
            `broker error: ${errorText(c.error)}`,
            c.error.data,
          );
          this.deps.onServerError(error);
          this.deps.log.warning('broker sent an error', { client_id: this.deps.clientId, code: error.code, error: error.message });
          this.deps.reportError(error);
        } else {
          this.unexpectedReply(c.id);
        }
        return;
      }
      case 'call': {
        if (c.method === DELIVERY_METHOD && c.id === undefined) {
          this.onDelivery(conn, c.params, body);
          return;
        }
        this.deps.replay.interrupted();
        if (c.id !== undefined) {
          // The contract has no broker-to-client requests; answer so a peer is not left waiting.
          conn.send(encodeFrame(errorResponse(c.id, methodNotFound(c.method))));
        } else {
          this.deps.log.debug('ignoring unknown notification from broker', { client_id: this.deps.clientId, method: c.method });
        }
        return;
      }
      case 'invalid':
        this.deps.replay.interrupted();
        this.deps.reportError(new Error(`invalid JSON-RPC message from broker skipped: ${c.reason}`));
        return;
    }
  }

  /** A reply to a call that already timed out locally. */
  private unexpectedReply(id: unknown): void {
    this.deps.log.debug('reply for no pending call', { client_id: this.deps.clientId, id });
  }

  private onDelivery(conn: Connection, params: unknown, body: Buffer | undefined): void {
    const parsed = parseDelivery(params);
    if (!parsed.ok) {
      this.deps.replay.interrupted();
      this.deps.reportError(new Error(`malformed delivery from broker skipped: ${parsed.reason}`));
      return;
    }
    if (this.deps.payloadText && body !== undefined) parsed.message.payloadText = spanText(body, PAYLOAD_PATH);
    this.deps.onMessage(conn, parsed.message, this.deps.replay.targetOf(parsed.message));
  }
}
