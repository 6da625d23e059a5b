/**
 * Counts deliveries dropped for a client and reports them as `system.client.slow`, at
 * most once per second per client. The event is always published from a timer, never
 * from inside the drop, because the slow client may itself subscribe to system events.
 */
import type { Logger } from '../log/logger.js';
import type { Session } from './session.js';
import type { BrokerStats } from './stats.js';

const MIN_EVENT_INTERVAL_MS = 1000;

export class SlowConsumerMonitor {
  constructor(
    private readonly stats: BrokerStats,
    private readonly log: Logger,
    private readonly publishSlow: (payload: { client_id: string; dropped: number; total_dropped: number }) => void,
  ) {}

  /** A delivery to `session` was dropped. */
  recordDrop(session: Session): void {
    session.droppedSinceEvent++;
    session.totalDropped++;
    this.stats.dropped++;
    if (session.slowTimer) return;
    const wait = Math.max(0, session.lastSlowEventAt + MIN_EVENT_INTERVAL_MS - Date.now());
    session.slowTimer = setTimeout(() => this.report(session), wait);
    session.slowTimer.unref();
  }

  private report(session: Session): void {
    session.slowTimer = null;
    session.lastSlowEventAt = Date.now();
    const dropped = session.droppedSinceEvent;
    session.droppedSinceEvent = 0;
    if (dropped === 0) return;
    this.log.warning('slow consumer: deliveries dropped', {
      client_id: session.clientId,
      dropped,
      total_dropped: session.totalDropped,
      queued: session.queued,
    });
    this.publishSlow({ client_id: session.clientId, dropped, total_dropped: session.totalDropped });
  }
}
