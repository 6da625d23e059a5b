/**
 * Nesting depth of JSON text, measured on the raw bytes before it is parsed.
 *
 * `JSON.parse` accepts nesting that `JSON.stringify` (and every recursive walk) cannot
 * handle again, so a deep frame that was parsed could crash the broker later, when an
 * answer or a delivery is serialised. Refusing it before parsing means nothing the broker
 * accepted can fail later because of its shape. The check works on bytes because the
 * brackets, quote and backslash are single bytes in UTF-8 and in the legacy code pages
 * alike, and never occur inside a multi-byte UTF-8 sequence.
 */

/** The deepest nesting a frame may have: arrays and objects, the top level counting 1. */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * True when `text` opens more than `max` arrays or objects inside one another. Brackets
 * inside strings do not count. Text that is not valid JSON is measured all the same, so
 * a frame of ten thousand `[` is refused for its depth, not parsed first.
 */
export function exceedsJsonDepth(text: Uint8Array, max: number = MAX_JSON_DEPTH): boolean {
  // Depth past `max` needs more than `max` opening brackets. Most frames have a handful,
  // and counting them with the native indexOf is far cheaper than walking every byte.
  if (!hasMoreOpenersThan(text, max)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

function hasMoreOpenersThan(text: Uint8Array, max: number): boolean {
  let n = 0;
  for (let i = text.indexOf(OPEN_OBJECT); i !== -1; i = text.indexOf(OPEN_OBJECT, i + 1)) {
    if (++n > max) return true;
  }
  for (let i = text.indexOf(OPEN_ARRAY); i !== -1; i = text.indexOf(OPEN_ARRAY, i + 1)) {
    if (++n > max) return true;
  }
  return false;
}
