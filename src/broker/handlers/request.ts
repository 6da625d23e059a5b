import { ErrorCode, RpcError } from '../../protocol/errors.js';
import { shownName } from '../../protocol/excerpt.js';
import { invalidParams } from '../../protocol/jsonrpc.js';
import { jsonValue, keepJson } from '../../protocol/raw-json.js';
import { requireSendPermission } from '../auth/enforce.js';
import type { BrokerContext, MethodSpec } from '../context.js';
import { createMessage, isExpired, type BrokerMessage } from '../message.js';
import { PendingAnswer } from '../pending-answer.js';
import { namedParams, optionalNumber, requirePublishTopic } from '../params.js';
import { chainStep } from '../publish-chain.js';
import { internalMessageAcks, messageAcks } from './message-acks.js';
import { brokerStatus, status } from './status.js';
import { sessionSubscriptions, subscriptions } from './subscriptions.js';

const DEFAULT_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 300;

type BrokerAnswer = (broker: BrokerContext, payload: Record<string, unknown>, caller: string) => unknown;

/**
 * Request topics the broker answers itself, as the seed's debugging examples expect, with
 * the method of the same answer: the payload takes its params, by name or by position.
 */
const BROKER_TOPICS: ReadonlyMap<string, { params: readonly string[]; answer: BrokerAnswer }> = new Map([
  ['status', { params: status.params, answer: (broker: BrokerContext) => brokerStatus(broker) }],
  ['subscriptions', { params: subscriptions.params, answer: (broker: BrokerContext, payload: Record<string, unknown>, caller: string) => sessionSubscriptions(broker, payload, caller) }],
  ['_internal.message_acks', { params: internalMessageAcks.params, answer: (broker: BrokerContext, payload: Record<string, unknown>) => messageAcks(broker, payload) }],
]);

/** A broker-answered request's payload as params: an object, an array by position, or null for none. */
function asParams(topic: string, payload: unknown, names: readonly string[]): Record<string, unknown> {
  if (payload === null || payload === undefined) return {};
  if (Array.isArray(payload)) {
    const named = namedParams(payload, names);
    if (!named) throw invalidParams(`a request to ${shownName(topic, true)} takes at most ${names.length} positional params${names.length > 0 ? ` (${names.join(', ')})` : ''}`);
    return named;
  }
  if (typeof payload === 'object') return payload as Record<string, unknown>;
  throw invalidParams(`the payload of a request to ${shownName(topic, true)} must be an object, an array or null, as a call's params`, { topic });
}

/**
 * `request`: delivered with `reply_to` to every other connected subscriber of the topic;
 * the first non-null reply (or error) answers. The delivery carries the request's timeout
 * as its TTL, so a responder that is backed up never receives a request nobody awaits.
 */
export const request: MethodSpec = {
  name: 'request',
  params: ['topic', 'payload', 'timeout'],
  requiresConnect: true,
  rawParams: ['payload'],
  handle({ broker, conn, params }) {
    const timeout = optionalNumber(params, 'timeout', DEFAULT_TIMEOUT_S);
    if (timeout <= 0 || timeout > MAX_TIMEOUT_S) {
      throw invalidParams(`timeout must be more than 0 and at most ${MAX_TIMEOUT_S} seconds`, { timeout });
    }
    const session = conn.session!;
    const topic = params.topic;
    const own = typeof topic === 'string' ? BROKER_TOPICS.get(topic) : undefined;
    if (own) {
      requireSendPermission(session, 'request', topic as string);
      return own.answer(broker, asParams(topic as string, jsonValue(params.payload), own.params), session.clientId);
    }
    if (typeof topic === 'string' && topic.startsWith('_internal.')) {
      throw new RpcError(ErrorCode.NO_RESPONDERS, `No responders: ${shownName(topic, true)} is not a topic the broker answers`, { topic });
    }
    requirePublishTopic(params);
    requireSendPermission(session, 'request', topic as string);

    const result = new PendingAnswer();
    const token = broker.requests.openSettling(conn, topic as string, timeout * 1000, result);
    const deliver = (payload: unknown): void => {
      let delivered: number;
      let msg: BrokerMessage;
      try {
        msg = createMessage({ topic: topic as string, payload, sender: session.clientId, ttl: timeout, replyTo: token });
        delivered = broker.router.route(msg, { exclude: session, onlineOnly: true });
      } catch (err) {
        // Nobody must be able to answer a request that failed: settle it, then report.
        broker.requests.fail(token, err instanceof RpcError ? err : new RpcError(ErrorCode.INTERNAL_ERROR, (err as Error).message));
        throw err;
      }
      broker.stats.messages++;
      broker.requests.noteDelivered(token, delivered);
      if (delivered === 0 && isExpired(msg) && broker.router.reachesAnyone(msg, session)) {
        // Its timeout ended before it was routed (a fraction of a millisecond, or a turn
        // that took longer) to subscribers it would have reached: it timed out. With no
        // subscriber it is "no responders", whether or not the clock ticked meanwhile.
        broker.requests.fail(token, new RpcError(ErrorCode.TIMEOUT, `Request timed out: its ${timeout}s ended before it was routed on ${shownName(topic as string)}`, { topic, timeout }));
      } else if (delivered === 0) {
        // Nobody here: someone upstream may answer, when the topic is exported.
        // Forwarded after this frame's handling returns: keep its own bytes.
        const upstream = broker.federation?.forwardRequest(topic as string, keepJson(payload), session.clientId, timeout * 1000) ?? null;
        if (upstream) {
          upstream.then(
            (value) => broker.requests.reply(token, value, undefined),
            (err: unknown) => broker.requests.fail(token, err instanceof RpcError ? err : new RpcError(ErrorCode.INTERNAL_ERROR, (err as Error).message)),
          );
        } else {
          broker.requests.fail(token, new RpcError(ErrorCode.NO_RESPONDERS, `No responders: no other connected client subscribes to ${shownName(topic as string, true)}`, { topic }));
        }
      }
      broker.log.debug('request', { sender: session.clientId, topic, delivered, timeout });
    };
    const before = broker.durability === null ? null : session.publishChain;
    if (before === null) {
      deliver(params.payload ?? null);
      return result;
    }
    // With persistence, this client's publishes still waiting for the journal go first:
    // one client's messages reach each subscriber in the order it sent them, its requests
    // among them. Delivered after this frame's handling returns: keep its own bytes.
    const payload = keepJson(params.payload ?? null);
    // A failure is the requester's answer (deliver settles the request with it).
    chainStep(session, before.then(() => deliver(payload)), false).catch((err: unknown) =>
      broker.log.debug('a request behind the journal failed; its requester was answered', { client_id: session.clientId, topic, error: err as Error }),
    );
    return result;
  },
};
