/** Counters reported by `status`. */
export class BrokerStats {
  /** Messages accepted from clients (`publish` and `request`). */
  messages = 0;
  /** Deliveries written towards subscribers. */
  deliveries = 0;
  /** Deliveries dropped by the slow-consumer policy or a full offline queue. */
  dropped = 0;
  /** Deliveries whose TTL ran out before they could be written. */
  expired = 0;
  /** Connections refused because `max_connections` was reached. */
  refusedConnections = 0;
}
