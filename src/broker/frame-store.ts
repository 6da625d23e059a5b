/**
 * Where delivery frames queued behind slow sockets keep their bytes: 8 KiB chunks that
 * every connection's queue shares, each counting the queue entries that point into it,
 * and reused once none does.
 *
 * A frame of its own per queued message (a Buffer, a view into Node's pool) was an object
 * that lived as long as the slowest subscriber took to read it: long enough for V8's
 * scavenges to copy it and promote it, and then to wait, dead, for a major collection
 * with the chunk under it. Here a queued frame costs the JavaScript heap nothing: its
 * queue entry holds a chunk number and a byte range, and a chunk that no entry points
 * into any more is filled again (up to 256 of them are kept spare), so the memory of
 * queued frames goes back to work as the queues drain instead of waiting for the
 * garbage collector.
 *
 * What one entry can pin is its chunk, as a view into Node's 8 KiB pool did before.
 */
import { releaseBuffer } from '../runtime/release-buffer.js';

const CHUNK_BYTES = 8 * 1024;
/** Frames larger than this are not stored here (they get a buffer of their own). */
export const MAX_STORED_FRAME = CHUNK_BYTES / 4;
/**
 * Emptied chunks kept for reuse; past this many (2 MiB) an emptied chunk is let go, so
 * a broker that once queued a backlog gives most of its memory back.
 */
const MAX_SPARE_CHUNKS = 256;

const NO_CHUNK = Buffer.alloc(0);

export class FrameStore {
  private readonly chunks: Buffer[] = [];
  /** Queue entries pointing into each chunk. */
  private refs = new Int32Array(16);
  /** Emptied chunks, ready to be filled again. */
  private readonly spare: number[] = [];
  /** Numbers of chunks that were let go, to give the next new chunk. */
  private readonly unused: number[] = [];
  /**
   * Chunks let go since the last reservation. Their bytes go back to the allocator at the
   * next one (until then a caller may still copy from them): a queued chunk lived long
   * enough to be promoted, and dead it would wait for a major collection.
   */
  private letGo: Buffer[] = [];
  /** The chunk being filled (never reused while it is), and its bytes used. */
  private current = -1;
  private used = 0;

  /**
   * Room for `n` bytes (at most {@link MAX_STORED_FRAME}): in chunk {@link currentChunk}
   * at the returned offset. Write them before the next call, then {@link retain} the
   * chunk for each entry that points at them. Only a reservation reuses a chunk whose
   * entries all let go.
   */
  reserve(n: number): number {
    if (this.current < 0 || this.used + n > CHUNK_BYTES) this.startChunk();
    if (this.letGo.length > 0) this.giveBack();
    const at = this.used;
    this.used += n;
    return at;
  }

  /** The chunk the last {@link reserve} put its room in. */
  get currentChunk(): number {
    return this.current;
  }

  /** The bytes of chunk `id`. */
  chunk(id: number): Buffer {
    return this.chunks[id]!;
  }

  /** One more entry points into chunk `id`. */
  retain(id: number): void {
    this.refs[id]!++;
  }

  /**
   * An entry pointing into chunk `id` let go. Its bytes stay as they are until the next
   * {@link reserve}: a caller may still copy them until then.
   */
  release(id: number): void {
    if (--this.refs[id]! === 0 && id !== this.current) this.emptied(id);
  }

  /** Queue entries pointing into chunk `id` (for tests). */
  heldBy(id: number): number {
    return this.refs[id]!;
  }

  /** Chunks in use or spare (for tests). */
  get chunkCount(): number {
    return this.chunks.length - this.unused.length;
  }

  /** Chunks that queue entries point into, the one being filled included (for tests). */
  get liveChunks(): number {
    return this.chunkCount - this.spare.length;
  }

  private startChunk(): void {
    const last = this.current;
    this.current = this.spare.pop() ?? this.newChunk();
    this.used = 0;
    if (last >= 0 && this.refs[last] === 0) this.emptied(last);
  }

  private newChunk(): number {
    const id = this.unused.pop() ?? this.chunks.length;
    if (id >= this.refs.length) {
      const refs = new Int32Array(this.refs.length * 2);
      refs.set(this.refs);
      this.refs = refs;
    }
    this.chunks[id] = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    return id;
  }

  private emptied(id: number): void {
    if (this.spare.length < MAX_SPARE_CHUNKS) {
      this.spare.push(id);
    } else {
      this.letGo.push(this.chunks[id]!);
      this.chunks[id] = NO_CHUNK;
      this.unused.push(id);
    }
  }

  private giveBack(): void {
    for (const chunk of this.letGo) releaseBuffer(chunk);
    this.letGo = [];
  }
}

/** The store every connection's queue shares. */
export const frameStore = new FrameStore();
