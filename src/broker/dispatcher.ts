/**
 * Turns frames into method calls and calls into responses, following JSON-RPC 2.0:
 * notifications are never answered, batches get one array of responses (or nothing when
 * all were notifications), and when several errors apply the first of -32600, -32601,
 * -32001, -32602 wins. Handlers throw `RpcError`; anything else they throw is a broker
 * bug, logged with context and answered as -32603 for that call only, never a crash:
 * every asynchronous continuation here has a rejection handler.
 */
import { ErrorCode, RpcError } from '../protocol/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../protocol/json-depth.js';
import {
  classify,
  errorObject,
  invalidParams,
  invalidRequest,
  methodNotFound,
  parseError,
  resultObject,
  type RpcCall,
  type RpcClassified,
  type RpcResponseObject,
} from '../protocol/jsonrpc.js';
import { scanBatch, scanCall } from '../protocol/call-scan.js';
import type { RawJson } from '../protocol/raw-json.js';
import { decodeFrameText } from '../protocol/text.js';
import { AckTemplate, ackedIdEnd } from './ack-template.js';
import { encodeAnswerFrame } from './answer-encoder.js';
import { BadFrameLog } from './bad-frames.js';
import { BatchPublishReader, TemplatedPublishCall } from './batch-publish-template.js';
import type { Connection } from './connection.js';
import type { BrokerContext, CallContext } from './context.js';
import { NO_FAULTS } from './faults.js';
import { METHODS } from './handlers/index.js';
import { acknowledgeIdBytes } from './handlers/ack.js';
import { publishChecked, publishUnanswered } from './handlers/publish.js';
import { namedParams, requireSendableTopic } from './params.js';
import { restoreRawParams, type RawParamsSpec } from './parsed-raw-params.js';
import { PendingAnswer } from './pending-answer.js';
import { PublishTemplate } from './publish-template.js';
import type { Session } from './session.js';

type Answer = RpcResponseObject | RpcResponseObject[];
/**
 * A response now, one a promise brings, or a handler's result still to come in a
 * `PendingAnswer` (its caller makes the response with `later()` in the turn it comes: no
 * second pending answer and listener per request).
 */
type Outcome = RpcResponseObject | undefined | Promise<RpcResponseObject | undefined> | PendingAnswer;

/** Notifications that fail are logged at warning this many times per connection, then at debug. */
const LOUD_NOTIFICATION_FAILURES = 5;

const rawParamsOf = (method: string): readonly string[] | undefined => METHODS.get(method)?.rawParams;
const specOf = (method: string): RawParamsSpec | undefined => METHODS.get(method);

/** What a failed templated publish reports as its call (made once: the call itself is never built). */
const TEMPLATED_CALL: Readonly<RpcCall> = Object.freeze({ kind: 'call', method: 'publish', params: undefined, id: undefined });
const TEMPLATED_ACK: Readonly<RpcCall> = Object.freeze({ kind: 'call', method: 'ack', params: undefined, id: undefined });
const internalError = (what: string): RpcError => new RpcError(ErrorCode.INTERNAL_ERROR, `Internal error: ${what}`);

export class Dispatcher {
  private readonly failedNotifications = new WeakMap<Connection, number>();
  private readonly badFrames: BadFrameLog;

  /**
   * False while a test injects faults: those seams sit on the general path, which every
   * frame then takes.
   */
  private readonly templated: boolean;

  constructor(private readonly broker: BrokerContext) {
    this.badFrames = new BadFrameLog(broker.log);
    this.templated = broker.fault === NO_FAULTS;
  }

  /** Handle one frame from `conn`: its body is `buf[start..end)`. */
  handleFrame(conn: Connection, buf: Buffer, start: number, end: number): void {
    // A publisher repeats its envelope: only the payload of such a frame is read.
    const template = conn.publishTemplate;
    if (template !== null && this.templated) {
      const payload = template.payloadOf(buf, start, end);
      if (payload !== null) {
        this.publishTemplated(conn, template.topic, payload);
        return;
      }
    }
    // A subscriber acks every QoS 1 delivery in the same envelope: only the id is read.
    const ackTemplate = conn.ackTemplate;
    if (ackTemplate !== null && this.templated) {
      const idStart = ackTemplate.idStart(buf, start, end);
      if (idStart >= 0) {
        this.ackTemplated(conn, buf, idStart, ackedIdEnd(end));
        return;
      }
    }
    // Most other frames are one plain call: read in one pass over the bytes (call-scan.ts).
    const scanned = scanCall(buf, start, end, rawParamsOf);
    if (scanned !== null) {
      if (conn.session !== null && this.templated) this.learnTemplate(conn, scanned, buf, start, end);
      this.answer(conn, scanned);
      return;
    }
    // A client publishing many messages at once sends them as one batch, its publishes
    // read through the connection's batch templates once one taught them.
    const reader = conn.session !== null && this.templated ? (conn.batchPublishReader ??= new BatchPublishReader()) : null;
    const batch = scanBatch(buf, start, end, rawParamsOf, reader);
    if (batch !== null) {
      this.handleBatch(conn, batch, []);
      return;
    }
    const body = buf.subarray(start, end);
    if (body.length === 0) {
      this.badFrames.report(conn, 0, '', 'empty frame (length 0)');
      this.reply(conn, errorObject(null, parseError('empty frame (length 0)')));
      return;
    }
    // Before parsing: JSON.parse accepts nesting that nothing can serialise again.
    if (exceedsJsonDepth(body, MAX_JSON_DEPTH)) {
      this.broker.log.debug('frame nested too deeply', { conn: conn.id, client_id: conn.clientId, bytes: body.length });
      this.reply(conn, errorObject(null, invalidRequest(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { max_depth: MAX_JSON_DEPTH })));
      return;
    }
    let value: unknown;
    let text = '';
    try {
      text = decodeFrameText(body, this.broker.config.legacy_encoding);
      value = JSON.parse(text);
    } catch (err) {
      this.badFrames.report(conn, body.length, text, err);
      this.reply(conn, errorObject(null, parseError((err as Error).message)));
      return;
    }
    restoreRawParams(value, text, specOf);
    if (Array.isArray(value)) {
      this.handleBatch(conn, value.map(classify), []);
      return;
    }
    this.answer(conn, classify(value));
  }

  /** Handle one call (or answer what is wrong with it) and send its response. */
  private answer(conn: Connection, msg: RpcClassified): void {
    const after: (() => void)[] = [];
    const outcome = this.handleOne(conn, msg, (fn) => void after.push(fn));
    if (outcome instanceof Promise) {
      outcome.then((response) => this.finish(conn, response, after)).catch((err: unknown) => this.lastResort(conn, err));
    } else if (outcome instanceof PendingAnswer) {
      const call = msg as RpcCall; // only a call's handler answers later
      outcome.onSettled((failed, value) => {
        try {
          this.finish(conn, this.later(conn, call, failed, value), after);
        } catch (err) {
          this.lastResort(conn, err);
        }
      });
    } else {
      this.finish(conn, outcome, after);
    }
  }

  /** Keep `call`'s envelope as the connection's template of its kind, when it makes one. */
  private learnTemplate(conn: Connection, call: RpcCall, buf: Buffer, start: number, end: number): void {
    if (call.method === 'publish') conn.publishTemplate = PublishTemplate.learn(call, buf, start, end) ?? conn.publishTemplate;
    else if (call.method === 'ack') conn.ackTemplate = AckTemplate.learn(call, buf, start, end) ?? conn.ackTemplate;
  }

  /** An ack notification read through the connection's template. */
  private ackTemplated(conn: Connection, buf: Buffer, idStart: number, idEnd: number): void {
    const session = conn.session;
    if (session === null) return; // never: templates are learned once connected, and a connection keeps its session
    try {
      acknowledgeIdBytes(this.broker, session, buf, idStart, idEnd);
    } catch (err) {
      this.fail(conn, TEMPLATED_ACK, err);
    }
  }

  /** A publish notification read through the connection's template. */
  private publishTemplated(conn: Connection, topic: string, payload: RawJson): void {
    const session = conn.session;
    if (session === null) return; // never: templates are learned once connected, and a connection keeps its session
    try {
      const done = publishUnanswered(this.broker, session, requireSendableTopic(topic), payload);
      // Behind a journaled publish of the same client it waits its turn (a QoS 0 publish is
      // not journaled itself, so only its routing can fail).
      if (done !== undefined) done.catch((err: unknown) => this.fail(conn, TEMPLATED_CALL, err));
    } catch (err) {
      this.fail(conn, TEMPLATED_CALL, err);
    }
  }

  /**
   * A batch's publish request read through the connection's template: what the publish
   * handler does with it, without what a call of unknown shape needs first (the method's
   * spec, the params' types, a call context), which cost a backlog's broker as much per
   * line as the publish.
   */
  private publishBatchElement(conn: Connection, session: Session, call: TemplatedPublishCall): Outcome {
    try {
      const { topic, payload, qos } = call.params;
      return this.outcomeOf(conn, call, publishChecked(this.broker, session, requireSendableTopic(topic), payload, qos ?? 0, 0, false));
    } catch (err) {
      return this.fail(conn, call, err);
    }
  }

  private handleBatch(conn: Connection, items: readonly RpcClassified[], after: (() => void)[]): void {
    if (items.length === 0) {
      this.reply(conn, errorObject(null, invalidRequest('empty batch')));
      return;
    }
    // One for the batch, not one per call: a queue file's batches are hundreds of calls.
    const schedule = (fn: () => void): void => void after.push(fn);
    const outcomes = items.map((item) => {
      // A template is only read once connected (and a connection keeps its session).
      const session = conn.session;
      const outcome = item instanceof TemplatedPublishCall && session !== null ? this.publishBatchElement(conn, session, item) : this.handleOne(conn, item, schedule);
      // The batch's one response waits for all its calls anyway.
      if (!(outcome instanceof PendingAnswer)) return outcome;
      const call = item as RpcCall; // only a call's handler answers later
      return outcome.toPromise().then(
        (value) => this.later(conn, call, false, value),
        (err: unknown) => this.later(conn, call, true, err),
      );
    });
    const send = (responses: (RpcResponseObject | undefined)[]): void => {
      const present = responses.filter((r): r is RpcResponseObject => r !== undefined);
      this.finish(conn, present.length > 0 ? present : undefined, after);
    };
    if (outcomes.some((o) => o instanceof Promise)) {
      Promise.all(outcomes)
        .then(send)
        .catch((err: unknown) => this.lastResort(conn, err));
    } else {
      send(outcomes as (RpcResponseObject | undefined)[]);
    }
  }

  private finish(conn: Connection, answer: Answer | undefined, after: (() => void)[]): void {
    if (answer !== undefined) this.reply(conn, answer);
    for (const fn of after) {
      try {
        fn();
      } catch (err) {
        this.broker.log.error('follow-up of a call failed', { conn: conn.id, client_id: conn.clientId, error: err as Error, stack: (err as Error).stack });
      }
    }
  }

  private reply(conn: Connection, answer: Answer): void {
    const limit = this.broker.config.max_output_bytes;
    const frame = encodeAnswerFrame(answer, limit, (r) => this.serialise(conn, r));
    if (Buffer.isBuffer(frame)) conn.send(frame);
    else conn.exceedOutputLimit(frame.tooLarge);
  }

  /** One response as JSON; a response that cannot be serialised becomes -32603 for its call. */
  private serialise(conn: Connection, response: RpcResponseObject): string {
    try {
      this.broker.fault('encode');
      return JSON.stringify(response);
    } catch (err) {
      this.broker.log.error('response could not be serialised', { conn: conn.id, client_id: conn.clientId, id: response.id, error: err as Error, stack: (err as Error).stack });
      return JSON.stringify(errorObject(response.id, internalError('the response could not be serialised')));
    }
  }

  /** A failure outside any one call's handling: a bug in this file. Logged, answered, survived. */
  private lastResort(conn: Connection, err: unknown): void {
    this.broker.log.critical('answering a frame failed', { conn: conn.id, client_id: conn.clientId, error: err as Error, stack: (err as Error)?.stack });
    this.reply(conn, errorObject(null, internalError('the answer could not be built')));
  }

  /** `after` queues a follow-up of the call's frame (CallContext.after). */
  private handleOne(conn: Connection, msg: RpcClassified, after: (fn: () => void) => void): Outcome {
    if (msg.kind === 'invalid') return errorObject(msg.id, invalidRequest(msg.reason));
    if (msg.kind === 'response') {
      return errorObject(msg.id, invalidRequest('the broker sends no requests, so it accepts no responses'));
    }
    const isNotification = msg.id === undefined;
    const spec = METHODS.get(msg.method);
    if (!spec) return this.fail(conn, msg, methodNotFound(msg.method));
    if (spec.onlyBeforeConnect && conn.session) {
      return this.fail(conn, msg, invalidRequest('already connected on this socket', { client_id: conn.session.clientId }));
    }
    if (spec.requiresConnect && !conn.session) {
      return this.fail(conn, msg, new RpcError(ErrorCode.NOT_CONNECTED, `Not connected: send "connect" before "${msg.method}"`));
    }
    let params: Record<string, unknown>;
    if (msg.params === undefined) {
      params = {};
    } else if (Array.isArray(msg.params)) {
      const named = namedParams(msg.params, spec.params);
      if (!named) return this.fail(conn, msg, invalidParams(`${msg.method} takes at most ${spec.params.length} positional params (${spec.params.join(', ')})`));
      params = named;
    } else {
      params = msg.params;
    }
    const ctx: CallContext = {
      broker: this.broker,
      conn,
      params,
      isNotification,
      after,
    };
    let result: unknown;
    try {
      this.broker.fault('dispatch');
      result = spec.handle(ctx);
    } catch (err) {
      return this.fail(conn, msg, err);
    }
    // The caller listens to the handler's own answer and makes its response (later()).
    if (result instanceof PendingAnswer) return result;
    return this.outcomeOf(conn, msg, result);
  }

  /** The response to `call` for its handler's `result`: now, or once a promised result settles. */
  private outcomeOf(conn: Connection, call: RpcCall, result: unknown): Outcome {
    if (result instanceof Promise) {
      return result.then(
        (r: unknown) => this.later(conn, call, false, r),
        (err: unknown) => this.later(conn, call, true, err),
      );
    }
    return call.id === undefined ? undefined : resultObject(call.id, result);
  }

  /** The response to a call whose handler answered later: with `value`, or failing with it. */
  private later(conn: Connection, call: RpcCall, failed: boolean, value: unknown): RpcResponseObject | undefined {
    if (failed) return this.fail(conn, call, value);
    try {
      this.broker.fault('request-follow-up');
    } catch (err) {
      return this.fail(conn, call, err);
    }
    return call.id === undefined ? undefined : resultObject(call.id, value);
  }

  /** The error response for `call`, or a log line when it was a notification. */
  private fail(conn: Connection, call: RpcCall, err: unknown): RpcResponseObject | undefined {
    let rpcErr: RpcError;
    if (err instanceof RpcError) {
      rpcErr = err;
    } else {
      this.broker.log.error('internal error in method handler', {
        method: call.method,
        client_id: conn.clientId,
        conn: conn.id,
        error: err as Error,
        stack: (err as Error)?.stack,
      });
      rpcErr = internalError((err as Error)?.message ?? String(err));
    }
    if (call.id !== undefined) return errorObject(call.id, rpcErr);
    const count = (this.failedNotifications.get(conn) ?? 0) + 1;
    this.failedNotifications.set(conn, count);
    const fields = { method: call.method, client_id: conn.clientId, remote: conn.remote, code: rpcErr.code, error: rpcErr.message };
    if (count <= LOUD_NOTIFICATION_FAILURES) this.broker.log.warning('notification failed (notifications get no error response)', fields);
    else this.broker.log.debug('notification failed', fields);
    return undefined;
  }
}
