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
import { Deque } from './deque.js';
import type { FlushScheduler, Flushable } from './flush-scheduler.js';
import { deliveryFrameSize, writeDeliveryFrame } from './delivery-frame.js';
import { deliveryFrame, isExpired, type BrokerMessage, type DeliveryFlags } from './message.js';

interface Entry {
  frame: Buffer;
  /** Bytes of `frame` in use: less than its length for a chunk of coalesced responses. */
  used: number;
  /** `null` for responses and other control frames, and once dropped. */
  msg: BrokerMessage | null;
  dropped: boolean;
}

/** What the queue reports to its owner. */
export interface OutboundEvents {
  /** A delivery was dropped by the `max_queue_size` policy. */
  dropped(msg: BrokerMessage): void;
  /** A delivery's TTL ran out while it waited. */
  expired(msg: BrokerMessage): void;
  /** Unsent bytes passed the limit; the queue has discarded everything and stopped. */
  overflow(unsentBytes: number): void;
}

/** Bytes joined into one `socket.write` at most. */
const MAX_WRITE_BYTES = 1024 * 1024;

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
 * While the socket takes everything, frames are written straight into a chunk that goes
 * out at the end of the turn: no entry and no buffer per frame (creating a Buffer costs
 * more than writing a small frame into one). A message routed to one connection is
 * written there in parts; routed to more, it gets one frame of its own, copied to each.
 */
const DIRECT_CHUNK_BYTES = 64 * 1024;
/**
 * A connection's first chunk in a turn is small and grows by doubling: a broadcast to a
 * thousand connections must not take a thousand 64 KiB chunks at once.
 */
const FIRST_CHUNK_BYTES = 2 * 1024;
/**
 * Dropped entries stay in the queue until a flush reaches them; past this many, and more
 * than the live ones, the queue is rebuilt without them. Under a steady overload (a
 * subscriber that reads slower than its publishers write, for seconds) the socket seldom
 * drains, and each new delivery drops one: the dropped ones would pile up without bound.
 */
const COMPACT_AFTER_DROPPED = 1024;
const NO_FLAGS: DeliveryFlags = {};

/**
 * Full-size chunks whose bytes the kernel took synchronously, for any connection's next
 * turn: with them, a steady flow allocates no chunks at all, and the memory allocator is
 * not left holding a trail of freed 64 KiB blocks (which kept the broker's RSS high).
 */
const spareChunks: Buffer[] = [];
const MAX_SPARE_CHUNKS = 8;

/**
 * The message whose plain frame was last written in parts. A second recipient of it has
 * the message's own frame built (deliveryFrame) and every further one copies that whole:
 * copying part of a buffer creates a view, which costs more than the copy.
 */
let writtenInParts: BrokerMessage | null = null;

export class OutboundQueue implements Flushable {
  flushPending = false;
  private entries = new Deque<Entry>();
  /** Entries in `entries` that were dropped (see COMPACT_AFTER_DROPPED). */
  private droppedEntries = 0;
  /** QoS 0 deliveries still queued, oldest first: the drop candidates. */
  private readonly qos0 = new Deque<Entry>();
  private deliveries = 0;
  /** Bytes queued here, not yet handed to the socket. */
  private bytes = 0;
  /** The last entry, while it is a chunk that further responses can be copied into. */
  private controlTail: Entry | null = null;
  private waitingForDrain = false;
  private ended = false;
  /** The direct chunk: bytes `directStart..directUsed` are frames not yet written. */
  private direct: Buffer | null = null;
  private directStart = 0;
  private directUsed = 0;
  private directDeliveries = 0;

  constructor(
    private readonly socket: Socket,
    private readonly maxQueued: number,
    private readonly maxBytes: number,
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

  /** Entries the queue holds, dropped ones included (for tests: must stay bounded). */
  get heldEntries(): number {
    return this.entries.length;
  }

  /** Deliveries waiting to be written. */
  get queuedDeliveries(): number {
    return this.deliveries;
  }

  /** Bytes not yet written to the peer: queued here plus buffered in the socket. */
  get unsentBytes(): number {
    return this.bytes + this.socket.writableLength;
  }

  /** Queue a response or other control frame; these are never dropped. */
  sendControl(frame: Buffer): void {
    if (this.ended) return;
    this.bytes += frame.length;
    if (this.overLimit()) return;
    const chunk = this.isDirect() ? this.reserve(frame.length) : null;
    if (chunk !== null) {
      this.directUsed += frame.copy(chunk, this.directUsed);
      this.scheduler.mark(this);
      return;
    }
    if (this.waitingForDrain && frame.length < MIN_CHUNK_BYTES) {
      this.appendToChunk(frame);
      return;
    }
    this.entries.push({ frame, used: frame.length, msg: null, dropped: false });
    this.controlTail = null;
    this.scheduler.mark(this);
  }

  private appendToChunk(frame: Buffer): void {
    const tail = this.controlTail;
    if (tail && tail.used + frame.length <= tail.frame.length) {
      tail.used += frame.copy(tail.frame, tail.used);
      return;
    }
    const chunk = Buffer.allocUnsafe(Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, this.bytes)));
    const entry: Entry = { frame: chunk, used: frame.copy(chunk, 0), msg: null, dropped: false };
    this.entries.push(entry);
    this.controlTail = entry;
    // No flush to schedule: the drain event flushes.
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
   * The direct chunk, with room for `n` more bytes at `directUsed`; `null` when the full
   * chunk was handed to the socket and the socket wants no more (then frames queue).
   */
  private reserve(n: number): Buffer | null {
    const chunk = this.direct;
    if (chunk !== null && this.directUsed + n <= chunk.length) return chunk;
    const unwritten = this.directUsed - this.directStart;
    if (chunk !== null && chunk.length < DIRECT_CHUNK_BYTES && unwritten + n <= DIRECT_CHUNK_BYTES) {
      // Grow: move the unwritten frames into a chunk twice the size (or a spare one). The
      // old chunk is dropped, never reused, so a copy source inside it stays valid.
      const bigger = takeChunk(Math.max(chunk.length * 2, unwritten + n));
      chunk.copy(bigger, 0, this.directStart, this.directUsed);
      this.setDirect(bigger, unwritten);
      return bigger;
    }
    this.writeDirect();
    if (this.waitingForDrain) return null;
    const fresh = this.direct !== null && n <= this.direct.length ? this.direct : takeChunk(n);
    this.setDirect(fresh, 0);
    return fresh;
  }

  private setDirect(chunk: Buffer | null, used: number): void {
    this.direct = chunk;
    this.directStart = 0;
    this.directUsed = used;
  }

  /** Hand the direct chunk's unwritten frames to the socket. */
  private writeDirect(): void {
    const n = this.directUsed - this.directStart;
    if (n === 0) return;
    const data = this.direct!.subarray(this.directStart, this.directUsed);
    this.directStart = this.directUsed;
    this.bytes -= n;
    this.deliveries -= this.directDeliveries;
    this.directDeliveries = 0;
    if (!this.socket.write(data)) this.waitingForDrain = true;
    // Nothing left in the socket: the kernel has the bytes, so the chunk can be reused.
    if (this.socket.writableLength === 0) {
      const chunk = this.direct!;
      if (chunk.length === DIRECT_CHUNK_BYTES && spareChunks.length < MAX_SPARE_CHUNKS) {
        spareChunks.push(chunk);
        this.setDirect(null, 0);
      } else {
        this.setDirect(chunk, 0);
      }
    } else {
      this.setDirect(null, 0);
    }
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
    if (this.directDeliveries >= this.maxQueued) this.writeDirect();
    if (this.isDirect() && this.writeDeliveryDirect(msg, flags)) return true;
    const frame = deliveryFrame(msg, flags);
    if (this.deliveries >= this.maxQueued && !this.dropOldestQos0()) {
      this.events.dropped(msg);
      return false;
    }
    this.bytes += frame.length;
    // Accepted, then lost with the connection: a QoS 1 message stays in the session's
    // in-flight set and is redelivered when the client reconnects.
    if (this.overLimit()) return true;
    const entry: Entry = { frame, used: frame.length, msg, dropped: false };
    this.entries.push(entry);
    this.controlTail = null;
    if (msg.qos === 0) this.qos0.push(entry);
    this.deliveries++;
    this.scheduler.mark(this);
    return true;
  }

  /** Write the delivery into the direct chunk; false when it must queue instead. */
  private writeDeliveryDirect(msg: BrokerMessage, flags: DeliveryFlags): boolean {
    const plain = flags === NO_FLAGS;
    const whole = plain ? (msg.frame ?? (writtenInParts === msg ? deliveryFrame(msg) : undefined)) : undefined;
    const size = whole !== undefined ? whole.length : deliveryFrameSize(msg, flags);
    const chunk = this.reserve(size);
    if (chunk === null) return false;
    this.bytes += size;
    if (this.overLimit()) return true; // as in the queued case: accepted, lost with the connection
    const at = this.directUsed;
    if (whole !== undefined) {
      whole.copy(chunk, at);
    } else {
      writeDeliveryFrame(msg, flags, chunk, at);
      if (plain) writtenInParts = msg;
    }
    this.directUsed = at + size;
    this.directDeliveries++;
    this.deliveries++;
    this.scheduler.mark(this);
    return true;
  }

  private dropOldestQos0(): boolean {
    for (let e = this.qos0.shift(); e; e = this.qos0.shift()) {
      if (e.dropped || e.frame.length === 0) continue; // already written or dropped
      e.dropped = true;
      this.deliveries--;
      this.bytes -= e.used;
      this.events.dropped(e.msg!);
      // Its bytes and message go now; the entry itself when flushed or compacted.
      e.frame = EMPTY;
      e.msg = null;
      if (++this.droppedEntries > COMPACT_AFTER_DROPPED && this.droppedEntries * 2 > this.entries.length) this.compact();
      return true;
    }
    return false;
  }

  /** Rebuild `entries` without the dropped ones, keeping the order of the rest. */
  private compact(): void {
    const live = new Deque<Entry>();
    for (const e of this.entries) if (!e.dropped) live.push(e);
    this.entries = live;
    this.droppedEntries = 0;
  }

  /** Write what is queued, as far as the socket accepts it without buffering. */
  flush(): void {
    if (this.waitingForDrain && !this.ended) return;
    if (this.socket.destroyed) {
      this.discard();
      return;
    }
    // Direct frames are older than any entry: an entry is only queued while they wait.
    this.writeDirect();
    if (this.entries.length === 0) {
      this.qos0.clear();
      return;
    }
    const now = Date.now();
    while (this.entries.length > 0 && (!this.waitingForDrain || this.ended)) {
      const frames: Buffer[] = [];
      let bytes = 0;
      while (bytes < MAX_WRITE_BYTES) {
        const e = this.entries.shift();
        if (!e) break;
        if (e.dropped) {
          this.droppedEntries--;
          continue;
        }
        this.bytes -= e.used;
        if (e.msg) {
          this.deliveries--;
          if (isExpired(e.msg, now)) {
            this.events.expired(e.msg);
            e.frame = EMPTY;
            continue;
          }
        }
        frames.push(e.used === e.frame.length ? e.frame : e.frame.subarray(0, e.used));
        bytes += e.used;
        // Marks "written" for the QoS 0 index and for appendToChunk (an empty chunk has no
        // room), and frees the reference.
        e.frame = EMPTY;
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
    if (finalFrame) this.entries.push({ frame: finalFrame, used: finalFrame.length, msg: null, dropped: false });
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
    this.entries.clear();
    this.droppedEntries = 0;
    this.qos0.clear();
    this.deliveries = 0;
    this.bytes = 0;
    this.controlTail = null;
    this.setDirect(null, 0);
    this.directDeliveries = 0;
    return forgotten;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A chunk of at least `n` bytes: a spare one when one is left, else a new one of the next
 * power of two from FIRST_CHUNK_BYTES up to DIRECT_CHUNK_BYTES (a larger frame gets its size).
 */
function takeChunk(n: number): Buffer {
  if (n <= DIRECT_CHUNK_BYTES && spareChunks.length > 0) return spareChunks.pop()!;
  if (n > DIRECT_CHUNK_BYTES) return Buffer.allocUnsafe(n);
  return Buffer.allocUnsafe(Math.max(FIRST_CHUNK_BYTES, 2 ** Math.ceil(Math.log2(n))));
}
