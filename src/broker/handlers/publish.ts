import { invalidParams } from '../../protocol/jsonrpc.js';
import type { PublishResult } from '../../protocol/messages.js';
import { requireSendPermission } from '../auth/enforce.js';
import type { BrokerContext, MethodSpec } from '../context.js';
import { finishPublish, needsJournal, publishDurably, routePublished } from '../durable-publish.js';
import { createMessage, createPlainMessage } from '../message.js';
import { optionalBoolean, optionalNumber, requirePublishTopic } from '../params.js';
import type { Session } from '../session.js';

/**
 * `publish`: route to every matching session. As a notification it is fire-and-forget
 * (AutoHotkey clients never read replies), which is also the broker's fast path. With
 * persistence on, a QoS 1 or retained publish is answered once it is stored
 * (durable-publish.ts), or -32004 when it cannot be.
 */
export const publish: MethodSpec = {
  name: 'publish',
  params: ['topic', 'payload', 'qos', 'ttl', 'retain'],
  requiresConnect: true,
  rawParams: ['payload'],
  handle({ broker, conn, params }): PublishResult | Promise<PublishResult> {
    const topic = requirePublishTopic(params);
    const qos = optionalNumber(params, 'qos', 0);
    if (qos !== 0 && qos !== 1) throw invalidParams('qos must be 0 or 1', { qos });
    const ttl = optionalNumber(params, 'ttl', 0);
    if (ttl < 0) throw invalidParams('ttl must be 0 (no expiry) or a positive number of seconds', { ttl });
    const retain = optionalBoolean(params, 'retain', false);
    return publishChecked(broker, conn.session!, topic, params.payload ?? null, qos, ttl, retain);
  },
};

/**
 * A publish whose params are checked (`topic` valid and not reserved): the sender's
 * permission, then the message, journaled first when it must be. Also the end of the
 * publish-template path (publish-template.ts), which reads the same call from fewer bytes.
 */
export function publishChecked(
  broker: BrokerContext,
  session: Session,
  topic: string,
  payload: unknown,
  qos: 0 | 1,
  ttl: number,
  retain: boolean,
): PublishResult | Promise<PublishResult> {
  requireSendPermission(session, 'publish', topic);
  const msg = createMessage({ topic, payload, sender: session.clientId, qos, ttl, retain });
  const durability = broker.durability;
  if (needsJournal(durability, session, qos, retain)) return publishDurably(broker, durability, session, msg, retain, ttl);
  return finishPublish(broker, session, msg, retain, ttl, null);
}

/**
 * {@link publishChecked} for a plain notification (QoS 0, no TTL, not retained), whose
 * answer nobody reads: the answer is not built. Returns a promise only when the publish
 * waits behind a journaled one of the same client; it rejects only if routing throws.
 */
export function publishUnanswered(broker: BrokerContext, session: Session, topic: string, payload: unknown): Promise<PublishResult> | undefined {
  requireSendPermission(session, 'publish', topic);
  const msg = createPlainMessage(topic, payload, session.clientId);
  const durability = broker.durability;
  if (needsJournal(durability, session, 0, false)) {
    const done = publishDurably(broker, durability, session, msg, false, 0);
    return done instanceof Promise ? done : undefined;
  }
  routePublished(broker, session, msg, false, 0, null);
  return undefined;
}
