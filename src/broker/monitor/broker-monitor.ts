/**
 * What a status page or monitoring endpoint may read of a running broker: its counters,
 * its sessions, the recent topics, and live messages. Created on demand by
 * `MessageBroker.monitor()`; until then the broker keeps no topic table and has no
 * observer on its router.
 */
import { isoTimestamp } from '../../protocol/timestamp.js';
import type { BrokerContext } from '../context.js';
import type { FederationStatus } from '../federation/federation.js';
import { securityStatus } from '../handlers/status.js';
import type { BrokerMessage } from '../message.js';
import type { MessageObserver } from './message-observer.js';
import { MessageTaps, type TapListener } from './message-taps.js';
import { TopicActivity, type TopicEntry } from './topic-activity.js';
import { compareNames } from '../../protocol/name-order.js';

/** The broker's running totals (they only grow). */
export interface BrokerCounters {
  messages: number;
  deliveries: number;
  dropped: number;
  expired: number;
  refused_connections: number;
  auth_failures: number;
}

/** The broker's current levels. */
export interface BrokerGauges {
  connections: number;
  sessions: number;
  clients_online: number;
  subscriptions: number;
  retained: number;
  pending_requests: number;
}

export interface BrokerOverview {
  version: string;
  started_at: string;
  /** Seconds since the broker started. */
  uptime: number;
  host: string;
  port: number;
  /** Seconds between client pings (clients that ping, ping this often). */
  heartbeat_interval: number;
  counters: BrokerCounters;
  gauges: BrokerGauges;
  persistence: Record<string, unknown>;
  /** The federation upstream's row, when the broker federates. */
  federation?: FederationStatus;
  security: { credentials: boolean; anonymous_allowed: boolean; warning?: string };
}

/** One session, as `/api/clients` shows it. */
export interface ClientRow {
  client_id: string;
  client_type: string;
  identity: string;
  online: boolean;
  address: string | null;
  connected_at: string | null;
  last_seen: string | null;
  /** The client sends heartbeats (pings): silence from it means trouble. AutoHotkey clients never ping. */
  pings: boolean;
  session_created_at: string;
  subscriptions: string[];
  queued: number;
  unacked: number;
  dropped: number;
}

export class BrokerMonitor implements MessageObserver {
  private readonly topicTable: TopicActivity;
  private readonly taps = new MessageTaps();

  constructor(
    private readonly broker: BrokerContext,
    topicLimit?: number,
  ) {
    this.topicTable = new TopicActivity(topicLimit);
  }

  private hiddenSender: string | null = null;
  private hiddenPrefix: string | null = null;

  /**
   * Keep one client's own traffic out of the topic table: the status page's queries, and
   * the answers on its reply topics, a new topic per query. Its messages still count in
   * the rates and reach taps: they are real broker traffic.
   */
  hideFromTopics(clientId: string, replyTopicPrefix: string): void {
    this.hiddenSender = clientId;
    this.hiddenPrefix = replyTopicPrefix;
  }

  /** @internal the router's hook: count the topic, and hand the message to any tap. */
  seen(msg: BrokerMessage): void {
    if (msg.sender !== this.hiddenSender && (this.hiddenPrefix === null || !msg.topic.startsWith(this.hiddenPrefix))) this.topicTable.record(msg);
    if (this.taps.size !== 0) this.taps.offer(msg);
  }

  counters(): BrokerCounters {
    const { stats } = this.broker;
    return {
      messages: stats.messages,
      deliveries: stats.deliveries,
      dropped: stats.dropped,
      expired: stats.expired,
      refused_connections: stats.refusedConnections,
      auth_failures: this.broker.authFailures.total,
    };
  }

  overview(): BrokerOverview {
    const b = this.broker;
    const { host, port } = b.listening();
    return {
      version: b.version,
      started_at: isoTimestamp(b.startedAt),
      uptime: Math.round((Date.now() - b.startedAt) / 100) / 10,
      host,
      port,
      heartbeat_interval: b.config.heartbeat_interval,
      counters: this.counters(),
      gauges: {
        connections: b.connectionCount(),
        sessions: b.sessions.size,
        clients_online: b.sessions.onlineCount,
        subscriptions: b.sessions.index.size,
        retained: b.retained.size,
        pending_requests: b.requests.size,
      },
      persistence: b.durability?.status() ?? { enabled: false },
      ...(b.federation ? { federation: b.federation.status() } : {}),
      security: securityStatus(b),
    };
  }

  /** Every session, online first, then by id. */
  clients(): ClientRow[] {
    const rows: ClientRow[] = [];
    for (const s of this.broker.sessions.values()) {
      const conn = s.connection;
      rows.push({
        client_id: s.clientId,
        client_type: s.clientType,
        identity: s.identity.name,
        online: conn !== null,
        address: conn ? conn.remote : null,
        connected_at: conn ? isoTimestamp(conn.connectedAt) : null,
        last_seen: conn ? isoTimestamp(conn.lastActivity) : null,
        pings: conn ? conn.pinged : false,
        session_created_at: isoTimestamp(s.createdAt),
        subscriptions: [...s.patterns],
        queued: s.queued,
        unacked: s.inflight.size,
        dropped: s.totalDropped,
      });
    }
    return rows.sort((a, b) => Number(b.online) - Number(a.online) || compareNames(a.client_id, b.client_id));
  }

  /** The most recently used topics, newest first. */
  topics(): TopicEntry[] {
    return this.topicTable.recent();
  }

  /** The most topics {@link topics} returns. */
  get topicLimit(): number {
    return this.topicTable.limit;
  }

  /** Taps open now (each live message view holds one). */
  get tapCount(): number {
    return this.taps.size;
  }

  /**
   * Call `listener` with every message whose topic matches `pattern` (a valid pattern:
   * check it with `patternError` first), until the returned function is called.
   */
  tap(pattern: string, listener: TapListener): () => void {
    return this.taps.add(pattern, listener);
  }
}
