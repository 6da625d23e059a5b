/**
 * A connection's outbound queue. Frames leave in batches (see FlushScheduler); while the
 * socket reports backpressure, deliveries wait here instead of piling up inside Node's
 * stream buffer, so the broker can enforce `max_queue_size` and its drop policy: past
 * the limit the oldest QoS 0 delivery goes, or, when only QoS 1 deliveries wait, the new
 * one is refused. Responses are never dropped; instead the unsent bytes are bounded:
 * past `max_output_bytes` the owner is told to close the connection. A slow reader
 * therefore costs the broker bounded memory and never delays anyone else.
 */
import type { Socket } from 'node:net';
import type { FlushScheduler, Flushable } from './flush-scheduler.js';
import { deliveryFrameSize, writeDeliveryFrame } from './delivery-frame.js';
import { CONTROL, FrameRing, NO_FRAME, QOS0, QOS1, type EntryKind } from './frame-ring.js';
import { giveBackWriteChunk, takeWriteChunk, WRITE_CHUNK_BYTES } from './chunk-pool.js';
import { DirectChunk } from './direct-chunk.js';
import { WritableWaiters } from './writable-waiters.js';
import { deliveryFrame, isExpired, NO_FLAGS, type BrokerMessage, type DeliveryFlags } from './message.js';
import { placeQueuedFrame, queuedFrame } from './queued-frame.js';
import { wholeFrameFor, wroteInParts } from './shared-frame.js';

/** What the queue reports to its owner. */
export interface OutboundEvents {
  /**
   * A delivery was dropped by the `max_queue_size` policy. Which one is not said: a
   * queued QoS 0 delivery no longer holds its message (see frame-ring.ts).
   */
  dropped(): void;
  /** A delivery's TTL ran out while it waited. */
  expired(msg: BrokerMessage): void;
  /** Unsent bytes passed the limit; the queue has discarded everything and stopped. */
  overflow(unsentBytes: number): void;
}

/**
 * Under backpressure a flush hands the socket this much, then waits for its drain: enough
 * that the socket seldom wakes the broker to take more, and a bound on what Node holds.
 */
const MAX_FLUSH_BYTES = 1024 * 1024;
/** Queued frames larger than this are written as they are rather than copied into a write chunk. */
const OWN_WRITE_BYTES = WRITE_CHUNK_BYTES / 16;

/**
 * Responses queued behind backpressure are copied into chunks. A client that pipelines
 * requests and never reads would otherwise cost an object and a Buffer per 60-byte
 * answer, several times the bytes the output limit counts. Chunks grow with the backlog
 * up to 1 MiB: allocations that large are mapped from the OS and handed back when freed,
 * while a backlog of 64 KiB chunks stayed in the allocator's heap after the client left
 * (measured on glibc: RSS 64 MB above its start, against 10 MB with 1 MiB chunks).
 */
const MIN_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * A dropped delivery that is the queue's oldest entry leaves it at once; one behind a
 * response or a QoS 1 delivery stays, emptied, until a flush reaches it, and past this
 * many, and more than the live ones, the queue is rebuilt without them. Under a steady
 * overload (a subscriber that reads slower than its publishers write, for seconds) the
 * socket seldom drains, and each new delivery drops one: they would pile up without bound.
 */
const COMPACT_AFTER_DROPPED = 1024;

export class OutboundQueue implements Flushable {
  flushPending = false;
  private readonly entries = new FrameRing();
  /** Entries in `entries` that were dropped (see COMPACT_AFTER_DROPPED). */
  private droppedEntries = 0;
  /**
   * The first this many entries hold no QoS 0 delivery that could still be dropped: the
   * search for the oldest one starts here. Each entry is passed once, so the drop policy
   * costs O(1) per delivery without an index of its own.
   */
  private qos0Searched = 0;
  private deliveries = 0;
  /** Bytes queued here, not yet handed to the socket. */
  private bytes = 0;
  /**
   * Bytes in use of the last entry while it is a chunk that further responses can be
   * copied into; -1 when it is not.
   */
  private controlTailUsed = -1;
  private waitingForDrain = false;
  private ended = false;
  private readonly direct = new DirectChunk();
  private readonly writableWaiters = new WritableWaiters();
  private readonly writable = (): boolean => this.takesMore;

  constructor(
    private readonly socket: Socket,
    private readonly maxQueued: number,
    private readonly maxBytes: number,
    private readonly scheduler: FlushScheduler,
    private readonly events: OutboundEvents,
  ) {
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.direct.socketDrained();
      this.flush();
    });
  }

  /** Entries the queue holds, dropped ones included (for tests: must stay bounded). */
  get heldEntries(): number {
    return this.entries.length;
  }

  /** Slots the queue's arrays have room for (for tests: a drained backlog gives them back). */
  get heldSlots(): number {
    return this.entries.capacity;
  }

  /** Deliveries waiting to be written. */
  get queuedDeliveries(): number {
    return this.deliveries;
  }

  /** Bytes not yet written to the peer: queued here plus buffered in the socket. */
  get unsentBytes(): number {
    return this.bytes + this.socket.writableLength;
  }

  /**
   * True while a delivery given now goes straight to the socket: nothing waits in the
   * queue and the socket reports no backpressure. A sender with many frames to give (a
   * reconnect's catch-up) gives them while this holds and then waits for
   * {@link whenWritable}, so it never fills the queue or passes the output limit.
   */
  get takesMore(): boolean {
    return !this.ended && this.isDirect();
  }

  /**
   * Call `resume` in a later turn, once {@link takesMore} holds again: the socket has
   * taken what it held and what waited here. Not called if the connection ends first.
   */
  whenWritable(resume: () => void): void {
    this.writableWaiters.add(resume);
    this.writableWaiters.wakeIf(this.writable);
  }

  /** Queue a response or other control frame; these are never dropped. */
  sendControl(frame: Buffer): void {
    if (this.ended) return;
    this.bytes += frame.length;
    if (this.overLimit()) return;
    const chunk = this.isDirect() ? this.reserve(frame.length) : null;
    if (chunk !== null) {
      this.direct.used += frame.copy(chunk, this.direct.used);
      this.scheduler.mark(this);
      return;
    }
    if (this.waitingForDrain && frame.length < MIN_CHUNK_BYTES) {
      this.appendToChunk(frame);
      return;
    }
    this.push(frame, 0, frame.length, CONTROL, null);
    this.scheduler.mark(this);
  }

  private appendToChunk(frame: Buffer): void {
    if (this.controlTailUsed >= 0) {
      const last = this.entries.length - 1;
      const tail = this.entries.bufferAt(last);
      if (this.controlTailUsed + frame.length <= tail.length) {
        this.controlTailUsed += frame.copy(tail, this.controlTailUsed);
        this.entries.setSizeAt(last, this.controlTailUsed);
        return;
      }
    }
    const chunk = Buffer.allocUnsafe(Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, this.bytes)));
    const used = frame.copy(chunk, 0);
    this.push(chunk, 0, used, CONTROL, null);
    this.controlTailUsed = used;
    // No flush to schedule: the drain event flushes.
  }

  /**
   * Queue an entry behind the others: its frame in `buffer`, or with `chunk` 0 or more in
   * that chunk of the frame store. A chunk of responses before it takes no more.
   */
  private push(buffer: Buffer, start: number, size: number, kind: EntryKind, msg: BrokerMessage | null, chunk = -1): void {
    this.controlTailUsed = -1;
    if (chunk >= 0) this.entries.pushStored(chunk, start, size, kind, msg);
    else this.entries.push(buffer, start, size, kind, msg);
  }

  /** True (and the owner told, everything discarded) once unsent bytes pass the limit. */
  private overLimit(): boolean {
    // While the socket accepts writes it holds less than its high-water mark, so its own
    // buffer needs reading only under backpressure.
    const unsent = this.waitingForDrain ? this.unsentBytes : this.bytes;
    if (unsent <= this.maxBytes) return false;
    this.abort();
    this.events.overflow(unsent);
    return true;
  }

  /** True while frames can go straight into the direct chunk: nothing waits for the socket. */
  private isDirect(): boolean {
    return this.entries.length === 0 && !this.waitingForDrain;
  }

  /**
   * The direct chunk, with room for `n` more bytes at its `used`; `null` when the full
   * chunk was handed to the socket and the socket wants no more (then frames queue).
   */
  private reserve(n: number): Buffer | null {
    const room = this.direct.room(n);
    if (room !== null) return room;
    this.writeDirect();
    if (this.waitingForDrain) return null;
    return this.direct.fresh(n);
  }

  /** Hand the direct chunk's unwritten frames to the socket. */
  private writeDirect(): void {
    const direct = this.direct;
    const n = direct.unwritten;
    if (n === 0) return;
    this.bytes -= n;
    this.deliveries -= direct.deliveries;
    if (!this.socket.write(direct.take())) this.waitingForDrain = true;
    direct.written(this.socket.writableLength === 0);
  }

  /**
   * Queue the delivery of `msg` (with `flags`). Returns false when the policy refused it
   * (the queue is full of QoS 1 deliveries); a QoS 0 delivery already queued may be
   * dropped instead.
   */
  sendDelivery(msg: BrokerMessage, flags: DeliveryFlags = NO_FLAGS): boolean {
    if (this.ended) return false;
    // A turn that routes more than max_queue_size frames here hands them to the socket
    // early rather than dropping: nothing waited for the peer yet.
    if (this.direct.deliveries >= this.maxQueued) this.writeDirect();
    if (this.isDirect() && this.writeDeliveryDirect(msg, flags)) return true;
    if (this.deliveries >= this.maxQueued && !this.dropOldestQos0()) {
      this.events.dropped();
      return false;
    }
    const stored = flags === NO_FLAGS && placeQueuedFrame(msg);
    const own = stored ? NO_FRAME : deliveryFrame(msg, flags);
    const size = stored ? queuedFrame.size : own.length;
    this.bytes += size;
    // Accepted, then lost with the connection: a QoS 1 message stays in the session's
    // in-flight set and is redelivered when the client reconnects.
    if (this.overLimit()) return true;
    // Only a flush that finds it expired needs the message (see frame-ring.ts).
    const keep = msg.expiresAt !== 0 ? msg : null;
    this.push(own, stored ? queuedFrame.start : 0, size, msg.qos === 1 ? QOS1 : QOS0, keep, stored ? queuedFrame.chunk : -1);
    this.deliveries++;
    this.scheduler.mark(this);
    return true;
  }

  /** Write the delivery into the direct chunk; false when it must queue instead. */
  private writeDeliveryDirect(msg: BrokerMessage, flags: DeliveryFlags): boolean {
    const plain = flags === NO_FLAGS;
    const whole = plain ? wholeFrameFor(msg) : undefined;
    const size = whole !== undefined ? whole.length : deliveryFrameSize(msg, flags);
    const chunk = this.reserve(size);
    if (chunk === null) return false;
    this.bytes += size;
    if (this.overLimit()) return true; // as in the queued case: accepted, lost with the connection
    const direct = this.direct;
    const at = direct.used;
    if (whole !== undefined) {
      chunk.set(whole, at); // a fan-out's copy per recipient: see writeDeliveryFrame
    } else {
      writeDeliveryFrame(msg, flags, chunk, at);
      if (plain) wroteInParts(msg);
    }
    direct.used = at + size;
    direct.deliveries++;
    this.deliveries++;
    this.scheduler.mark(this);
    return true;
  }

  private dropOldestQos0(): boolean {
    const entries = this.entries;
    // Entries dropped earlier that now lead the queue go for good.
    while (entries.length > 0 && entries.sizeAt(0) === 0) this.shiftEntry();
    for (let i = this.qos0Searched; i < entries.length; i++) {
      // A control frame, a QoS 1 delivery or a dropped entry: never a candidate.
      if (entries.kindAt(i) !== QOS0 || entries.sizeAt(i) === 0) continue;
      this.deliveries--;
      this.bytes -= entries.sizeAt(i);
      if (i === 0) {
        // The common case under a steady overload of QoS 0 deliveries: shifted out, the
        // oldest entry leaves no dropped slot behind, and the ring stays the queue's size.
        this.shiftEntry();
      } else {
        // Its bytes and message go now; the slot when flushed or compacted.
        this.qos0Searched = i + 1;
        entries.dropAt(i);
        if (++this.droppedEntries > COMPACT_AFTER_DROPPED && this.droppedEntries * 2 > entries.length) this.compact();
      }
      this.events.dropped();
      return true;
    }
    this.qos0Searched = entries.length;
    return false;
  }

  /** Remove the oldest entry (dropped, being dropped or being written), keeping the counts in step. */
  private shiftEntry(): void {
    if (this.entries.sizeAt(0) === 0) this.droppedEntries--;
    this.entries.shift();
    if (this.qos0Searched > 0) this.qos0Searched--;
  }

  /** Remove the dropped entries, keeping the order of the rest. */
  private compact(): void {
    // A chunk of responses is never dropped, so the last entry stays the last.
    this.entries.compact();
    this.droppedEntries = 0;
    this.qos0Searched = 0;
  }

  /** Write what is queued, as far as the socket accepts it without buffering. */
  flush(): void {
    this.writeQueued();
    this.writableWaiters.wakeIf(this.writable);
  }

  private writeQueued(): void {
    if (this.waitingForDrain && !this.ended) return;
    if (this.socket.destroyed) {
      this.discard();
      return;
    }
    // Direct frames are older than any entry: an entry is only queued while they wait.
    this.writeDirect();
    const entries = this.entries;
    if (entries.length === 0) return;
    let chunk: Buffer | null = null;
    let used = 0;
    // The frames to copy next: entries whose bytes lie back to back in one buffer (as a
    // fan-out's queued frames do in their shared chunks) are copied at once.
    let run: Buffer = NO_FRAME;
    let runStart = 0;
    let runEnd = 0;
    let handed = 0;
    // Reported once the loop is done: the owner's hook could otherwise queue a frame whose
    // reservation refills a chunk that a frame in the run below is still to be copied from.
    let expired: BrokerMessage[] | null = null;
    let now = 0;
    while (entries.length > 0 && (!this.waitingForDrain || this.ended || handed < MAX_FLUSH_BYTES)) {
      // The chunk still taking responses leaves now, and takes no more.
      if (entries.length === 1) this.controlTailUsed = -1;
      // A shifted entry's bytes in the frame store stay as they are until the store's next
      // reservation, which nothing in this loop makes: they are copied below or with the run.
      const buffer = entries.bufferAt(0);
      const storedIn = entries.chunkAt(0);
      const start = entries.startAt(0);
      const size = entries.sizeAt(0);
      const kind = entries.kindAt(0);
      const msg = entries.msgAt(0);
      this.shiftEntry();
      if (size === 0) continue;
      this.bytes -= size;
      if (kind !== CONTROL) {
        this.deliveries--;
        if (msg !== null) {
          if (now === 0) now = Date.now();
          if (isExpired(msg, now)) {
            (expired ??= []).push(msg);
            continue;
          }
        }
      }
      handed += size;
      if (buffer === run && start === runEnd && used + (runEnd - runStart) + size <= WRITE_CHUNK_BYTES) {
        runEnd += size;
        continue;
      }
      if (runEnd > runStart) {
        chunk ??= takeWriteChunk();
        used += run.copy(chunk, used, runStart, runEnd);
      }
      run = NO_FRAME;
      runStart = runEnd = 0;
      // A frame in the frame store is always copied, whatever its size: its chunk is
      // refilled once released, maybe while the socket still holds what it was handed.
      if (storedIn < 0 && (size > OWN_WRITE_BYTES || (used === 0 && entries.length === 0))) {
        // Large (a chunk of responses, a big message), or the only frame: as it is.
        if (used > 0) this.writeChunk(chunk!, used);
        chunk = null;
        used = 0;
        const frame = start === 0 && size === buffer.length ? buffer : buffer.subarray(start, start + size);
        if (!this.socket.write(frame)) this.waitingForDrain = true;
        continue;
      }
      if (used + size > WRITE_CHUNK_BYTES) {
        this.writeChunk(chunk!, used);
        chunk = takeWriteChunk();
        used = 0;
      }
      run = buffer;
      runStart = start;
      runEnd = start + size;
    }
    if (runEnd > runStart) {
      chunk ??= takeWriteChunk();
      used += run.copy(chunk, used, runStart, runEnd);
    }
    if (used > 0) this.writeChunk(chunk!, used);
    else if (chunk !== null) giveBackWriteChunk(chunk);
    if (expired !== null) for (const msg of expired) this.events.expired(msg);
  }

  /** Write `used` bytes of a write chunk, which returns to the spares once the socket is done with it. */
  private writeChunk(chunk: Buffer, used: number): void {
    const data = used === chunk.length ? chunk : chunk.subarray(0, used);
    if (!this.socket.write(data, () => giveBackWriteChunk(chunk))) this.waitingForDrain = true;
  }

  /** Flush everything regardless of backpressure, then half-close the socket. */
  end(finalFrame?: Buffer): void {
    if (this.ended) return;
    if (finalFrame) this.push(finalFrame, 0, finalFrame.length, CONTROL, null);
    this.ended = true;
    this.flush();
    this.socket.end();
  }

  /**
   * Forget what is queued and accept nothing more (the connection is being cut off).
   * Returns the bytes forgotten.
   */
  abort(): number {
    this.ended = true;
    return this.discard();
  }

  /** Forget queued frames (the socket is gone). Returns the bytes forgotten. */
  discard(): number {
    const forgotten = this.bytes;
    this.writableWaiters.clear();
    this.entries.clear();
    this.droppedEntries = 0;
    this.qos0Searched = 0;
    this.deliveries = 0;
    this.bytes = 0;
    this.controlTailUsed = -1;
    this.direct.clear();
    return forgotten;
  }
}
