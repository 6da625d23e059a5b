/**
 * Validating JSON skips over bytes: each function checks the grammar of one JSON value
 * (RFC 8259) starting at an offset and returns the offset just past it, without building
 * anything. The broker uses them to find a frame's method, topic and payload and to
 * validate the payload once, where `JSON.parse` would build every object of the payload
 * only for the broker to serialise it again.
 *
 * Every function returns {@link INVALID} for text that is not JSON, not UTF-8, or nests
 * deeper than allowed; callers then fall back to the general path, which decodes a legacy
 * code page and produces the error to report. Bytes of 0x80 and above can only be valid
 * inside strings, so strings are where UTF-8 is checked.
 */

/** Returned for text that is not valid JSON (or is nested too deeply). */
export const INVALID = -1;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;

/** Bytes that may follow a backslash in a JSON string (the `u` escape is checked apart). */
const SIMPLE_ESCAPE = new Uint8Array(128);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
const isHex = (c: number): boolean => (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** True after {@link skipString} when the string it skipped had a backslash escape. */
export let lastStringHadEscape = false;

/**
 * How many UTF-8 sequences of two bytes or more the skips have passed, ever. A caller
 * that needs ASCII (a legacy code page's bytes 0x80 and above are not UTF-8) compares
 * it before and after a skip; counted only where such bytes are, so ASCII costs nothing.
 */
export let utf8SequencesSkipped = 0;

/** Offset of the first byte at or after `i` that is not JSON whitespace. */
export function skipWhitespace(b: Uint8Array, i: number, end: number): number {
  // Most JSON is written without whitespace between its tokens: one comparison for that.
  if (i < end && b[i]! > 0x20) return i;
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * 1 for the bytes a string holds as they are: printable ASCII but the quote and the
 * backslash. Most of a string is a run of them, which {@link skipString} passes with one
 * look-up per byte instead of four comparisons (a 70-byte string: 70 instead of 90 ns).
 */
const PLAIN_STRING_BYTE = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN_STRING_BYTE[c] = 1;
PLAIN_STRING_BYTE[QUOTE] = 0;
PLAIN_STRING_BYTE[BACKSLASH] = 0;

/**
 * Offset of the first byte at or after `j` that is not a plain string byte, or `end`. Four
 * bytes per turn of the loop, each still looked at on its own so that a short string
 * stops where a byte-by-byte loop would: on the broker's scan of a 100-byte payload 170
 * against 235 ns, on a 600-byte text 610 against 1,050, on a payload of short strings no
 * slower. Judging the four bytes together (SWAR) measured slower (see the performance
 * notes in docs/).
 */
function plainRunEnd(b: Uint8Array, j: number, end: number): number {
  const t = PLAIN_STRING_BYTE;
  for (; j + 4 <= end; j += 4) {
    if (t[b[j]!] !== 1) return j;
    if (t[b[j + 1]!] !== 1) return j + 1;
    if (t[b[j + 2]!] !== 1) return j + 2;
    if (t[b[j + 3]!] !== 1) return j + 3;
  }
  while (j < end && t[b[j]!] === 1) j++;
  return j;
}

/** `b[i]` is a quote: the offset past the closing quote, or {@link INVALID}. */
export function skipString(b: Uint8Array, i: number, end: number): number {
  let escaped = false;
  let j = i + 1;
  for (;;) {
    j = plainRunEnd(b, j, end);
    if (j >= end) return INVALID;
    const c = b[j]!;
    if (c === QUOTE) {
      lastStringHadEscape = escaped;
      return j + 1;
    }
    if (c < 0x20) return INVALID;
    if (c >= 0x80) {
      j = skipUtf8Sequence(b, j, end);
      if (j === INVALID) return INVALID;
      utf8SequencesSkipped++;
    } else {
      // The backslash: what may follow it.
      escaped = true;
      const e = b[++j];
      if (e === LOWER_U) {
        if (j + 4 >= end || !isHex(b[j + 1]!) || !isHex(b[j + 2]!) || !isHex(b[j + 3]!) || !isHex(b[j + 4]!)) return INVALID;
        j += 4;
      } else if (e === undefined || e >= 128 || SIMPLE_ESCAPE[e] !== 1) {
        return INVALID;
      }
    }
    j++;
  }
}

const isContinuation = (c: number | undefined): boolean => c !== undefined && c >= 0x80 && c <= 0xbf;

/**
 * `b[i]` (0x80 or more) starts a UTF-8 sequence: the offset of its last byte, or
 * {@link INVALID} for what is not well-formed UTF-8 (stray continuation bytes, overlong
 * forms, surrogates, code points past U+10FFFF, cut sequences), as `isUtf8` would judge.
 */
function skipUtf8Sequence(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  let more: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    more = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    more = 2;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    more = 3;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else {
    return INVALID;
  }
  if (i + more >= end) return INVALID;
  const second = b[i + 1]!;
  if (second < lo || second > hi) return INVALID;
  for (let k = 2; k <= more; k++) if (!isContinuation(b[i + k])) return INVALID;
  return i + more;
}

/** `b[i]` starts a number: the offset past it, or {@link INVALID}. */
export function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === MINUS) i++;
  if (i >= end) return INVALID;
  if (b[i] === ZERO) {
    i++;
  } else if (isDigit(b[i]!)) {
    while (i < end && isDigit(b[i]!)) i++;
  } else {
    return INVALID;
  }
  if (i < end && b[i] === DOT) {
    i++;
    if (i >= end || !isDigit(b[i]!)) return INVALID;
    while (i < end && isDigit(b[i]!)) i++;
  }
  if (i < end && (b[i] === LOWER_E || b[i] === UPPER_E)) {
    i++;
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++;
    if (i >= end || !isDigit(b[i]!)) return INVALID;
    while (i < end && isDigit(b[i]!)) i++;
  }
  return i;
}

/** Whether the bytes at `at` are the ASCII `word`, byte for byte (the caller knows they are in range, or that past the end they differ). */
export function spells(b: Uint8Array, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word.charCodeAt(k)) return false;
  return true;
}

function skipLiteral(b: Uint8Array, i: number, end: number, word: string): number {
  return i + word.length <= end && spells(b, i, word) ? i + word.length : INVALID;
}

/**
 * The value starting at or after `i` (leading whitespace allowed): the offset past it, or
 * {@link INVALID}. `depth` is how many more arrays or objects may open, this value's own
 * included.
 */
export function skipValue(b: Uint8Array, i: number, end: number, depth: number): number {
  i = skipWhitespace(b, i, end);
  if (i >= end) return INVALID;
  const c = b[i]!;
  if (c === QUOTE) return skipString(b, i, end);
  if (c === OPEN_OBJECT) return depth > 0 ? skipObject(b, i, end, depth - 1) : INVALID;
  if (c === OPEN_ARRAY) return depth > 0 ? skipArray(b, i, end, depth - 1) : INVALID;
  if (c === MINUS || isDigit(c)) return skipNumber(b, i, end);
  if (c === 0x74) return skipLiteral(b, i, end, 'true');
  if (c === 0x66) return skipLiteral(b, i, end, 'false');
  if (c === 0x6e) return skipLiteral(b, i, end, 'null');
  return INVALID;
}

/** `b[i]` is `{`: the offset past the object, or {@link INVALID}. `depth` counts levels inside. */
function skipObject(b: Uint8Array, i: number, end: number, depth: number): number {
  i = skipWhitespace(b, i + 1, end);
  if (i < end && b[i] === CLOSE_OBJECT) return i + 1;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return INVALID;
    i = skipString(b, i, end);
    if (i === INVALID) return INVALID;
    i = skipWhitespace(b, i, end);
    if (i >= end || b[i] !== COLON) return INVALID;
    i = skipValue(b, i + 1, end, depth);
    if (i === INVALID) return INVALID;
    i = skipWhitespace(b, i, end);
    if (i >= end) return INVALID;
    if (b[i] === CLOSE_OBJECT) return i + 1;
    if (b[i] !== COMMA) return INVALID;
    i = skipWhitespace(b, i + 1, end);
  }
}

/** `b[i]` is `[`: the offset past the array, or {@link INVALID}. */
function skipArray(b: Uint8Array, i: number, end: number, depth: number): number {
  i = skipWhitespace(b, i + 1, end);
  if (i < end && b[i] === CLOSE_ARRAY) return i + 1;
  for (;;) {
    i = skipValue(b, i, end, depth);
    if (i === INVALID) return INVALID;
    i = skipWhitespace(b, i, end);
    if (i >= end) return INVALID;
    if (b[i] === CLOSE_ARRAY) return i + 1;
    if (b[i] !== COMMA) return INVALID;
    i++;
  }
}
