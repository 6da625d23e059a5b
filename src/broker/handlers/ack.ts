import type { BrokerContext, MethodSpec } from '../context.js';
import { requireString } from '../params.js';
import type { Session } from '../session.js';

/**
 * `session`'s client processed the QoS 1 delivery `messageId`: false when the id was not
 * awaiting its ack (unknown, forgotten, or acked before). Also how an ack read through the
 * connection's template is taken (ack-template.ts), with no call context.
 */
export function acknowledge(broker: BrokerContext, session: Session, messageId: string): boolean {
  const wasInflight = session.inflight.delete(messageId);
  if (wasInflight) broker.durability?.acked(session, messageId);
  const recorded = broker.acks.ack(messageId, session.clientId);
  return wasInflight || recorded;
}

/**
 * `ack`: a QoS 1 delivery was processed. `acked` is false when the id was not awaiting
 * this client's ack (unknown, forgotten, or acked before).
 */
export const ack: MethodSpec = {
  name: 'ack',
  params: ['message_id'],
  requiresConnect: true,
  handle({ broker, conn, params }) {
    return { acked: acknowledge(broker, conn.session!, requireString(params, 'message_id')) };
  },
};
