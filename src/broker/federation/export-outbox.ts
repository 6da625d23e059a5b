/**
 * Exports on their way upstream, in publish order. QoS 1 exports go one at a time, each
 * removed only once the upstream accepted it; while the upstream is unreachable they wait
 * here (at most `limit`; past it the oldest is dropped and counted) and flow on reconnect,
 * in order. A QoS 0 export waits here only behind QoS 1 ones, so that it does not overtake
 * them: a publisher's messages reach the other brokers in the order it sent them, whatever
 * their QoS. It is sent once, at most: lost (counted) when its send fails, and dropped
 * when the upstream goes away before its turn. Only QoS 1 exports are kept in the store.
 * An export whose ttl runs out while it waits is dropped, never sent late.
 */
import { Deque } from '../deque.js';
import { payloadBytes } from './payload-codec.js';
import type { OutboxStore } from './outbox-store.js';
import { remainingTtlMs, type LinkMessage } from './upstream-link.js';

/** How much the outbox holds: messages, and bytes of their payloads and topics. */
export interface OutboxLimits {
  messages: number;
  bytes: number;
}

/**
 * What an export holds in memory, about: its payload's JSON text and its topic, and a
 * little for the rest of its record.
 */
export function exportBytes(msg: LinkMessage): number {
  return payloadBytes(msg.payload) + msg.topic.length + EXPORT_OVERHEAD_BYTES;
}
const EXPORT_OVERHEAD_BYTES = 200;

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
  /** QoS 0 exports lost: their send failed, or the upstream went away before their turn. */
  lostQos0 = 0;
  /** Exports whose ttl ran out while they waited (never sent late). */
  expired = 0;
  /** Exports the upstream accepted. */
  sent = 0;
  /** {@link exportBytes} of what waits. */
  private bytes = 0;
  private readonly limits: OutboxLimits;

  /**
   * The QoS 1 export being sent: out of {@link queue} until the upstream took it, so that
   * a push past the bounds meanwhile evicts a message that waits, never this one (its
   * send would then end on the wrong head). A failed send leaves it here, first to go.
   */
  private sending: LinkMessage | null = null;

  constructor(
    /** The most messages it holds, or messages and bytes. */
    limit: number | OutboxLimits,
    private readonly send: (msg: LinkMessage) => Promise<void>,
    private readonly canSend: () => boolean,
    private readonly onDrop: (msg: LinkMessage) => void,
    /** A send failed (the link went down mid-send): the message stays at the head. */
    private readonly onSendError: (err: unknown) => void,
    /** With persistence on: where the queue is kept across restarts, and what it held. */
    private readonly store: { store: OutboxStore; waiting: readonly LinkMessage[] } | null = null,
  ) {
    this.limits = typeof limit === 'number' ? { messages: limit, bytes: Infinity } : limit;
    for (const msg of store?.waiting ?? []) this.pushed(msg);
    // Bounds lowered since the store was written: the oldest go now.
    this.trim(0);
  }

  /** Bytes of what waits ({@link exportBytes}), the export being sent included. */
  get queuedBytes(): number {
    return this.bytes;
  }

  get length(): number {
    return this.queue.length + (this.sending === null ? 0 : 1);
  }

  push(msg: LinkMessage): void {
    const size = exportBytes(msg);
    if (size > this.limits.bytes) {
      // Larger than the whole queue may hold: it alone goes, not everything before it.
      this.droppedOne(msg);
      return;
    }
    this.trim(size);
    if (msg.qos === 1) this.store?.store.added(msg);
    this.pushed(msg, size);
    this.drain();
  }

  /**
   * Past either bound the oldest waiting exports go, until `incoming` more bytes (and, if
   * any, one more message) fit: a count alone let large payloads take gigabytes while the
   * upstream was away.
   */
  private trim(incoming: number): void {
    const adding = incoming > 0 ? 1 : 0;
    while (this.queue.length > 0 && (this.length + adding > this.limits.messages || this.bytes + incoming > this.limits.bytes)) {
      this.droppedOne(this.shifted()!);
    }
  }

  private droppedOne(msg: LinkMessage): void {
    if (msg.qos === 0) {
      this.lostQos0++;
      return;
    }
    this.dropped++;
    this.removedFromStore(msg);
    this.onDrop(msg);
  }

  private pushed(msg: LinkMessage, size = exportBytes(msg)): void {
    this.queue.push(msg);
    this.bytes += size;
  }

  private shifted(): LinkMessage | undefined {
    const msg = this.queue.shift();
    if (msg !== undefined) this.bytes -= exportBytes(msg);
    return msg;
  }

  /** The upstream went away: the QoS 0 exports still waiting will not be sent (at most once). */
  dropQos0(): void {
    if (this.queue.length === 0) return;
    const waiting = [...this.queue];
    this.queue.clear();
    for (const m of waiting) {
      if (m.qos === 1) this.queue.push(m);
      else {
        this.bytes -= exportBytes(m);
        this.lostQos0++;
      }
    }
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
    while ((this.sending !== null || this.queue.length > 0) && this.canSend()) {
      if (this.sending === null) {
        const head = this.queue.peek()!;
        if (remainingTtlMs(head) === 0) {
          this.shifted();
          if (head.qos === 1) this.removedFromStore(head);
          this.expired++;
          continue;
        }
        if (head.qos === 0) {
          // At most once: out of the queue before it is sent, never retried.
          this.shifted();
          try {
            await this.send(head);
            this.sent++;
          } catch {
            this.lostQos0++;
          }
          continue;
        }
        // Still counted in the bytes: it is held until the upstream took it.
        this.sending = this.queue.shift()!;
      }
      const msg = this.sending;
      if (remainingTtlMs(msg) === 0) {
        this.settled(msg);
        this.expired++;
        continue;
      }
      await this.send(msg);
      this.settled(msg);
      this.sent++;
    }
  }

  /** The export being sent is done with (sent, or expired before its turn came again). */
  private settled(msg: LinkMessage): void {
    this.sending = null;
    this.bytes -= exportBytes(msg);
    this.removedFromStore(msg);
  }

  /** What the store must still hold once `msg` is gone from it: every QoS 1 export still waiting. */
  private removedFromStore(msg: LinkMessage): void {
    this.store?.store.removed(msg.id, () => [...(this.sending === null ? [] : [this.sending]), ...this.queue].filter((m) => m.qos === 1));
  }
}
