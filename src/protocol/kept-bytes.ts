/**
 * Where values that outlive the frame they came in keep their bytes: copies packed into
 * shared 8 KiB chunks instead of a Buffer per copy.
 *
 * Every QoS 1 message a broker keeps for redelivery owns its payload, and a Buffer of its
 * own is an object (and a view) per message that the garbage collector copies and then
 * promotes while the message waits. Node's own pool for small buffers has the same 8 KiB
 * slabs, so what a kept copy can pin is no more than before: the chunk it shares with
 * copies made around the same time, until the last of them is let go.
 */

import { BufferViews, copyBytes } from './buffer-views.js';

const CHUNK_BYTES = 8 * 1024;
/** Copies larger than this get a buffer of their own rather than most of a chunk. */
const OWN_BUFFER_BYTES = CHUNK_BYTES / 4;

let chunk: Buffer | null = null;
let used = 0;
/** The chunk's view, for copies of small payloads (see copyBytes). */
const chunkViews = new BufferViews();

/** Where {@link keepBytes} put its last copy. */
export interface KeptBytes {
  buffer: Buffer;
  start: number;
}

/**
 * Copy `source[start..end)` to bytes that stay valid as long as they are referenced, and
 * say where in `into` (reused by the caller, so that a copy allocates no object).
 */
export function keepBytes(source: Buffer, start: number, end: number, into: KeptBytes): void {
  const n = end - start;
  if (n > OWN_BUFFER_BYTES) {
    const own = Buffer.allocUnsafeSlow(n);
    source.copy(own, 0, start, end);
    into.buffer = own;
    into.start = 0;
    return;
  }
  if (chunk === null || used + n > CHUNK_BYTES) {
    chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    used = 0;
  }
  copyBytes(source, start, end, chunk, used, chunkViews);
  into.buffer = chunk;
  into.start = used;
  used += n;
}
