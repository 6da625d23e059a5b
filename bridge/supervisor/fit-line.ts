/**
 * A script's output line as it can be published. The broker refuses a message larger than
 * its `max_message_size` (1 MiB by default), and a line's JSON text takes more bytes than
 * the line has characters (six for a control character, three for most non-Latin ones):
 * a line cut to MAX_LINE_CHARS could still be refused, and was then lost with a warning.
 */

/**
 * Most bytes of a line's JSON string in an `output` or `stderr` event: the default
 * `max_message_size` less room for the event's other fields and the publish around it.
 */
export const MAX_LINE_JSON_BYTES = 1024 * 1024 - 16 * 1024;

/** Bytes a UTF-16 unit takes at most in a JSON string written as UTF-8 (`\u001f`). */
const MAX_JSON_BYTES_PER_UNIT = 6;

const jsonBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text), 'utf8');
const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;

/**
 * `text` cut, if it must be, to the longest start whose JSON string takes at most `budget`
 * bytes (never between the two halves of a surrogate pair), and whether it was cut.
 */
export function fitLine(text: string, budget: number = MAX_LINE_JSON_BYTES): { text: string; cut: boolean } {
  if (text.length * MAX_JSON_BYTES_PER_UNIT + 2 <= budget || jsonBytes(text) <= budget) return { text, cut: false };
  // The longest start that fits: JSON bytes grow with the length, so a binary search.
  let lo = 0;
  let hi = text.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (jsonBytes(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  if (lo > 0 && isHighSurrogate(text.charCodeAt(lo - 1))) lo--;
  return { text: text.slice(0, lo), cut: true };
}
