/**
 * A message's plain delivery frame, placed once in the frame store for every queue the
 * message is routed to: a fan-out's slow subscribers share its bytes instead of each
 * queue copying the frame.
 */
import { deliveryFrameSize, writeDeliveryFrame } from './delivery-frame.js';
import { frameStore, MAX_STORED_FRAME } from './frame-store.js';
import { NO_FLAGS, type BrokerMessage } from './message.js';
import { writtenFrameOf } from './shared-frame.js';

/**
 * The message whose plain frame was last placed, and where: `size` bytes in chunk `chunk`
 * of the frame store at `start`. The record stays valid while it names that message: a
 * chunk is only reused by the store's next reservation, which is made here for another
 * message and replaces the record.
 */
export const queuedFrame = {
  msg: null as BrokerMessage | null,
  chunk: -1,
  start: 0,
  size: 0,
};

/**
 * Place `msg`'s plain frame for queues, once per message (then read `queuedFrame`); false
 * when it is too large for the store, and is to be queued as the message's own frame
 * (`deliveryFrame`, built once; not remembered here, so it does not outlive its queues).
 */
export function placeQueuedFrame(msg: BrokerMessage): boolean {
  const placed = queuedFrame;
  if (placed.msg === msg) return true;
  const built = writtenFrameOf(msg);
  const size = built !== undefined ? built.length : deliveryFrameSize(msg, NO_FLAGS);
  if (size > MAX_STORED_FRAME) return false;
  const start = frameStore.reserve(size);
  const chunk = frameStore.currentChunk;
  const bytes = frameStore.chunk(chunk);
  if (built !== undefined) bytes.set(built, start);
  else writeDeliveryFrame(msg, NO_FLAGS, bytes, start);
  placed.msg = msg;
  placed.chunk = chunk;
  placed.start = start;
  placed.size = size;
  return true;
}
