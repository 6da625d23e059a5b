import type { BrokerContext, MethodSpec } from '../context.js';
import { idSpaceInUse, seqOfIdBytes, type IdSpace } from '../message-id.js';
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
 * {@link acknowledge} for the id written as the plain ASCII bytes `buf[start..end)`, as a
 * templated ack reads it (ack-template.ts): an id of this broker's current id space is
 * found by its number, with no id string unless the journal needs one; any other by its
 * string.
 */
export function acknowledgeIdBytes(broker: BrokerContext, session: Session, buf: Buffer, start: number, end: number): boolean {
  const space = idSpaceInUse();
  const seq = space === null ? -1 : seqOfIdBytes(space, buf, start, end);
  return space !== null && seq >= 0 ? acknowledgeOwn(broker, session, space, seq) : acknowledge(broker, session, buf.toString('latin1', start, end));
}

/** {@link acknowledge} for this broker's message number `seq` of `space` (message-id.ts). */
function acknowledgeOwn(broker: BrokerContext, session: Session, space: IdSpace, seq: number): boolean {
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
