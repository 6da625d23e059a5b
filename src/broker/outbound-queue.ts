/**
 * A connection's outbound queue. Frames leave in batches (see FlushScheduler); while the
 * socket reports backpressure, deliveries wait here instead of piling up inside Node's
 * stream buffer, so the broker can enforce `max_queue_size` and its drop policy: past
 * the limit the oldest QoS 0 delivery goes, or, when only QoS 1 deliveries wait, the new
 * one is refused. Responses are never dropped. A slow reader therefore costs the broker
 * bounded memory and never delays anyone else.
 */
import type { Socket } from 'node:net';
import { Deque } from './deque.js';
import type { FlushScheduler, Flushable } from './flush-scheduler.js';
import { isExpired, type BrokerMessage } from './message.js';

interface Entry {
  frame: Buffer;
  /** `null` for responses and other control frames. */
  msg: BrokerMessage | null;
  dropped: boolean;
}

/** What the queue reports to its owner. */
export interface OutboundEvents {
  /** A delivery was dropped by the `max_queue_size` policy. */
  dropped(msg: BrokerMessage): void;
  /** A delivery's TTL ran out while it waited. */
  expired(msg: BrokerMessage): void;
}

/** Bytes joined into one `socket.write` at most. */
const MAX_WRITE_BYTES = 1024 * 1024;

export class OutboundQueue implements Flushable {
  flushPending = false;
  private readonly entries = new Deque<Entry>();
  /** QoS 0 deliveries still queued, oldest first: the drop candidates. */
  private readonly qos0 = new Deque<Entry>();
  private deliveries = 0;
  private waitingForDrain = false;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly maxQueued: number,
    private readonly scheduler: FlushScheduler,
    private readonly events: OutboundEvents,
  ) {
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  /** QoS 0 entries the drop index still references (for tests: must stay bounded). */
  get indexedQos0(): number {
    return this.qos0.length;
  }

  /** Deliveries waiting to be written. */
  get queuedDeliveries(): number {
    return this.deliveries;
  }

  /** Queue a response or other control frame; these are never dropped. */
  sendControl(frame: Buffer): void {
    if (this.ended) return;
    this.entries.push({ frame, msg: null, dropped: false });
    this.scheduler.mark(this);
  }

  /**
   * Queue a delivery. Returns false when the policy refused this message (the queue is
   * full of QoS 1 deliveries); a QoS 0 delivery already queued may be dropped instead.
   */
  sendDelivery(frame: Buffer, msg: BrokerMessage): boolean {
    if (this.ended) return false;
    if (this.deliveries >= this.maxQueued && !this.dropOldestQos0()) {
      this.events.dropped(msg);
      return false;
    }
    const entry: Entry = { frame, msg, dropped: false };
    this.entries.push(entry);
    if (msg.qos === 0) this.qos0.push(entry);
    this.deliveries++;
    this.scheduler.mark(this);
    return true;
  }

  private dropOldestQos0(): boolean {
    for (let e = this.qos0.shift(); e; e = this.qos0.shift()) {
      if (e.dropped || e.frame.length === 0) continue; // already written or dropped
      e.dropped = true;
      this.deliveries--;
      this.events.dropped(e.msg!);
      return true;
    }
    return false;
  }

  /** Write what is queued, as far as the socket accepts it without buffering. */
  flush(): void {
    if (this.waitingForDrain && !this.ended) return;
    if (this.socket.destroyed) {
      this.discard();
      return;
    }
    const now = Date.now();
    while (this.entries.length > 0 && (!this.waitingForDrain || this.ended)) {
      const frames: Buffer[] = [];
      let bytes = 0;
      while (bytes < MAX_WRITE_BYTES) {
        const e = this.entries.shift();
        if (!e) break;
        if (e.dropped) continue;
        if (e.msg) {
          this.deliveries--;
          if (isExpired(e.msg, now)) {
            this.events.expired(e.msg);
            e.frame = EMPTY;
            continue;
          }
        }
        frames.push(e.frame);
        bytes += e.frame.length;
        e.frame = EMPTY; // marks "written" for the qos0 index and frees the reference
      }
      if (frames.length === 0) break;
      const ok = this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
      if (!ok) this.waitingForDrain = true;
    }
    // Entries leave in FIFO order, so written ones sit at the front of the QoS 0 index.
    // Trim them now: while a backlog persists the index is never empty, and without this
    // it would keep every delivered QoS 0 entry reachable.
    if (this.entries.length === 0) {
      this.qos0.clear();
    } else {
      for (let e = this.qos0.peek(); e && (e.dropped || e.frame.length === 0); e = this.qos0.peek()) this.qos0.shift();
    }
  }

  /** Flush everything regardless of backpressure, then half-close the socket. */
  end(finalFrame?: Buffer): void {
    if (this.ended) return;
    if (finalFrame) this.entries.push({ frame: finalFrame, msg: null, dropped: false });
    this.ended = true;
    this.flush();
    this.socket.end();
  }

  /** Forget queued frames (the socket is gone). */
  discard(): void {
    this.entries.clear();
    this.qos0.clear();
    this.deliveries = 0;
  }
}

const EMPTY = Buffer.alloc(0);
