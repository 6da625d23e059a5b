/**
 * Hands a buffer's bytes back to the allocator now, rather than when V8 next runs a
 * major collection.
 *
 * A Buffer's bytes live outside V8's heap. A buffer that lived across two scavenges (a
 * socket read a paused connection held until the next turn, a write chunk the kernel took
 * its time over) is promoted, and once dead it waits for a major collection, which V8
 * starts for external memory only when 64 MB more of it is held than after the last one.
 * Under a flood, three quarters of the broker's Buffers at its peak were such dead socket
 * reads, write chunks and frame-store chunks: up to 40 MB (docs/performance-history.md, "Buffers
 * given back when they die").
 *
 * Detaching the buffer's ArrayBuffer (a transfer to a clone nobody keeps) moves its bytes
 * to a young object that the next scavenge frees, a few milliseconds later at most. Every
 * view of the ArrayBuffer is then empty: call this only on a buffer whose bytes no one can
 * read again.
 */

/** Smaller buffers are not worth the call: 4 KiB and up only. */
const MIN_RELEASED_BYTES = 4 * 1024;

/**
 * Give the bytes of `buf` back, if `buf` is the whole of its own ArrayBuffer (not a slice
 * of Node's shared pool or of a larger buffer) of at least 4 KiB. `buf` and every other
 * view of its memory are empty afterwards.
 * @returns true if the bytes were given back
 */
export function releaseBuffer(buf: Buffer): boolean {
  const memory = buf.buffer;
  if (buf.byteOffset !== 0 || buf.byteLength !== memory.byteLength || memory.byteLength < MIN_RELEASED_BYTES) return false;
  // A SharedArrayBuffer cannot be detached; only an ArrayBuffer reaches here in practice.
  if (!(memory instanceof ArrayBuffer)) return false;
  structuredClone(memory, { transfer: [memory] });
  return true;
}
