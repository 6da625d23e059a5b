/**
 * `/metrics`: the broker's figures in the Prometheus text exposition format (0.0.4), for
 * a Prometheus server or any scraper that reads it. Per-client series are labelled by
 * client id; label values are escaped as the format requires.
 */
import type { BrokerMonitor } from '../../src/broker/index.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

type Kind = 'counter' | 'gauge';

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, kind: Kind, help: string, samples: readonly [labels: string, value: number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`);
    for (const [labels, value] of samples) this.lines.push(`${name}${labels} ${value}`);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export function metricsText(monitor: BrokerMonitor): string {
  const o = monitor.overview();
  const clients = monitor.clients();
  const e = new Exposition();
  const one = (v: number): [string, number][] => [['', v]];
  e.metric('ahkbridge_info', 'gauge', 'The broker version, as a label.', [[`{version="${escapeLabel(o.version)}"}`, 1]]);
  e.metric('ahkbridge_uptime_seconds', 'gauge', 'Seconds since the broker started.', one(o.uptime));
  e.metric('ahkbridge_messages_total', 'counter', 'Messages accepted from clients (publish and request).', one(o.counters.messages));
  e.metric('ahkbridge_deliveries_total', 'counter', 'Deliveries written towards subscribers.', one(o.counters.deliveries));
  e.metric('ahkbridge_dropped_total', 'counter', 'Deliveries dropped by the slow-consumer policy or a full offline queue.', one(o.counters.dropped));
  e.metric('ahkbridge_expired_total', 'counter', 'Deliveries whose TTL ran out before they were written.', one(o.counters.expired));
  e.metric('ahkbridge_refused_connections_total', 'counter', 'Connections refused at max_connections.', one(o.counters.refused_connections));
  e.metric('ahkbridge_auth_failures_total', 'counter', 'Connects refused for wrong or missing credentials.', one(o.counters.auth_failures));
  e.metric('ahkbridge_connections', 'gauge', 'Open sockets, connected or not.', one(o.gauges.connections));
  e.metric('ahkbridge_clients_online', 'gauge', 'Sessions with a connected client.', one(o.gauges.clients_online));
  e.metric('ahkbridge_sessions', 'gauge', 'Sessions, including disconnected ones kept for session_expiry.', one(o.gauges.sessions));
  e.metric('ahkbridge_subscriptions', 'gauge', 'Subscription patterns held by all sessions.', one(o.gauges.subscriptions));
  e.metric('ahkbridge_retained_messages', 'gauge', 'Retained messages stored.', one(o.gauges.retained));
  e.metric('ahkbridge_pending_requests', 'gauge', 'Requests waiting for a reply.', one(o.gauges.pending_requests));
  const label = (c: { client_id: string }): string => `{client_id="${escapeLabel(c.client_id)}"}`;
  e.metric('ahkbridge_client_online', 'gauge', 'Whether the client is connected (1) or its session waits (0).', clients.map((c) => [label(c), c.online ? 1 : 0]));
  e.metric('ahkbridge_client_queued', 'gauge', 'Deliveries queued for the client.', clients.map((c) => [label(c), c.queued]));
  e.metric('ahkbridge_client_unacked', 'gauge', 'QoS 1 deliveries the client has not acked.', clients.map((c) => [label(c), c.unacked]));
  e.metric('ahkbridge_client_dropped_total', 'counter', 'Deliveries dropped for the client.', clients.map((c) => [label(c), c.dropped]));
  return e.text();
}
