/**
 * Builds a delivery frame as bytes: the same text `JSON.stringify` gives for
 * `{"jsonrpc":"2.0","method":"message","params":{topic, payload, timestamp, sender,
 * message_id, qos, ...flags}}`, without building that object or serialising the payload
 * again when it is still the raw JSON the publisher sent. The part up to the payload is
 * the same for every message on a topic, so it is kept per topic.
 */
import { HEADER_BYTES } from '../protocol/framing.js';
import { RawJson } from '../protocol/raw-json.js';

/** What a delivery frame says besides the message itself. */
export interface FrameFlags {
  retained?: boolean;
  redelivered?: boolean;
}

/** The fields of a message that its delivery frame carries. */
export interface FrameSource {
  readonly id: string;
  readonly topic: string;
  readonly payload: unknown;
  readonly sender: string;
  readonly timestamp: string;
  readonly qos: 0 | 1;
  readonly replyTo?: string;
}

/** Topics whose frame head is kept; past this the cache starts over. */
const HEAD_CACHE_LIMIT = 1024;
/** Longer topics are not kept: the entry count alone would not bound the memory. */
const MAX_CACHED_TOPIC_LENGTH = 256;

const heads = new Map<string, Buffer>();
/** Senders as JSON strings: a few clients send nearly every message. */
const senders = new Map<string, string>();

function senderJson(sender: string): string {
  let json = senders.get(sender);
  if (json === undefined) {
    json = JSON.stringify(sender);
    if (sender.length <= MAX_CACHED_TOPIC_LENGTH) {
      if (senders.size >= HEAD_CACHE_LIMIT) senders.clear();
      senders.set(sender, json);
    }
  }
  return json;
}

function topicHead(topic: string): Buffer {
  let head = heads.get(topic);
  if (head === undefined) {
    head = Buffer.from(`{"jsonrpc":"2.0","method":"message","params":{"topic":${JSON.stringify(topic)},"payload":`, 'utf8');
    if (topic.length <= MAX_CACHED_TOPIC_LENGTH) {
      if (heads.size >= HEAD_CACHE_LIMIT) heads.clear();
      heads.set(topic, head);
    }
  }
  return head;
}

// The parts of the last frame sized, so that writing it right after does not redo them.
let partsOf: FrameSource | null = null;
let partsRetained = false;
let partsRedelivered = false;
let head: Buffer = Buffer.alloc(0);
let raw: RawJson | null = null;
let text = '';
let tail = '';
let payloadBytes = 0;
let size = 0;

function prepare(msg: FrameSource, flags: FrameFlags): void {
  const retained = flags.retained === true;
  const redelivered = flags.redelivered === true;
  if (partsOf === msg && partsRetained === retained && partsRedelivered === redelivered) return;
  head = topicHead(msg.topic);
  const payload = msg.payload;
  raw = payload instanceof RawJson ? payload : null;
  text = raw === null ? (JSON.stringify(payload) ?? 'null') : '';
  tail = `,"timestamp":"${msg.timestamp}","sender":${senderJson(msg.sender)},"message_id":${JSON.stringify(msg.id)},"qos":${msg.qos}`;
  if (retained) tail += ',"retained":true';
  if (redelivered) tail += ',"redelivered":true';
  if (msg.replyTo !== undefined) tail += `,"reply_to":${JSON.stringify(msg.replyTo)}`;
  tail += '}}';
  payloadBytes = raw === null ? Buffer.byteLength(text, 'utf8') : raw.length;
  size = HEADER_BYTES + head.length + payloadBytes + Buffer.byteLength(tail, 'utf8');
  partsOf = msg;
  partsRetained = retained;
  partsRedelivered = redelivered;
}

/** Bytes of `msg`'s delivery frame with `flags`, header included. */
export function deliveryFrameSize(msg: FrameSource, flags: FrameFlags): number {
  prepare(msg, flags);
  return size;
}

/**
 * Write `msg`'s delivery frame into `target` at `offset` (which must have room for
 * {@link deliveryFrameSize} bytes); returns the offset where the payload starts.
 */
export function writeDeliveryFrame(msg: FrameSource, flags: FrameFlags, target: Buffer, offset: number): number {
  prepare(msg, flags);
  target.writeUInt32BE(size - HEADER_BYTES, offset);
  const payloadAt = offset + HEADER_BYTES + head.copy(target, offset + HEADER_BYTES);
  const tailAt = payloadAt + (raw === null ? target.write(text, payloadAt, 'utf8') : raw.copyTo(target, payloadAt));
  target.write(tail, tailAt, 'utf8');
  return payloadAt;
}

/**
 * The delivery frame for `msg` as a buffer of its own. A raw payload that borrows its
 * bytes is pointed at its copy inside the new frame, which the message keeps anyway.
 */
export function buildDeliveryFrame(msg: FrameSource, flags: FrameFlags): Buffer {
  const frame = Buffer.allocUnsafe(deliveryFrameSize(msg, flags));
  const payloadAt = writeDeliveryFrame(msg, flags, frame, 0);
  if (raw !== null && raw.isBorrowed) raw.rebase(frame, payloadAt);
  return frame;
}
