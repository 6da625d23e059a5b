/**
 * The plain delivery frame of a message that goes to several connections, written once
 * and copied whole into each connection's direct chunk.
 *
 * A message routed to one connection is written there in parts (delivery-frame.ts): no
 * frame of its own. Routed to more, writing the parts again for each would repeat the
 * payload's copy (a view of the read buffer per copy) and the segments' writes; a frame
 * of its own per message, as built before, cost an allocation and, with it, a share of
 * the young generation's collections at a fan-out's rate. The frame here lives in a
 * buffer kept for the purpose and is rewritten for the next such message.
 *
 * A record names the message whose frame the buffer holds: nothing else writes into it,
 * so while the record names a message its bytes are that message's frame, whenever the
 * message is sent again (a redelivery from the offline queue, a retained copy).
 */
import { deliveryFrameSize, writeDeliveryFrame } from './delivery-frame.js';
import { deliveryFrame, NO_FLAGS, type BrokerMessage } from './message.js';

/**
 * Frames up to this size are written into the kept buffer. A larger one is built as the
 * message's own frame, as before: its copies dwarf the allocation, and a large frame held
 * here would stay alive until the next fan-out.
 */
const SHARED_FRAME_BYTES = 64 * 1024;

let space: Buffer | null = null;
/** The message whose frame {@link frame} holds, or null. */
let frameOf: BrokerMessage | null = null;
let frame: Buffer = Buffer.alloc(0);
/** The message about to be routed to more than one connection (see {@link expectSeveral}). */
let expected: BrokerMessage | null = null;
/** The message last written in parts, for a connection the router did not announce. */
let writtenInParts: BrokerMessage | null = null;

/**
 * The router is about to hand `msg` to more than one connection: the first one copies
 * the shared frame too, rather than writing the parts that the others would repeat.
 * `null` once it has: the message is not held past its routing.
 */
export function expectSeveral(msg: BrokerMessage | null): void {
  expected = msg;
}

/**
 * The plain frame to copy whole for `msg`: the message's own frame if it has one, the
 * shared frame when it is (or is about to be) sent to more than one connection; undefined
 * when it goes to one: then write it in parts and call {@link wroteInParts}.
 */
export function wholeFrameFor(msg: BrokerMessage): Buffer | undefined {
  return writtenFrameOf(msg) ?? (expected === msg || writtenInParts === msg ? writeShared(msg) : undefined);
}

/** `msg`'s plain frame was written in parts: a second connection gets the shared frame. */
export function wroteInParts(msg: BrokerMessage): void {
  writtenInParts = msg;
}

/** The plain frame of `msg` if it is already written whole (its own or the shared one), for a copy. */
export function writtenFrameOf(msg: BrokerMessage): Buffer | undefined {
  return msg.frame ?? (frameOf === msg ? frame : undefined);
}

function writeShared(msg: BrokerMessage): Buffer {
  const size = deliveryFrameSize(msg, NO_FLAGS);
  if (size > SHARED_FRAME_BYTES) return deliveryFrame(msg);
  // The buffer is about to change: should the write below throw, no message may be left
  // named as its owner.
  frameOf = null;
  if (frame.length !== size) {
    // A view made once per size in a row: a flow of equal frames makes no object at all.
    space ??= Buffer.allocUnsafeSlow(SHARED_FRAME_BYTES);
    frame = space.subarray(0, size);
  }
  writeDeliveryFrame(msg, NO_FLAGS, frame, 0);
  frameOf = msg;
  return frame;
}
