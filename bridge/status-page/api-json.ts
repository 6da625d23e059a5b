/** The JSON bodies of the read-only endpoints, built from the broker's monitor. */
import type { BrokerMonitor, BrokerOverview, ClientRow } from '../../src/broker/index.js';
import { previewPayload } from './payload-preview.js';
import type { RateHistory, RateHistoryJson, RatePoint } from './rate-history.js';

export type BrokerJson = BrokerOverview & { rates: RatePoint; history?: RateHistoryJson };

/** `/api/broker`; the live feed leaves the history out (the page appends the rates itself). */
export function brokerJson(monitor: BrokerMonitor, rates: RateHistory, withHistory: boolean): BrokerJson {
  const overview = monitor.overview();
  return { ...overview, rates: rates.latest(), ...(withHistory ? { history: rates.toJSON() } : {}) };
}

export function clientsJson(monitor: BrokerMonitor): { clients: ClientRow[] } {
  return { clients: monitor.clients() };
}

export interface TopicJson {
  topic: string;
  messages: number;
  last_at: string;
  last_sender: string;
  last_payload: unknown;
  truncated: boolean;
}

export function topicsJson(monitor: BrokerMonitor): { limit: number; topics: TopicJson[] } {
  return {
    limit: monitor.topicLimit,
    topics: monitor.topics().map((t) => {
      const { payload, truncated } = previewPayload(t.lastPayload);
      return { topic: t.topic, messages: t.messages, last_at: t.lastAt, last_sender: t.lastSender, last_payload: payload, truncated };
    }),
  };
}
