import { invalidParams } from '../../protocol/jsonrpc.js';
import type { PublishResult } from '../../protocol/messages.js';
import { requireSendPermission } from '../auth/enforce.js';
import type { MethodSpec } from '../context.js';
import { createMessage } from '../message.js';
import { optionalBoolean, optionalNumber, requirePublishTopic } from '../params.js';

/**
 * `publish`: route to every matching session. As a notification it is fire-and-forget
 * (AutoHotkey clients never read replies), which is also the broker's fast path.
 */
export const publish: MethodSpec = {
  name: 'publish',
  params: ['topic', 'payload', 'qos', 'ttl', 'retain'],
  requiresConnect: true,
  handle({ broker, conn, params }): PublishResult {
    const topic = requirePublishTopic(params);
    const qos = optionalNumber(params, 'qos', 0);
    if (qos !== 0 && qos !== 1) throw invalidParams('qos must be 0 or 1', { qos });
    const ttl = optionalNumber(params, 'ttl', 0);
    if (ttl < 0) throw invalidParams('ttl must be 0 (no expiry) or a positive number of seconds', { ttl });
    const retain = optionalBoolean(params, 'retain', false);
    const session = conn.session!;
    requireSendPermission(session, 'publish', topic);
    const msg = createMessage({ topic, payload: params.payload ?? null, sender: session.clientId, qos, ttl });
    if (retain) broker.retained.set(msg);
    const delivered = broker.router.route(msg);
    broker.stats.messages++;
    if (broker.config.log_messages) {
      broker.log.info('publish', { sender: session.clientId, topic, qos, ttl, retain, delivered, message_id: msg.id, payload: msg.payload });
    }
    return { message_id: msg.id, delivered };
  },
};
