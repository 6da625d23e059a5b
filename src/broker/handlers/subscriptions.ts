import { shownName } from '../../protocol/excerpt.js';
import { invalidParams } from '../../protocol/jsonrpc.js';
import type { BrokerContext, MethodSpec } from '../context.js';
import { optionalString } from '../params.js';

/** A session's patterns; also the answer to a `request` on topic `subscriptions`. */
export function sessionSubscriptions(broker: BrokerContext, params: Record<string, unknown>, caller: string): Record<string, unknown> {
  const clientId = optionalString(params, 'client_id') ?? caller;
  const session = broker.sessions.get(clientId);
  if (!session) throw invalidParams(`no session for client_id ${shownName(clientId, true)}`, { client_id: clientId });
  return { client_id: clientId, patterns: [...session.patterns].sort(), connected: session.isOnline };
}

export const subscriptions: MethodSpec = {
  name: 'subscriptions',
  params: ['client_id'],
  requiresConnect: true,
  handle: ({ broker, conn, params }) => sessionSubscriptions(broker, params, conn.clientId!),
};
