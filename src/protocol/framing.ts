/**
 * Length-prefixed framing: a 4-byte big-endian unsigned length N, then N bytes of text.
 *
 * The decoder never allocates the declared size up front: a peer could announce 4 GiB
 * and send nothing. It keeps the received chunks and joins them only once a whole frame
 * is present, and reports an oversize header as soon as the 4 header bytes are in.
 */

/** Bytes in the length header. */
export const HEADER_BYTES = 4;
/** Largest length a 32-bit header can carry. */
export const MAX_FRAME_LENGTH = 0xffff_ffff;

/** Where a header split across chunks is put together. */
const HEADER_SCRATCH = Buffer.alloc(HEADER_BYTES);
/** A decoder's own store for a partial frame starts this large and doubles as needed... */
const FIRST_STORE_BYTES = 512;
/** ...up to this; a partial frame larger than this is kept in buffers of its own. */
const MAX_STORE_BYTES = 4096;

/** What {@link FrameDecoder.push} reports when a header announces too large a frame. */
export interface OversizeFrame {
  declared: number;
  limit: number;
}

/**
 * Incremental frame decoder. Feed it socket chunks; it calls `onFrame` with each complete
 * frame body (a view into the received bytes, valid until the callback returns unless
 * copied) in arrival order.
 */
export class FrameDecoder {
  /** The partial frame's bytes, when they are not in `store`. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /**
   * This decoder's own buffer for a small partial frame: its bytes at `[0, buffered)`
   * while `chunks` is empty. A sender's stream seldom ends a read on a frame boundary, so nearly
   * every read of a busy connection leaves a partial frame. Copied into a fresh buffer
   * each time, it was a slice of Node's shared pool that lived into the next read, often
   * past a scavenge: promoted with its 8 KiB slab, which then waited for a major
   * collection.
   */
  private store: Buffer | null = null;
  private failed = false;

  /** @param maxFrameSize largest body accepted, in bytes */
  constructor(private maxFrameSize: number) {}

  /** Accept bodies up to `bytes` from the next header on (a limit is only ever raised). */
  raiseLimit(bytes: number): void {
    if (bytes > this.maxFrameSize) this.maxFrameSize = bytes;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Consume one chunk. Returns `null`, or the oversize header that stopped decoding; after
   * that the decoder refuses further input because the stream can no longer be re-synced.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): OversizeFrame | null {
    return this.pushRanges(chunk, (buf, start, end) => onFrame(buf.subarray(start, end)));
  }

  /**
   * {@link push}, reporting each frame body as `buf[start..end)` instead of a view: a
   * Buffer view costs more to create than a small frame costs to handle. `buf` may be
   * the decoder's own buffer, rewritten by the next chunk: copy what must outlive the call.
   */
  pushRanges(chunk: Buffer, onFrame: (buf: Buffer, start: number, end: number) => void): OversizeFrame | null {
    if (this.failed) return null;
    let off = 0;
    if (this.buffered > 0) {
      // A frame is pending: join its bytes with only as much of the chunk as completes it,
      // then read the rest of the chunk in place. Joining the whole chunk would copy and
      // allocate up to 64 KiB per socket read, since a sender's stream seldom ends a read
      // on a frame boundary.
      const have = this.buffered + chunk.length;
      if (have < HEADER_BYTES) return this.keep(chunk);
      const n = this.pendingDeclared(chunk);
      if (n > this.maxFrameSize) return this.fail(n);
      const total = HEADER_BYTES + n;
      if (have < total) return this.keep(chunk);
      const frame = this.joined(total);
      off = total - this.buffered;
      chunk.copy(frame, this.buffered, 0, off);
      this.chunks = [];
      this.buffered = 0;
      onFrame(frame, HEADER_BYTES, total);
    }
    const len = chunk.length;
    while (len - off >= HEADER_BYTES) {
      const n = chunk.readUInt32BE(off);
      if (n > this.maxFrameSize) return this.fail(n);
      if (len - off - HEADER_BYTES < n) break;
      const start = off + HEADER_BYTES;
      off = start + n;
      onFrame(chunk, start, off);
    }
    // Copy the tail: the caller's chunk may be a pooled buffer reused after we return.
    if (off < len) this.keep(off === 0 ? chunk : chunk.subarray(off));
    return null;
  }

  /** Keep a copy of `chunk` behind the pending bytes, for the same pooled-buffer reason as the tail copy. */
  private keep(chunk: Buffer): null {
    const need = this.buffered + chunk.length;
    if (this.chunks.length === 0 && need <= MAX_STORE_BYTES) {
      chunk.copy(this.storeOf(need), this.buffered);
    } else {
      if (this.inStore) this.chunks = [Buffer.from(this.store!.subarray(0, this.buffered))];
      this.chunks.push(Buffer.from(chunk));
    }
    this.buffered = need;
    return null;
  }

  /** Whether the pending bytes are in the store (none are in `chunks`). */
  private get inStore(): boolean {
    return this.buffered > 0 && this.chunks.length === 0;
  }

  /**
   * A buffer of `total` bytes starting with the pending ones: the store when the frame fits
   * in it, else a new one.
   */
  private joined(total: number): Buffer {
    if (this.inStore && total <= MAX_STORE_BYTES) return this.storeOf(total);
    const frame = Buffer.allocUnsafe(total);
    if (this.inStore) this.store!.copy(frame, 0, 0, this.buffered);
    else {
      let at = 0;
      for (const piece of this.chunks) at += piece.copy(frame, at);
    }
    return frame;
  }

  /** The store, at least `n` bytes long (at most MAX_STORE_BYTES), its pending bytes kept. */
  private storeOf(n: number): Buffer {
    const old = this.store;
    if (old !== null && old.length >= n) return old;
    let size = old === null ? FIRST_STORE_BYTES : old.length * 2;
    while (size < n) size *= 2;
    // Its own memory, not a slice of Node's pool: it lives as long as the connection.
    const store = Buffer.allocUnsafeSlow(Math.min(size, MAX_STORE_BYTES));
    // Only a partial frame in the store grows it: its bytes come along.
    if (old !== null) old.copy(store, 0, 0, this.buffered);
    this.store = store;
    return store;
  }

  /** The pending frame's declared length; its header may end in `next` (there are 4 bytes in all). */
  private pendingDeclared(next: Buffer): number {
    const first = this.inStore ? this.store!.subarray(0, this.buffered) : this.chunks[0]!;
    if (first.length >= HEADER_BYTES) return first.readUInt32BE(0);
    let got = 0;
    for (const piece of this.inStore ? [first] : this.chunks) {
      got += piece.copy(HEADER_SCRATCH, got, 0, Math.min(HEADER_BYTES - got, piece.length));
      if (got === HEADER_BYTES) break;
    }
    if (got < HEADER_BYTES) next.copy(HEADER_SCRATCH, got, 0, HEADER_BYTES - got);
    return HEADER_SCRATCH.readUInt32BE(0);
  }

  private fail(declared: number): OversizeFrame {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.store = null;
    return { declared, limit: this.maxFrameSize };
  }
}

/** Encode a JSON text as one frame. */
export function encodeFrame(text: string): Buffer {
  const n = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + n);
  frame.writeUInt32BE(n, 0);
  frame.write(text, HEADER_BYTES, 'utf8');
  return frame;
}

/** Encode a value as a JSON frame. */
export function encodeJsonFrame(value: unknown): Buffer {
  return encodeFrame(JSON.stringify(value));
}
