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

/** The counter runs from 16^11 so that its hex form always has 12 digits. */
const COUNTER_START = 16 ** 11;
const COUNTER_LIMIT = 16 ** 12;
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
    return this.prefix + seq.toString(16);
  }
}

let space: IdSpace | null = null;
let counter = COUNTER_LIMIT;

function newSpace(): IdSpace {
  let r = '';
  for (let i = 0; i < 5; i++) r += Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
  const variant = '89ab'[parseInt(r[19]!, 16) & 3]!;
  counter = COUNTER_START;
  return (space = new IdSpace(`${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant}${r.slice(15, 18)}-`));
}

/** The space the next {@link nextMessageSeq} belongs to. */
export function currentIdSpace(): IdSpace {
  return counter >= COUNTER_LIMIT || space === null ? newSpace() : space;
}

/** A new sequence number in {@link currentIdSpace} (call that first). */
export function nextMessageSeq(): number {
  return counter++;
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Write the id `seq` of `idSpace` as 36 ASCII bytes at `at`; returns the bytes written. */
export function writeMessageId(idSpace: IdSpace, seq: number, target: Buffer, at: number): number {
  idSpace.bytes.copy(target, at);
  // Two 24-bit halves keep the arithmetic on small integers.
  let lo = seq % 0x1000000;
  let hi = (seq - lo) / 0x1000000;
  for (let k = at + MESSAGE_ID_LENGTH - 1; k >= at + PREFIX_LENGTH + 6; k--, lo >>>= 4) target[k] = HEX[lo & 15]!;
  for (let k = at + PREFIX_LENGTH + 5; k >= at + PREFIX_LENGTH; k--, hi >>>= 4) target[k] = HEX[hi & 15]!;
  return MESSAGE_ID_LENGTH;
}

const isHexDigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);

/** The sequence number of `id` in `idSpace`, or null when `id` is not one of that space's ids. */
export function parseMessageSeq(idSpace: IdSpace, id: string): number | null {
  if (id.length !== MESSAGE_ID_LENGTH || !id.startsWith(idSpace.prefix)) return null;
  let seq = 0;
  for (let i = PREFIX_LENGTH; i < MESSAGE_ID_LENGTH; i++) {
    const c = id.charCodeAt(i);
    if (!isHexDigit(c)) return null;
    seq = seq * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
  }
  return seq;
}

/**
 * True when `id` is shaped like this process's ids, which JSON needs no escapes for: the
 * current prefix, then hex digits (checked: an id arriving from elsewhere could begin
 * with the same prefix).
 */
export function isPlainMessageId(id: string): boolean {
  return space !== null && parseMessageSeq(space, id) !== null;
}
