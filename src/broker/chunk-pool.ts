/**
 * The buffers connections write through, and the spare ones kept for reuse by any
 * connection. A steady flow then allocates no buffers for writing at all: creating a
 * Buffer costs more than writing a small frame into one, and a trail of freed chunks
 * kept the memory allocator's heap, and the broker's RSS, high.
 */
import { releaseBuffer } from '../runtime/release-buffer.js';

/**
 * While the socket takes everything, frames are written straight into a direct chunk that
 * goes out at the end of the turn: no entry and no buffer per frame. A message routed to
 * one connection is written there in parts; routed to more, its frame is written once and
 * copied to each (shared-frame.ts).
 */
export const DIRECT_CHUNK_BYTES = 64 * 1024;
/**
 * A connection's first direct chunk in a turn is small and grows by doubling: a broadcast
 * to a thousand connections must not take a thousand 64 KiB chunks at once.
 */
const FIRST_CHUNK_BYTES = 2 * 1024;
/** Full-size direct chunks whose bytes the kernel took synchronously. */
const spareDirectChunks: Buffer[] = [];
const MAX_SPARE_DIRECT_CHUNKS = 8;

/**
 * Frames queued behind backpressure are copied into write chunks of this size when the
 * socket can take them.
 */
export const WRITE_CHUNK_BYTES = 256 * 1024;
/**
 * Write chunks the socket is done with. A new buffer per write (the queued frames
 * joined) was, under a backlog, a megabyte mapped and unmapped per write, and it was
 * promoted while the socket held it: dead, it waited for a major collection, which
 * external memory alone triggers only past 64 MB of it. At most 2 MiB kept.
 */
const spareWriteChunks: Buffer[] = [];
const MAX_SPARE_WRITE_CHUNKS = 8;

/**
 * A direct chunk of at least `n` bytes: a spare one when one is left, else a new one of the
 * next power of two from FIRST_CHUNK_BYTES up to DIRECT_CHUNK_BYTES (a larger frame gets
 * its size).
 */
export function takeDirectChunk(n: number): Buffer {
  if (n <= DIRECT_CHUNK_BYTES && spareDirectChunks.length > 0) return spareDirectChunks.pop()!;
  if (n > DIRECT_CHUNK_BYTES) return Buffer.allocUnsafe(n);
  return Buffer.allocUnsafe(Math.max(FIRST_CHUNK_BYTES, 2 ** Math.ceil(Math.log2(n))));
}

/**
 * Keep a direct chunk whose bytes the kernel has taken, if it is full-size and there is
 * room; true if kept (the caller must then let go of it).
 */
export function keepDirectChunk(chunk: Buffer): boolean {
  if (chunk.length !== DIRECT_CHUNK_BYTES || spareDirectChunks.length >= MAX_SPARE_DIRECT_CHUNKS) return false;
  spareDirectChunks.push(chunk);
  return true;
}

/**
 * A direct chunk the socket held and has now written whole: kept as a spare, or its bytes
 * given back at once (held by the socket across scavenges, it was promoted, and dead it
 * would wait for a major collection).
 */
export function giveBackDirectChunk(chunk: Buffer): void {
  if (!keepDirectChunk(chunk)) releaseBuffer(chunk);
}

/** A write chunk of WRITE_CHUNK_BYTES. */
export function takeWriteChunk(): Buffer {
  return spareWriteChunks.pop() ?? Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
}

/**
 * A write chunk the socket is done with (its write's callback ran): kept, or past the
 * spares' limit its bytes given back at once (nothing else holds it, and a dead chunk the
 * socket held long enough to be promoted would otherwise wait for a major collection).
 */
export function giveBackWriteChunk(chunk: Buffer): void {
  if (spareWriteChunks.length < MAX_SPARE_WRITE_CHUNKS) spareWriteChunks.push(chunk);
  else releaseBuffer(chunk);
}
