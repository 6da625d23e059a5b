import { isoTimestamp } from '../../protocol/timestamp.js';
import type { BrokerContext, MethodSpec } from '../context.js';

/** Whether credentials are required, and the exposure warning if any: `status` and the status page say the same. */
export function securityStatus(broker: BrokerContext): { credentials: boolean; anonymous_allowed: boolean; warning?: string } {
  return {
    credentials: broker.auth.hasCredentials,
    anonymous_allowed: broker.auth.anonymousAllowed,
    ...(broker.exposureWarning ? { warning: broker.exposureWarning } : {}),
  };
}

/** The broker's counters; also the answer to a `request` on topic `status`. */
export function brokerStatus(broker: BrokerContext): Record<string, unknown> {
  broker.fault('status');
  const { host, port } = broker.listening();
  return {
    client_count: broker.sessions.onlineCount,
    message_count: broker.stats.messages,
    uptime: Math.round((Date.now() - broker.startedAt) / 10) / 100,
    started_at: isoTimestamp(broker.startedAt),
    version: broker.version,
    host,
    port,
    connection_count: broker.connectionCount(),
    session_count: broker.sessions.size,
    subscription_count: broker.sessions.index.size,
    retained_count: broker.retained.size,
    pending_requests: broker.requests.size,
    delivered_count: broker.stats.deliveries,
    dropped_count: broker.stats.dropped,
    expired_count: broker.stats.expired,
    refused_connections: broker.stats.refusedConnections,
    auth_failures: broker.authFailures.total,
    persistence: broker.durability?.status() ?? { enabled: false },
    ...(broker.federation ? { federation: broker.federation.status() } : {}),
    security: securityStatus(broker),
    clients: [...broker.sessions.values()].map((s) => ({
      client_id: s.clientId,
      client_type: s.clientType,
      identity: s.identity.name,
      connected: s.isOnline,
      subscriptions: s.patterns.size,
      queued: s.queued,
      unacked: s.inflight.size,
      dropped: s.totalDropped,
    })),
  };
}

export const status: MethodSpec = {
  name: 'status',
  params: [],
  requiresConnect: true,
  handle: ({ broker }) => brokerStatus(broker),
};
