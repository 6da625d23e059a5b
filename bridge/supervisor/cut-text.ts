/**
 * A script's line cut to a number of UTF-8 bytes, for the places that keep or print it
 * whole at every line (the output ring, the bridge's log), where one line a megabyte long
 * would crowd out everything else. The event published for the line is cut elsewhere, to
 * what a message may hold (fit-line.ts).
 */

/** The longest start of `text` that fits in `bytes` UTF-8 bytes, never splitting a character. */
export function cutToBytes(text: string, bytes: number): string {
  // Three bytes per UTF-16 unit at most: short lines skip the count.
  if (text.length * 3 <= bytes || Buffer.byteLength(text, 'utf8') <= bytes) return text;
  const buf = Buffer.from(text, 'utf8').subarray(0, bytes);
  // A cut inside a multi-byte character decodes to U+FFFD at the end: drop it.
  return buf.toString('utf8').replace(/\uFFFD+$/, '');
}

/**
 * `text` when it takes at most `bytes` UTF-8 bytes; else its start that fits, followed by
 * ` [... N bytes left out]`, so whoever reads it knows the line went on.
 */
export function cutMarked(text: string, bytes: number): string {
  const kept = cutToBytes(text, bytes);
  if (kept.length === text.length) return text;
  const left = Buffer.byteLength(text, 'utf8') - Buffer.byteLength(kept, 'utf8');
  return `${kept} [... ${left} bytes left out]`;
}
