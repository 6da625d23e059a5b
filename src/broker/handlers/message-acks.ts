import { shownName } from '../../protocol/excerpt.js';
import { invalidParams } from '../../protocol/jsonrpc.js';
import type { MessageAcksResult } from '../../protocol/messages.js';
import type { BrokerContext, MethodSpec } from '../context.js';
import { requireString } from '../params.js';

/** Who acked a QoS 1 message; also the answer to a `request` on `_internal.message_acks`. */
export function messageAcks(broker: BrokerContext, params: Record<string, unknown>): MessageAcksResult {
  const messageId = requireString(params, 'message_id');
  const rec = broker.acks.get(messageId);
  if (!rec) {
    throw invalidParams(`unknown message_id ${shownName(messageId, true)}: only QoS 1 messages are tracked, and only the most recent ones`, {
      message_id: messageId,
    });
  }
  return { message_id: messageId, clients: rec.clients, pending: rec.pending };
}

export const internalMessageAcks: MethodSpec = {
  name: '_internal.message_acks',
  params: ['message_id'],
  requiresConnect: true,
  handle: ({ broker, params }) => messageAcks(broker, params),
};
