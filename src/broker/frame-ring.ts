/**
 * The frames a connection has queued, oldest first, in parallel circular arrays: where
 * each frame's bytes are (a buffer and a byte range in it), what kind of entry it is, and
 * the message it delivers when the queue may still need that message.
 *
 * A subscriber that reads slower than its publishers write keeps up to `max_queue_size`
 * deliveries here for as long as it lags: long enough for V8's scavenges to copy whatever
 * they hold, and then to move it to the old generation, where it stays, dead, until a
 * major collection. So an entry holds as few objects as it can. A plain delivery's frame
 * is in the frame store (frame-store.ts), shared with the other queues it was routed to:
 * the entry keeps the chunk's number and the frame's range in it; and it keeps the
 * message only when a flush needs it: one with a TTL, whose expiry is reported with it
 * (to take a QoS 1 message out of its session's in-flight record). A QoS 0 message without
 * a TTL, the bulk of a fan-out, is not kept by its queues however long its deliveries
 * wait (a QoS 1 one is kept by its session's records anyway).
 */
import { frameStore } from './frame-store.js';
import type { BrokerMessage } from './message.js';

/** A slot that holds nothing: never written, shifted out, or dropped. */
export const NO_FRAME = Buffer.alloc(0);

/** What an entry is: {@link CONTROL}, {@link QOS0} or {@link QOS1}. */
export type EntryKind = 0 | 1 | 2;
/** A response, or a chunk of them: never dropped. */
export const CONTROL: EntryKind = 0;
/** A QoS 0 delivery: the first the `max_queue_size` policy drops. */
export const QOS0: EntryKind = 1;
/** A QoS 1 delivery. */
export const QOS1: EntryKind = 2;

const MIN_CAPACITY = 16;
/**
 * An emptied ring larger than this goes back to MIN_CAPACITY, so a connection that once
 * had a long backlog does not keep arrays sized for it; smaller rings stay, so a queue
 * that keeps filling and draining does not reallocate each time.
 */
const KEEP_CAPACITY = 1024;

/**
 * The ring's arrays, one slot per entry. The frame buffers and the messages are arrays of
 * references, 8 bytes a slot each, which most queues never need: a plain delivery's frame
 * is in the frame store and its message is not kept. So those two arrays are made only
 * when an entry first needs one (a response or a frame of its own; a message with a TTL
 * or QoS 1): a lagging subscriber of plain messages, up to `max_queue_size` entries, is
 * held in its typed arrays alone (an open-flow fan-out's ten rings held 1.6-2.6 MB of
 * such arrays of nothing).
 */
class Slots {
  /** Each entry's frame buffer: NO_FRAME for one in the frame store; null until one is not. */
  private buffers: Buffer[] | null = null;
  /** The frame store's chunk each entry's frame is in; -1 for one in `buffers`. */
  readonly chunks: Int32Array;
  readonly starts: Int32Array;
  /** Bytes of each entry's frame; 0 for an empty slot. */
  readonly sizes: Int32Array;
  readonly kinds: Uint8Array;
  /** The message of each entry that keeps one; null until one does. */
  private msgs: (BrokerMessage | null)[] | null = null;

  constructor(readonly capacity: number) {
    this.chunks = new Int32Array(capacity).fill(-1);
    this.starts = new Int32Array(capacity);
    this.sizes = new Int32Array(capacity);
    this.kinds = new Uint8Array(capacity);
  }

  /** The frame buffer of the entry in `slot`: NO_FRAME for one in the frame store. */
  bufferOf(slot: number): Buffer {
    const buffers = this.buffers;
    return buffers === null ? NO_FRAME : buffers[slot]!;
  }

  setBuffer(slot: number, buffer: Buffer): void {
    if (this.buffers === null) {
      if (buffer === NO_FRAME) return;
      this.buffers = new Array<Buffer>(this.capacity).fill(NO_FRAME);
    }
    this.buffers[slot] = buffer;
  }

  /** The message the entry in `slot` keeps, if any. */
  msgOf(slot: number): BrokerMessage | null {
    const msgs = this.msgs;
    return msgs === null ? null : msgs[slot]!;
  }

  setMsg(slot: number, msg: BrokerMessage | null): void {
    if (this.msgs === null) {
      if (msg === null) return;
      this.msgs = new Array<BrokerMessage | null>(this.capacity).fill(null);
    }
    this.msgs[slot] = msg;
  }

  /** Copy the entry in slot `from` to `to`'s slot `slot`. */
  copy(from: number, to: Slots, slot: number): void {
    to.setBuffer(slot, this.bufferOf(from));
    to.chunks[slot] = this.chunks[from]!;
    to.starts[slot] = this.starts[from]!;
    to.sizes[slot] = this.sizes[from]!;
    to.kinds[slot] = this.kinds[from]!;
    to.setMsg(slot, this.msgOf(from));
  }

  /** Empty a slot; an entry in it that is still held lets go of its chunk. */
  empty(slot: number): void {
    const chunk = this.chunks[slot]!;
    if (chunk >= 0 && this.sizes[slot] !== 0) frameStore.release(chunk);
    this.clear(slot);
  }

  /** Empty a slot without letting go of anything (its entry was copied elsewhere). */
  clear(slot: number): void {
    if (this.buffers !== null) this.buffers[slot] = NO_FRAME;
    this.chunks[slot] = -1;
    this.sizes[slot] = 0;
    if (this.msgs !== null) this.msgs[slot] = null;
  }

  /** Whether the reference arrays were made (for tests). */
  get referenceArrays(): { buffers: boolean; msgs: boolean } {
    return { buffers: this.buffers !== null, msgs: this.msgs !== null };
  }
}

export class FrameRing {
  private slots = new Slots(MIN_CAPACITY);
  /** Slot of the oldest entry. */
  private head = 0;
  private count = 0;

  /** Entries held, dropped ones included. */
  get length(): number {
    return this.count;
  }

  /** Slots allocated (for tests: the ring must give back what a backlog made it grow to). */
  get capacity(): number {
    return this.slots.capacity;
  }

  /** Whether the ring's arrays of frame buffers and of messages exist (for tests). */
  get referenceArrays(): { buffers: boolean; msgs: boolean } {
    return this.slots.referenceArrays;
  }

  /**
   * Queue the frame at `buffer[start..start + size)`, with the message it delivers when a
   * flush will need it (see above). Nothing may change those bytes while they are queued;
   * a chunk of responses may grow past them (see {@link setSizeAt}).
   */
  push(buffer: Buffer, start: number, size: number, kind: EntryKind, msg: BrokerMessage | null): void {
    // Not `this.slots.setBuffer(this.pushSlot(...))`: that reads the arrays before a push grows them.
    const slot = this.pushSlot(start, size, kind, msg);
    this.slots.setBuffer(slot, buffer);
  }

  /**
   * Queue the frame at `start` in the frame store's chunk `chunk`, which the entry holds
   * (retains) until it is shifted out, dropped or cleared.
   */
  pushStored(chunk: number, start: number, size: number, kind: EntryKind, msg: BrokerMessage | null): void {
    frameStore.retain(chunk);
    const slot = this.pushSlot(start, size, kind, msg);
    this.slots.chunks[slot] = chunk;
  }

  /** Fill the next slot but for where its frame is; returns the slot. */
  private pushSlot(start: number, size: number, kind: EntryKind, msg: BrokerMessage | null): number {
    if (this.count === this.slots.capacity) this.grow();
    const slots = this.slots;
    const slot = this.slot(this.count);
    slots.starts[slot] = start;
    slots.sizes[slot] = size;
    slots.kinds[slot] = kind;
    slots.setMsg(slot, msg);
    this.count++;
    return slot;
  }

  /**
   * The buffer holding the frame of the entry `i` places from the oldest; NO_FRAME once
   * dropped. One in the frame store stays as it is after the entry is shifted out, until
   * the store's next `reserve`.
   */
  bufferAt(i: number): Buffer {
    const slot = this.slot(i);
    const chunk = this.slots.chunks[slot]!;
    return chunk >= 0 ? frameStore.chunk(chunk) : this.slots.bufferOf(slot);
  }

  /** The frame store's chunk entry `i` is in; -1 for a frame of its own. */
  chunkAt(i: number): number {
    return this.slots.chunks[this.slot(i)]!;
  }

  /** Where in {@link bufferAt} the frame of entry `i` starts. */
  startAt(i: number): number {
    return this.slots.starts[this.slot(i)]!;
  }

  /** Bytes of entry `i`'s frame; 0 once dropped. */
  sizeAt(i: number): number {
    return this.slots.sizes[this.slot(i)]!;
  }

  kindAt(i: number): EntryKind {
    return this.slots.kinds[this.slot(i)] as EntryKind;
  }

  /** The message entry `i` delivers, if it was queued with it; `null` otherwise and once dropped. */
  msgAt(i: number): BrokerMessage | null {
    return this.slots.msgOf(this.slot(i));
  }

  /** Change the size of entry `i` (a chunk of responses that grew). */
  setSizeAt(i: number, size: number): void {
    this.slots.sizes[this.slot(i)] = size;
  }

  /** Let go of entry `i`'s frame and message; the slot stays until shifted or compacted. */
  dropAt(i: number): void {
    this.slots.empty(this.slot(i));
  }

  /** Remove the oldest entry. */
  shift(): void {
    if (this.count === 0) return;
    this.slots.empty(this.head);
    this.head = this.slot(1);
    if (--this.count === 0) this.emptied();
  }

  /** Remove the dropped entries, keeping the order of the rest. */
  compact(): void {
    const slots = this.slots;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const from = this.slot(i);
      if (slots.sizes[from] === 0) continue;
      slots.copy(from, slots, this.slot(kept++));
    }
    // What is left past the kept entries was copied to them, or dropped.
    for (let i = kept; i < this.count; i++) slots.clear(this.slot(i));
    this.count = kept;
    if (kept === 0) this.emptied();
  }

  /** Remove every entry. */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.slots.empty(this.slot(i));
    this.slots = new Slots(MIN_CAPACITY);
    this.head = 0;
    this.count = 0;
  }

  /** The array slot of the entry `i` places from the oldest. */
  private slot(i: number): number {
    return (this.head + i) & (this.slots.capacity - 1);
  }

  private emptied(): void {
    if (this.slots.capacity > KEEP_CAPACITY) this.clear();
    else this.head = 0;
  }

  /** Double the arrays, unrolling the ring so its oldest entry is at slot 0. */
  private grow(): void {
    const bigger = new Slots(this.slots.capacity * 2);
    for (let i = 0; i < this.count; i++) this.slots.copy(this.slot(i), bigger, i);
    this.slots = bigger;
    this.head = 0;
  }
}
