import type { MethodSpec } from '../context.js';
import { requireString } from '../params.js';

/**
 * `ack`: a QoS 1 delivery was processed. `acked` is false when the id was not awaiting
 * this client's ack (unknown, forgotten, or acked before).
 */
export const ack: MethodSpec = {
  name: 'ack',
  params: ['message_id'],
  requiresConnect: true,
  handle({ broker, conn, params }) {
    const messageId = requireString(params, 'message_id');
    const session = conn.session!;
    const wasInflight = session.inflight.delete(messageId);
    if (wasInflight) broker.durability?.acked(session, messageId);
    const recorded = broker.acks.ack(messageId, session.clientId);
    return { acked: wasInflight || recorded };
  },
};
