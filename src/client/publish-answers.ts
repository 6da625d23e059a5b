/**
 * The broker's answer to a batch of publishes, read from its bytes without `JSON.parse`.
 *
 * `publishBatch` of a queue file's backlog gets an answer of hundreds of responses per
 * frame, every one written by the broker the same way:
 * `{"jsonrpc":"2.0","result":{"message_id":"<id>","delivered":<n>},"id":<n>}`. Parsing
 * each into a response object, classifying it and unwrapping its result was a tenth of
 * `bridge tail`'s CPU. A frame that is an array of exactly such responses, ids plain
 * integers and message ids printable ASCII without escapes, is read here into the same
 * values `JSON.parse` would give; any other frame, or any byte out of place, is left to
 * `JSON.parse` and the general path, so a broker that writes its answers another way
 * loses nothing but the speed.
 */

/** One publish's result, as `JSON.parse` gives it. */
export interface PublishResultValue {
  message_id: string;
  delivered: number;
}

/** The responses of one frame that {@link readPublishAnswers} read, in frame order. */
export class PublishAnswers {
  constructor(
    /** The request id of each response. */
    readonly ids: readonly number[],
    /** The result of each response. */
    readonly results: readonly PublishResultValue[],
  ) {}
}

const HEAD = Buffer.from('{"jsonrpc":"2.0","result":{"message_id":"', 'latin1');
const MIDDLE = Buffer.from('","delivered":', 'latin1');
const ID = Buffer.from('},"id":', 'latin1');
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ZERO = 0x30;
/** Digits of a number read here: every integer of up to 15 digits is exact in a double. */
const MAX_DIGITS = 15;

/** Whether `buf` holds `piece` at `at`. */
function has(buf: Buffer, at: number, piece: Buffer): boolean {
  if (at + piece.length > buf.length) return false;
  for (let i = 0; i < piece.length; i++) if (buf[at + i] !== piece[i]) return false;
  return true;
}

/**
 * End of the JSON unsigned integer at `at` (no sign, fraction, exponent or leading zero),
 * or -1; {@link uintAt} reads its value.
 */
function uintEnd(buf: Buffer, at: number): number {
  let i = at;
  while (i < buf.length && buf[i]! >= ZERO && buf[i]! <= ZERO + 9) i++;
  const digits = i - at;
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && buf[at] === ZERO)) return -1;
  return i;
}

function uintAt(buf: Buffer, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (buf[i]! - ZERO);
  return v;
}

/**
 * The responses in `body` when it is a batch answer of publish results only, written as
 * the broker writes them; null for anything else (then `JSON.parse` reads it).
 */
export function readPublishAnswers(body: Buffer): PublishAnswers | null {
  if (body.length < 2 || body[0] !== OPEN_BRACKET || body[body.length - 1] !== CLOSE_BRACKET) return null;
  if (!has(body, 1, HEAD)) return null; // not a publish answer: decided at the first bytes
  const ids: number[] = [];
  const results: PublishResultValue[] = [];
  let at = 1;
  for (;;) {
    if (!has(body, at, HEAD)) return null;
    const idStart = at + HEAD.length;
    let i = idStart;
    // Printable ASCII but for the quote and the backslash: a JSON string without escapes,
    // whose bytes are its characters.
    while (i < body.length && body[i]! >= 0x20 && body[i]! < 0x7f && body[i] !== QUOTE && body[i] !== BACKSLASH) i++;
    if (!has(body, i, MIDDLE)) return null;
    const messageId = body.toString('latin1', idStart, i);
    const deliveredStart = i + MIDDLE.length;
    const deliveredEnd = uintEnd(body, deliveredStart);
    if (deliveredEnd < 0 || !has(body, deliveredEnd, ID)) return null;
    const callIdStart = deliveredEnd + ID.length;
    const callIdEnd = uintEnd(body, callIdStart);
    if (callIdEnd < 0 || body[callIdEnd] !== CLOSE_BRACE) return null;
    ids.push(uintAt(body, callIdStart, callIdEnd));
    results.push({ message_id: messageId, delivered: uintAt(body, deliveredStart, deliveredEnd) });
    at = callIdEnd + 1;
    if (body[at] === COMMA) {
      at++;
      continue;
    }
    return at === body.length - 1 ? new PublishAnswers(ids, results) : null;
  }
}
