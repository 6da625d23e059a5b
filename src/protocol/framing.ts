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
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  /** @param maxFrameSize largest body accepted, in bytes */
  constructor(private readonly maxFrameSize: number) {}

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
   * Buffer view costs more to create than a small frame costs to handle.
   */
  pushRanges(chunk: Buffer, onFrame: (buf: Buffer, start: number, end: number) => void): OversizeFrame | null {
    if (this.failed) return null;
    let buf: Buffer;
    if (this.buffered === 0) {
      buf = chunk;
    } else {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      // Join only when a whole frame (or at least its header) can be taken out.
      if (this.buffered < HEADER_BYTES) return this.keepLastChunk();
      const head = this.chunks.length === 1 ? this.chunks[0]! : this.peekHeader();
      const n = head.readUInt32BE(0);
      if (n > this.maxFrameSize) return this.fail(n);
      if (this.buffered < HEADER_BYTES + n) return this.keepLastChunk();
      buf = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let off = 0;
    const len = buf.length;
    while (len - off >= HEADER_BYTES) {
      const n = buf.readUInt32BE(off);
      if (n > this.maxFrameSize) return this.fail(n);
      if (len - off - HEADER_BYTES < n) break;
      const start = off + HEADER_BYTES;
      off = start + n;
      onFrame(buf, start, off);
    }
    if (off < len) {
      // Copy the tail: the caller's chunk may be a pooled buffer reused after we return.
      const rest = Buffer.from(buf.subarray(off));
      this.chunks = [rest];
      this.buffered = rest.length;
    }
    return null;
  }

  /** Copy the chunk just stored, for the same pooled-buffer reason as the tail copy. */
  private keepLastChunk(): null {
    const last = this.chunks.length - 1;
    this.chunks[last] = Buffer.from(this.chunks[last]!);
    return null;
  }

  private peekHeader(): Buffer {
    const head = Buffer.allocUnsafe(HEADER_BYTES);
    let got = 0;
    for (const c of this.chunks) {
      const take = Math.min(HEADER_BYTES - got, c.length);
      c.copy(head, got, 0, take);
      got += take;
      if (got === HEADER_BYTES) break;
    }
    return head;
  }

  private fail(declared: number): OversizeFrame {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
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
