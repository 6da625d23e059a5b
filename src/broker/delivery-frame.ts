/**
 * Builds a delivery frame as bytes: the same text `JSON.stringify` gives for
 * `{"jsonrpc":"2.0","method":"message","params":{topic, payload, timestamp, sender,
 * message_id, qos, ...flags}}`, without building that object or serialising the payload
 * again when it is still the raw JSON the publisher sent.
 *
 * A frame is five segments: the head up to the payload (the same for every message on a
 * topic), the payload, the middle (timestamp and sender: the same for a sender's
 * messages within a millisecond), the message id, and the end (qos and flags). The
 * repeating segments are kept as bytes, so a frame costs a few copies. An id drawn here
 * (message-id.ts) starts with its space's prefix, the same for millions of messages: the
 * middle ends with it and the id's opening quote, and the end begins with its closing
 * one, so such a frame's id is its last 12 characters written between two copies.
 */
import { HEADER_BYTES } from '../protocol/framing.js';
import { RawJson } from '../protocol/raw-json.js';
import type { BrokerMessage } from './message.js';
import { isPlainMessageId, MESSAGE_ID_TAIL_LENGTH, writeMessageIdTail, type IdSpace } from './message-id.js';

/** What a delivery frame says besides the message itself. */
export interface FrameFlags {
  retained?: boolean;
  redelivered?: boolean;
}

/** The fields of a message that its delivery frame carries. */
export type FrameSource = Pick<BrokerMessage, 'id' | 'topic' | 'payload' | 'sender' | 'timestamp' | 'qos' | 'replyTo' | 'idSeq' | 'idSpace'>;

/** Entries kept per cache; past this a cache starts over. */
const CACHE_LIMIT = 1024;
/** Longer topics and senders are not kept: the entry count alone would not bound the memory. */
const MAX_CACHED_LENGTH = 256;

const heads = new Map<string, Buffer>();
/**
 * The last topic's head and the last sender's middle are looked at before their maps:
 * a publisher's messages come one after another, and two Map look-ups per frame showed
 * in profiles. Each stays right for its key, whatever the maps drop.
 */
let lastTopic: string | null = null;
let lastHead: Buffer = Buffer.alloc(0);

function topicHead(topic: string): Buffer {
  if (topic === lastTopic) return lastHead;
  let head = heads.get(topic);
  if (head === undefined) {
    head = Buffer.from(`{"jsonrpc":"2.0","method":"message","params":{"topic":${JSON.stringify(topic)},"payload":`, 'utf8');
    if (topic.length <= MAX_CACHED_LENGTH) {
      if (heads.size >= CACHE_LIMIT) heads.clear();
      heads.set(topic, head);
    }
  }
  lastTopic = topic;
  lastHead = head;
  return head;
}

/**
 * A sender's middle segment for one timestamp (and one id space, whose prefix it ends
 * with; or none, for ids from elsewhere): its text, and its bytes once a second frame
 * needs them. A sender seldom sends twice in a millisecond (a requester, a script), and
 * then the text is written straight into its one frame; a flooding publisher's frames
 * copy the bytes made for its second message.
 *
 * The bytes are written into the sender's own `store`, reused from one millisecond to the
 * next. Made with `Buffer.from`, they came from Node's shared 8 KiB pool: a flooding
 * publisher started a slab every 80 milliseconds or so, each survived the scavenges while
 * the pool still handed it out, and the promoted slabs, dead, waited for a major
 * collection: 2.8-3.0 MB of ten publishers' flood at the broker's peak RSS.
 */
interface Middle {
  timestamp: string;
  space: IdSpace | null;
  text: string;
  bytes: Buffer | null;
  store: Buffer | null;
}

/** A middle's store is made at least this large: a timestamp, a sender and an id prefix. */
const MIN_STORE_BYTES = 128;

/** `m.text` as bytes, in `m.store` (made, or made larger, when it does not fit). */
function middleBytes(m: Middle): Buffer {
  const n = Buffer.byteLength(m.text, 'utf8');
  if (m.store === null || m.store.length < n) m.store = Buffer.allocUnsafeSlow(Math.max(n, MIN_STORE_BYTES));
  m.store.write(m.text, 0, 'utf8');
  return m.store.subarray(0, n);
}

const middles = new Map<string, Middle>();
let lastSender: string | null = null;
let lastMiddle: Middle | undefined = undefined;

function middle(sender: string, timestamp: string, space: IdSpace | null): Middle {
  let m = sender === lastSender ? lastMiddle : middles.get(sender);
  if (m === undefined || m.timestamp !== timestamp || m.space !== space) {
    const idOpening = space === null ? '' : `"${space.prefix}`;
    const text = `,"timestamp":${JSON.stringify(timestamp)},"sender":${JSON.stringify(sender)},"message_id":${idOpening}`;
    if (m !== undefined) {
      m.timestamp = timestamp;
      m.space = space;
      m.text = text;
      m.bytes = null;
    } else {
      m = { timestamp, space, text, bytes: null, store: null };
      if (sender.length <= MAX_CACHED_LENGTH) {
        if (middles.size >= CACHE_LIMIT) middles.clear();
        middles.set(sender, m);
      }
    }
  } else {
    m.bytes ??= middleBytes(m);
  }
  lastSender = sender;
  lastMiddle = m;
  return m;
}

/** The end of a frame's params, by qos and flags (bit 0 qos, 1 retained, 2 redelivered), before `reply_to`. */
const END_FIELDS: readonly string[] = Array.from({ length: 8 }, (_, k) => `,"qos":${k & 1}${k & 2 ? ',"retained":true' : ''}${k & 4 ? ',"redelivered":true' : ''}`);
/** The end segments of frames without `reply_to`: after an id written whole, and after an id's tail (the closing quote first). */
const ENDS: readonly Buffer[] = END_FIELDS.map((fields) => Buffer.from(`${fields}}}`, 'latin1'));
const ENDS_AFTER_TAIL: readonly Buffer[] = END_FIELDS.map((fields) => Buffer.from(`"${fields}}}`, 'latin1'));

// The segments of the last frame sized, so that writing it right after does not redo them.
let partsOf: FrameSource | null = null;
let partsFlags = -1;
let head: Buffer = ENDS[0]!;
let raw: RawJson | null = null;
let text = '';
let payloadBytes = 0;
/** The middle segment, as bytes or as text (see Middle), and its length in bytes. */
let mid: Buffer | string = '';
let midLength = 0;
/** For an id drawn here: true, and its number (the middle and the end hold the rest). */
let idTail = false;
let idSeq = 0;
/** Otherwise the id as written: its JSON text, or the id itself when it needs no escaping (quotes added). */
let idText = '';
let idQuoted = false;
/** The end segment, as bytes or (with a reply address) as text, and its length in bytes. */
let end: Buffer | string = ENDS[0]!;
let endLength = 0;
let size = 0;

function prepare(msg: FrameSource, flags: FrameFlags): void {
  const flagBits = msg.qos | (flags.retained === true ? 2 : 0) | (flags.redelivered === true ? 4 : 0);
  if (partsOf === msg && partsFlags === flagBits) return;
  head = topicHead(msg.topic);
  const payload = msg.payload;
  raw = payload instanceof RawJson ? payload : null;
  text = raw === null ? (JSON.stringify(payload) ?? 'null') : '';
  payloadBytes = raw === null ? Buffer.byteLength(text, 'utf8') : raw.length;
  const space = msg.idSpace ?? null;
  const m = middle(msg.sender, msg.timestamp, space);
  mid = m.bytes ?? m.text;
  midLength = segmentLength(mid);
  let idBytes: number;
  idTail = space !== null;
  if (idTail) {
    idSeq = msg.idSeq!;
    idBytes = MESSAGE_ID_TAIL_LENGTH;
  } else {
    idQuoted = isPlainMessageId(msg.id);
    idText = idQuoted ? msg.id : JSON.stringify(msg.id);
    idBytes = idQuoted ? idText.length + 2 : Buffer.byteLength(idText, 'utf8');
  }
  // A request's reply address is its own: written as text, not made into bytes first.
  end =
    msg.replyTo === undefined
      ? (idTail ? ENDS_AFTER_TAIL : ENDS)[flagBits]!
      : `${idTail ? '"' : ''}${END_FIELDS[flagBits]!},"reply_to":${JSON.stringify(msg.replyTo)}}}`;
  endLength = segmentLength(end);
  size = HEADER_BYTES + head.length + payloadBytes + midLength + idBytes + endLength;
  partsOf = msg;
  partsFlags = flagBits;
}

/** Bytes of `msg`'s delivery frame with `flags`, header included. */
export function deliveryFrameSize(msg: FrameSource, flags: FrameFlags): number {
  prepare(msg, flags);
  return size;
}

const QUOTE = 0x22;

/**
 * Write `msg`'s delivery frame into `target` at `offset` (which must have room for
 * {@link deliveryFrameSize} bytes); returns the offset where the payload starts.
 */
export function writeDeliveryFrame(msg: FrameSource, flags: FrameFlags, target: Buffer, offset: number): number {
  prepare(msg, flags);
  // The length by hand: Buffer's writeUInt32BE checks its arguments on every frame.
  const length = size - HEADER_BYTES;
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  // Whole segments go in with TypedArray's set: Buffer's copy checks and converts its
  // arguments first, on each of a fan-out's many copies (its share showed in profiles).
  target.set(head, offset + HEADER_BYTES);
  const payloadAt = offset + HEADER_BYTES + head.length;
  let at = payloadAt + (raw === null ? target.write(text, payloadAt, 'utf8') : raw.copyTo(target, payloadAt));
  writeSegment(mid, target, at);
  at += midLength;
  if (idTail) {
    at += writeMessageIdTail(idSeq, target, at);
  } else if (idQuoted) {
    target[at++] = QUOTE;
    at += target.write(idText, at, 'latin1');
    target[at++] = QUOTE;
  } else {
    at += target.write(idText, at, 'utf8');
  }
  writeSegment(end, target, at);
  return payloadAt;
}

function segmentLength(segment: Buffer | string): number {
  return typeof segment === 'string' ? Buffer.byteLength(segment, 'utf8') : segment.length;
}

/**
 * Segments up to this long (a frame's end: qos, flags and the closing braces) are copied
 * a byte at a time: TypedArray's set costs about 28 ns whatever the length, a loop over
 * 12 bytes about 16.
 */
const SHORT_SEGMENT_BYTES = 24;

/** Write a segment kept as bytes (with TypedArray's set, as above) or as text. */
function writeSegment(segment: Buffer | string, target: Buffer, at: number): void {
  if (typeof segment === 'string') {
    target.write(segment, at, 'utf8');
  } else if (segment.length <= SHORT_SEGMENT_BYTES) {
    for (let k = 0; k < segment.length; k++) target[at + k] = segment[k]!;
  } else {
    target.set(segment, at);
  }
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
