/** The broker's own events on `system.*` topics, published with sender `broker`. */
import type { Logger } from '../log/logger.js';
import { createMessage } from './message.js';
import type { RetainedStore } from './retained-store.js';
import type { Router } from './router.js';

export const SYSTEM_SENDER = 'broker';

export class SystemEvents {
  constructor(
    private readonly router: Router,
    private readonly retained: RetainedStore,
    private readonly log: Logger,
  ) {}

  publish(topic: string, payload: Record<string, unknown>, retain = false): void {
    const msg = createMessage({ topic, payload, sender: SYSTEM_SENDER });
    if (retain) this.retained.set(msg);
    const delivered = this.router.route(msg);
    this.log.debug('system event', { topic, delivered, ...payload });
  }
}
