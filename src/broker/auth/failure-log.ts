/**
 * Failed authentications, counted and logged with the remote address. One line per
 * address per interval at most, so a client retrying a wrong secret in a loop (or a scan)
 * cannot flood the log; the next line says how many were held back.
 */
import type { Logger } from '../../log/logger.js';

const INTERVAL_MS = 10_000;
/** Addresses remembered at once; beyond that the oldest are forgotten. */
const MAX_ADDRESSES = 1024;

export class AuthFailureLog {
  /** Failures since the broker started. */
  total = 0;
  private readonly byAddress = new Map<string, { lastLogged: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  record(remoteAddress: string, clientId: string, reason: string): void {
    this.total++;
    const now = this.now();
    const seen = this.byAddress.get(remoteAddress);
    if (seen && now - seen.lastLogged < INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.byAddress.delete(remoteAddress);
    if (this.byAddress.size >= MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
    this.byAddress.set(remoteAddress, { lastLogged: now, suppressed: 0 });
    this.log.warning('authentication failed', {
      remote: remoteAddress,
      client_id: clientId,
      reason,
      ...(suppressed > 0 ? { suppressed_since_last: suppressed } : {}),
      total_failures: this.total,
    });
  }
}
