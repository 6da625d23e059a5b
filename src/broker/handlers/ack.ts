import type { BrokerContext, MethodSpec } from '../context.js';
import type { IdSpace } from '../message-id.js';
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
 * {@link acknowledge} for the id of this broker's message number `seq` of `space`
 * (message-id.ts), as a templated ack reads it from the frame's bytes: no id string is
 * made unless the journal needs one.
 */
export function acknowledgeOwn(broker: BrokerContext, session: Session, space: IdSpace, seq: number): boolean {
  const wasInflight = session.inflight.deleteOwn(space, seq);
  if (wasInflight && broker.durability) broker.durability.acked(session, space.format(seq));
  const recorded = broker.acks.ackOwn(space, seq, session.clientId);
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
