/**
 * Short strings decoded from frame bytes, reused while they repeat. A broker reads the
 * same method names, param names and topics in nearly every frame; comparing a few bytes
 * against the last string seen in the same slot costs less than decoding a new string,
 * and the string that comes back is the same object every time, so later `Map` lookups
 * by it hash once.
 */

/** Longer strings are decoded every time: comparing them would cost about as much. */
const MAX_INTERNED_BYTES = 64;
const SLOTS = 512;

export class StringInterner {
  private readonly strings: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly bytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(SLOTS).fill(undefined);

  /** The UTF-8 text of `b[start..end)` (valid UTF-8, checked by the caller). */
  decode(b: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    if (n > MAX_INTERNED_BYTES) return b.toString('utf8', start, end);
    const slot = (n * 31 + b[start]! * 7 + b[end - 1]! * 3 + b[start + (n >> 1)]!) & (SLOTS - 1);
    const known = this.bytes[slot];
    if (known !== undefined && known.length === n) {
      let k = 0;
      while (k < n && known[k] === b[start + k]) k++;
      if (k === n) return this.strings[slot]!;
    }
    const text = b.toString('utf8', start, end);
    this.bytes[slot] = Buffer.from(b.subarray(start, end));
    this.strings[slot] = text;
    return text;
  }
}
