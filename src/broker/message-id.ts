/**
 * Message ids: unique, shaped like a version 4 UUID (what the first broker sent, so a
 * client that checks the shape keeps working), and cheap. Each broker process draws 74
 * random bits once (an {@link IdSpace}) and counts in the last 48. A fresh random UUID per
 * message cost a visible share of the broker's time per message, and so did formatting
 * a counter as a string: most messages never need their id as a string, only as bytes
 * in their delivery frames, so a message keeps its sequence number and the string is made
 * when something asks (message.ts).
 *
 * Nothing relies on message ids being unguessable (an `ack` only settles the acking
 * client's own deliveries); `reply_to` tokens, which must be, stay random
 * (request-tracker.ts). So the random bits come from `Math.random`, whose generator V8
 * seeds in each process with 64 bits from Node's own entropy source: two brokers, or one
 * broker before and after a restart with persistence, draw different spaces, and the
 * broker need not load `node:crypto` to relay its first message (crypto-on-demand.ts).
 * The exception is a broker started with V8's `--random-seed` or `--predictable`: every
 * such start draws the same space, so ids repeat across its restarts.
 */

/**
 * An id's last 12 hex digits are 16^11 plus its sequence number, so that they always are
 * 12. Sequence numbers stay below 2^30, a small integer for V8: a message keeps its
 * number in a field, and a larger one would be a separate heap object per message (a
 * boxed double) for the garbage collector to copy. A new space is drawn every 2^30 ids.
 */
const ID_BASE = 16 ** 11;
const SEQ_LIMIT = 2 ** 30;
/** Bytes of an id, and of its 24-character prefix. */
export const MESSAGE_ID_LENGTH = 36;
const PREFIX_LENGTH = 24;

/** The random first 24 characters of a run of ids. */
export class IdSpace {
  readonly bytes: Buffer;
  constructor(readonly prefix: string) {
    this.bytes = Buffer.from(prefix, 'latin1');
  }

  /** The id string of sequence number `seq` in this space. */
  format(seq: number): string {
    return this.prefix + (ID_BASE + seq).toString(16);
  }
}

let space: IdSpace | null = null;
let counter = SEQ_LIMIT;

function newSpace(): IdSpace {
  let r = '';
  for (let i = 0; i < 5; i++) r += Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
  const variant = '89ab'[parseInt(r[19]!, 16) & 3]!;
  counter = 0;
  return (space = new IdSpace(`${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant}${r.slice(15, 18)}-`));
}

/** The space ids are being drawn from now, without drawing one: null before the first message. */
export function idSpaceInUse(): IdSpace | null {
  return space;
}

/** The space the next {@link nextMessageSeq} belongs to. */
export function currentIdSpace(): IdSpace {
  return counter >= SEQ_LIMIT || space === null ? newSpace() : space;
}

/** A new sequence number in {@link currentIdSpace} (call that first). */
export function nextMessageSeq(): number {
  return counter++;
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Write the id `seq` of `idSpace` as 36 ASCII bytes at `at`; returns the bytes written. */
export function writeMessageId(idSpace: IdSpace, seq: number, target: Buffer, at: number): number {
  target.set(idSpace.bytes, at);
  return PREFIX_LENGTH + writeMessageIdTail(seq, target, at + PREFIX_LENGTH);
}

/** Bytes of the part of an id after its space's prefix. */
export const MESSAGE_ID_TAIL_LENGTH = MESSAGE_ID_LENGTH - PREFIX_LENGTH;

/**
 * Write the last 12 characters of the id `seq` at `at`, for a writer that put its
 * space's {@link IdSpace.prefix} right before; returns the bytes written.
 */
export function writeMessageIdTail(seq: number, target: Buffer, at: number): number {
  // Two 24-bit halves keep the arithmetic on small integers: ID_BASE (2^44) is in the high one.
  let lo = seq % 0x1000000;
  let hi = (ID_BASE / 0x1000000) + (seq - lo) / 0x1000000;
  for (let k = at + MESSAGE_ID_TAIL_LENGTH - 1; k >= at + 6; k--, lo >>>= 4) target[k] = HEX[lo & 15]!;
  for (let k = at + 5; k >= at; k--, hi >>>= 4) target[k] = HEX[hi & 15]!;
  return MESSAGE_ID_TAIL_LENGTH;
}

const isHexDigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
/** The value of a lower-case hex digit ({@link isHexDigit}). */
const hexValue = (c: number): number => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** The sequence number an id's last 12 characters worth `tail` (-1 for none) stand for; -1 when outside a space's range. */
function seqOfTail(tail: number): number {
  const seq = tail - ID_BASE;
  return seq >= 0 && seq < SEQ_LIMIT ? seq : -1;
}

/** The sequence number of `id` in `idSpace`, or null when `id` is not one of that space's ids. */
export function parseMessageSeq(idSpace: IdSpace, id: string): number | null {
  if (!id.startsWith(idSpace.prefix)) return null;
  const seq = seqOfTail(hexTail(id));
  return seq >= 0 ? seq : null;
}

/**
 * The sequence number of the id written as the bytes `buf[start..end)` when it is one of
 * `idSpace`'s ids, -1 otherwise: what {@link parseMessageSeq} gives for the same text,
 * read from the bytes so that an ack needs no id string (ack-template.ts).
 */
export function seqOfIdBytes(idSpace: IdSpace, buf: Uint8Array, start: number, end: number): number {
  if (end - start !== MESSAGE_ID_LENGTH) return -1;
  const prefix = idSpace.bytes;
  for (let k = 0; k < PREFIX_LENGTH; k++) if (buf[start + k] !== prefix[k]) return -1;
  let value = 0;
  for (let i = start + PREFIX_LENGTH; i < end; i++) {
    const c = buf[i]!;
    if (!isHexDigit(c)) return -1;
    value = value * 16 + hexValue(c);
  }
  return seqOfTail(value);
}

/** The value of an id's last 12 characters when the id has the length of ours and they are lower-case hex digits; -1 otherwise. */
function hexTail(id: string): number {
  if (id.length !== MESSAGE_ID_LENGTH) return -1;
  let value = 0;
  for (let i = PREFIX_LENGTH; i < MESSAGE_ID_LENGTH; i++) {
    const c = id.charCodeAt(i);
    if (!isHexDigit(c)) return -1;
    value = value * 16 + hexValue(c);
  }
  return value;
}

/**
 * True when `id` is shaped like this process's ids, which JSON needs no escapes for: the
 * current prefix, then hex digits (checked: an id arriving from elsewhere could begin
 * with the same prefix).
 */
export function isPlainMessageId(id: string): boolean {
  return space !== null && id.startsWith(space.prefix) && hexTail(id) >= 0;
}
