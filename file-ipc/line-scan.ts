/**
 * The common queue line, `NAME|{...}` with a JSON object after the bar, read from its
 * bytes: where its name and its object are, and whether the object has a `queue_id` of
 * its own. On a backlog, decoding each line into text, cutting it into strings, parsing
 * the payload into objects and writing it back out as bytes was most of what
 * `bridge tail` did per line; a line read here is sent from its own bytes.
 *
 * Only lines whose meaning is plain from the bytes are taken: an ASCII name, an object
 * that is valid JSON (UTF-8 inside its strings when the file is UTF-8, ASCII when it is
 * a code page), JSON whitespace around it. Anything else returns null and goes the way
 * every line went before (`LineParser.parse` of the decoded text), which produces the
 * same publish for what both take, and the report for what is not publishable.
 */
import { INVALID, lastStringHadEscape, skipString, skipValue, skipWhitespace, spells, utf8SequencesSkipped } from '../src/protocol/json-scan.js';
import { MAX_JSON_DEPTH } from '../src/protocol/json-depth.js';

const BAR = 0x7c;
const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The member a line's id goes in. */
const QUEUE_ID = 'queue_id';

/** Where a line's parts are, as {@link scanObjectLine} found them. */
export interface ObjectLineScan {
  /** The name, trimmed: `[nameStart, nameEnd)`. */
  nameStart: number;
  nameEnd: number;
  /** The object, from its `{` to just past its `}`. */
  payloadStart: number;
  payloadEnd: number;
  /** The object has no members (`{}`, whitespace allowed inside). */
  empty: boolean;
  /** One of its own members is named `queue_id`. */
  hasQueueId: boolean;
}

/** The one result object, filled anew by each scan: a line in a backlog allocates nothing here. */
const found: ObjectLineScan = { nameStart: 0, nameEnd: 0, payloadStart: 0, payloadEnd: 0, empty: false, hasQueueId: false };

/** What `String.prototype.trim` removes, among ASCII bytes. */
const isTrimmedSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * Read `b[start, end)`, a line's text (no line end), as `NAME|{...}`; null when it is not
 * one this file reads from bytes. The result is overwritten by the next call.
 * @param asciiOnly refuse bytes of 0x80 and above (in strings, where JSON allows them):
 *   for a code page, whose such bytes are not UTF-8
 */
export function scanObjectLine(b: Uint8Array, start: number, end: number, asciiOnly: boolean): ObjectLineScan | null {
  let i = start;
  while (i < end && isTrimmedSpace(b[i]!)) i++;
  const nameStart = i;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === BAR) break;
    if (c >= 0x80) return null;
  }
  if (i >= end) return null;
  let nameEnd = i;
  while (nameEnd > nameStart && isTrimmedSpace(b[nameEnd - 1]!)) nameEnd--;
  if (nameEnd === nameStart) return null;

  const payloadStart = skipWhitespace(b, i + 1, end);
  if (payloadStart >= end || b[payloadStart] !== OPEN_OBJECT) return null;
  const sequencesBefore = utf8SequencesSkipped;
  let p = skipWhitespace(b, payloadStart + 1, end);
  const empty = p < end && b[p] === CLOSE_OBJECT;
  let hasQueueId = false;
  if (empty) {
    p++;
  } else {
    for (;;) {
      if (p >= end || b[p] !== QUOTE) return null;
      const nameAt = p;
      p = skipString(b, p, end);
      if (p === INVALID) return null;
      // An escaped member name could spell queue_id: left to JSON.parse.
      if (lastStringHadEscape) return null;
      if (p - nameAt - 2 === QUEUE_ID.length && spells(b, nameAt + 1, QUEUE_ID)) hasQueueId = true;
      p = skipWhitespace(b, p, end);
      if (p >= end || b[p] !== COLON) return null;
      // Deeper than the broker reads at all: left to the text path (the client then
      // refuses such a call whichever path made it).
      p = skipValue(b, p + 1, end, MAX_JSON_DEPTH);
      if (p === INVALID) return null;
      p = skipWhitespace(b, p, end);
      if (p >= end) return null;
      if (b[p] === CLOSE_OBJECT) {
        p++;
        break;
      }
      if (b[p] !== COMMA) return null;
      p = skipWhitespace(b, p + 1, end);
    }
  }
  if (skipWhitespace(b, p, end) !== end) return null;
  if (asciiOnly && utf8SequencesSkipped !== sequencesBefore) return null;
  found.nameStart = nameStart;
  found.nameEnd = nameEnd;
  found.payloadStart = payloadStart;
  found.payloadEnd = p;
  found.empty = empty;
  found.hasQueueId = hasQueueId;
  return found;
}
