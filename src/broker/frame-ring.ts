/**
 * The frames a connection has queued, oldest first, each with the message it delivers
 * (`null` for a response or other control frame), in two parallel circular arrays.
 *
 * A subscriber that reads slower than its publishers write keeps up to `max_queue_size`
 * deliveries here for as long as it lags: long enough for V8 to move them to the old
 * generation, where they stay, dead, until a major collection. An object per delivery
 * (and a second index of them for the drop policy) was most of what a backlogged broker
 * promoted: for a fan-out to ten subscribers, ten entries per message against one message.
 * Two array slots per delivery allocate nothing, and the arrays are reused as the ring
 * turns instead of being copied as a shifted array's dead prefix grows.
 */
import type { BrokerMessage } from './message.js';

/** A slot that holds nothing: never written, shifted out, or dropped. */
export const NO_FRAME = Buffer.alloc(0);

const MIN_CAPACITY = 16;
/**
 * An emptied ring larger than this goes back to MIN_CAPACITY, so a connection that once
 * had a long backlog does not keep arrays sized for it; smaller rings stay, so a queue
 * that keeps filling and draining does not reallocate each time.
 */
const KEEP_CAPACITY = 1024;

export class FrameRing {
  private frames = framesOf(MIN_CAPACITY);
  private msgs = messagesOf(MIN_CAPACITY);
  /** Slot of the oldest entry. */
  private head = 0;
  private count = 0;

  /** Entries held, dropped ones included. */
  get length(): number {
    return this.count;
  }

  /** Slots allocated (for tests: the ring must give back what a backlog made it grow to). */
  get capacity(): number {
    return this.frames.length;
  }

  /**
   * Queue `frame`, or, with `frame` null, the message's own plain frame (`msg.frame`, which
   * must be built): a slot written with null is one pointer less for a scavenge to follow.
   */
  push(frame: Buffer | null, msg: BrokerMessage | null): void {
    if (this.count === this.frames.length) this.grow();
    const slot = this.slot(this.count);
    this.frames[slot] = frame;
    this.msgs[slot] = msg;
    this.count++;
  }

  /** The frame of the entry `i` places from the oldest; NO_FRAME once dropped. */
  frameAt(i: number): Buffer {
    const slot = this.slot(i);
    return this.frames[slot] ?? this.msgs[slot]!.frame!;
  }

  /** The message the entry `i` places from the oldest delivers; `null` for a control frame or once dropped. */
  msgAt(i: number): BrokerMessage | null {
    return this.msgs[this.slot(i)] as BrokerMessage | null;
  }

  /** Replace the frame of entry `i` (a chunk cut to the bytes it holds). */
  setFrameAt(i: number, frame: Buffer): void {
    this.frames[this.slot(i)] = frame;
  }

  /** Let go of entry `i`'s frame and message; the slot stays until shifted or compacted. */
  dropAt(i: number): void {
    this.empty(this.slot(i));
  }

  /** Remove the oldest entry. */
  shift(): void {
    if (this.count === 0) return;
    this.empty(this.head);
    this.head = this.slot(1);
    if (--this.count === 0) this.emptied();
  }

  /** Remove the dropped entries, keeping the order of the rest. */
  compact(): void {
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const from = this.slot(i);
      const frame = this.frames[from] as Buffer | null;
      if (frame?.length === 0) continue;
      const to = this.slot(kept++);
      this.frames[to] = frame;
      this.msgs[to] = this.msgs[from] as BrokerMessage | null;
    }
    for (let i = kept; i < this.count; i++) this.empty(this.slot(i));
    this.count = kept;
    if (kept === 0) this.emptied();
  }

  clear(): void {
    this.frames = framesOf(MIN_CAPACITY);
    this.msgs = messagesOf(MIN_CAPACITY);
    this.head = 0;
    this.count = 0;
  }

  /** The array slot of the entry `i` places from the oldest. */
  private slot(i: number): number {
    return (this.head + i) & (this.frames.length - 1);
  }

  private empty(slot: number): void {
    this.frames[slot] = NO_FRAME;
    this.msgs[slot] = null;
  }

  private emptied(): void {
    if (this.frames.length > KEEP_CAPACITY) this.clear();
    else this.head = 0;
  }

  /** Double the arrays, unrolling the ring so its oldest entry is at slot 0. */
  private grow(): void {
    const frames = framesOf(this.frames.length * 2);
    const msgs = messagesOf(this.frames.length * 2);
    for (let i = 0; i < this.count; i++) {
      const from = this.slot(i);
      frames[i] = this.frames[from] as Buffer | null;
      msgs[i] = this.msgs[from] as BrokerMessage | null;
    }
    this.frames = frames;
    this.msgs = msgs;
    this.head = 0;
  }
}

function framesOf(size: number): (Buffer | null)[] {
  return new Array<Buffer | null>(size).fill(NO_FRAME);
}

function messagesOf(size: number): (BrokerMessage | null)[] {
  return new Array<BrokerMessage | null>(size).fill(null);
}
