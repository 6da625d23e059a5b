import type { BrokerMessage } from '../message.js';

/**
 * Sees every message the router routes (publishes, requests, system events), before it is
 * delivered. The router holds at most one, and none unless a monitor was asked for: a
 * broker without a status page pays one null check per message.
 */
export interface MessageObserver {
  seen(msg: BrokerMessage): void;
}
