/**
 * A connection's direct chunk: while its socket takes everything, frames are written
 * straight into this buffer and leave together at the end of the turn, with no queue
 * entry and no buffer per frame (see chunk-pool.ts for the sizes). The outbound queue
 * decides when to write it; this keeps which bytes are written and which are not, and
 * when the buffer may be filled again.
 */
import { DIRECT_CHUNK_BYTES, giveBackDirectChunk, keepDirectChunk, takeDirectChunk } from './chunk-pool.js';

export class DirectChunk {
  private buffer: Buffer | null = null;
  /** Bytes before this were handed to the socket. */
  private start = 0;
  /** Bytes in use: the next frame goes in here. */
  used = 0;
  /** Deliveries among the frames not yet handed to the socket. */
  deliveries = 0;
  /**
   * Chunks handed to the socket that it had not written when they were let go: given
   * back once it has written everything ({@link socketDrained}).
   */
  private readonly lent: Buffer[] = [];

  /** Bytes of frames not yet handed to the socket. */
  get unwritten(): number {
    return this.used - this.start;
  }

  /**
   * The chunk with room for `n` more bytes at {@link used}: as it is, or grown (its
   * unwritten frames moved into one twice the size, or a spare); `null` when there is no
   * chunk or the unwritten frames must be written first.
   */
  room(n: number): Buffer | null {
    const chunk = this.buffer;
    if (chunk === null) return null;
    if (this.used + n <= chunk.length) return chunk;
    const unwritten = this.used - this.start;
    if (chunk.length < DIRECT_CHUNK_BYTES && unwritten + n <= DIRECT_CHUNK_BYTES) {
      // The old chunk is dropped, never reused, so a copy source inside it stays valid.
      const bigger = takeDirectChunk(Math.max(chunk.length * 2, unwritten + n));
      chunk.copy(bigger, 0, this.start, this.used);
      this.set(bigger, unwritten);
      return bigger;
    }
    return null;
  }

  /** A chunk of at least `n` bytes to fill from its start, once nothing is unwritten: this one if large enough. */
  fresh(n: number): Buffer {
    const chunk = this.buffer !== null && n <= this.buffer.length ? this.buffer : takeDirectChunk(n);
    this.set(chunk, 0);
    return chunk;
  }

  /** The unwritten frames, for the socket; then tell {@link written}. Only when {@link unwritten} is not 0. */
  take(): Buffer {
    const data = this.buffer!.subarray(this.start, this.used);
    this.start = this.used;
    this.deliveries = 0;
    return data;
  }

  /**
   * The socket was handed what {@link take} gave. With nothing left in the socket the
   * kernel has the bytes, so the chunk can be filled again (or kept as a spare), and so
   * can every chunk lent before; otherwise it is lent to the socket until it drains.
   */
  written(socketEmpty: boolean): void {
    const chunk = this.buffer!;
    if (socketEmpty) {
      this.socketDrained();
      if (!keepDirectChunk(chunk)) this.set(chunk, 0);
      else this.set(null, 0);
    } else {
      this.lent.push(chunk);
      this.set(null, 0);
    }
  }

  /** The socket has written everything it was handed: the chunks lent to it are given back. */
  socketDrained(): void {
    const lent = this.lent;
    for (let i = 0; i < lent.length; i++) giveBackDirectChunk(lent[i]!);
    lent.length = 0;
  }

  /**
   * Forget the chunk and what is in it. Chunks lent to a socket that is being destroyed
   * are left to the collector: the socket may still hold them.
   */
  clear(): void {
    this.set(null, 0);
    this.deliveries = 0;
    this.lent.length = 0;
  }

  private set(chunk: Buffer | null, used: number): void {
    this.buffer = chunk;
    this.start = 0;
    this.used = used;
  }
}
