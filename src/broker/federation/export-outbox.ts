/**
 * QoS 1 exports on their way upstream: in publish order, one at a time, each removed only
 * once the upstream accepted it. While the upstream is unreachable they wait here (at most
 * `limit`; past it the oldest is dropped and counted) and flow on reconnect, in order.
 */
import { Deque } from '../deque.js';
import type { OutboxStore } from './outbox-store.js';
import type { LinkMessage } from './upstream-link.js';

/** After a failed send while the link is up (no importer yet, an ack timeout), try again after this. */
const RETRY_MS = 200;

export class ExportOutbox {
  private readonly queue = new Deque<LinkMessage>();
  private draining = false;
  /** A drain was asked for while one was finishing: run again after it. */
  private drainAgain = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** QoS 1 exports dropped because the outbox was full. */
  dropped = 0;
  /** Exports the upstream accepted. */
  sent = 0;

  constructor(
    private readonly limit: number,
    private readonly send: (msg: LinkMessage) => Promise<void>,
    private readonly canSend: () => boolean,
    private readonly onDrop: (msg: LinkMessage) => void,
    /** A send failed (the link went down mid-send): the message stays at the head. */
    private readonly onSendError: (err: unknown) => void,
    /** With persistence on: where the queue is kept across restarts, and what it held. */
    private readonly store: { store: OutboxStore; waiting: readonly LinkMessage[] } | null = null,
  ) {
    for (const msg of store?.waiting ?? []) this.queue.push(msg);
  }

  get length(): number {
    return this.queue.length;
  }

  push(msg: LinkMessage): void {
    if (this.queue.length >= this.limit) {
      this.dropped++;
      const old = this.queue.shift()!;
      this.store?.store.removed(old.id, () => [...this.queue]);
      this.onDrop(old);
    }
    this.store?.store.added(msg);
    this.queue.push(msg);
    this.drain();
  }

  /** Send what waits, in order, while the upstream takes it. */
  drain(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    this.drainAgain = false;
    this.loop().then(
      () => {
        this.draining = false;
        if (this.drainAgain) this.drain();
      },
      (err: unknown) => {
        this.draining = false;
        this.onSendError(err);
        // Down: the link's `up` drains again. Up: a retry soon (an importer resubscribing).
        if (this.canSend() && this.retryTimer === null) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.drain();
          }, RETRY_MS);
          this.retryTimer.unref();
        }
      },
    );
  }

  /** Stop retrying (the federation is closing); what waits is dropped with the broker. */
  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.store?.store.close();
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0 && this.canSend()) {
      await this.send(this.queue.peek()!);
      const sent = this.queue.shift()!;
      this.store?.store.removed(sent.id, () => [...this.queue]);
      this.sent++;
    }
  }
}
