/**
 * JSON-RPC batch frames written call by call straight into the bytes that are sent.
 *
 * A queue file's backlog makes batches of hundreds of calls. Built as text, each call was
 * a string of pieces, flattened to be measured, joined with the others into the batch's
 * text and copied once more into the frame: half of everything `bridge tail` allocated
 * per line, and the garbage that made its young generation promote and its old one grow.
 * Here each piece goes into the frame's buffer once; what a call cannot be (too large,
 * too deep, not JSON) is found out after it is written, and undone.
 */
import { decimalLength, isDecimalInteger, writeDecimal } from '../protocol/decimal.js';
import { HEADER_BYTES } from '../protocol/framing.js';
import { exceedsJsonDepth } from '../protocol/json-depth.js';
import type { PayloadWriter } from './call-types.js';

const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const COMMA = 0x2c;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 for 2). */
const MAX_UTF8_PER_UNIT = 3;
const MIN_CAPACITY = 4096;
const EMPTY = Buffer.alloc(0);

/** A fixed piece of JSON text, encoded once, with the brackets it opens counted once. */
export class JsonPiece {
  readonly bytes: Uint8Array;
  readonly openers: number;
  constructor(readonly text: string) {
    this.bytes = Buffer.from(text, 'utf8');
    this.openers = countOpeners(text, Infinity);
  }
}

/** `{` and `[` in `src[start, end)` (strings not told apart: an upper bound of its depth). */
function countOpenerBytes(src: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (src[i] === OPEN_BRACE || src[i] === OPEN_BRACKET) n++;
  return n;
}

/** `{` and `[` in `text`, counted up to just past `stopAbove` (strings not told apart: an upper bound). */
function countOpeners(text: string, stopAbove: number): number {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1 && n <= stopAbove; i = text.indexOf('{', i + 1)) n++;
  for (let i = text.indexOf('['); i !== -1 && n <= stopAbove; i = text.indexOf('[', i + 1)) n++;
  return n;
}

/** Where a call's text is written: pieces, JSON texts and bytes, and integers, in order. */
export interface CallWriter extends PayloadWriter {
  /** A fixed piece. */
  piece(p: JsonPiece): void;
  /** JSON text as it is (the caller answers for it being JSON). */
  json(text: string): void;
}

/**
 * What became of a call written with {@link BatchFrameWriter.endCall}: taken into the
 * frame, or left out for its size or its depth (and then undone).
 */
export type CallFit = { kind: 'taken' } | { kind: 'too-large'; bytes: number } | { kind: 'too-deep-for-batch' } | { kind: 'too-deep' };

/**
 * Batch frames of at most `limit` bytes of JSON: `[call,call,...]` behind the 4-byte
 * length. Calls are written one at a time between {@link beginCall} and
 * {@link endCall}; a call that does not fit beside the calls before it closes their
 * frame (handed to `emit`) and opens the next one. Frames are handed over in call order.
 */
export class BatchFrameWriter implements CallWriter {
  /** The frame being filled; empty until its first call. */
  private buf: Buffer = EMPTY;
  /** What to allocate for the next frame: about the size of the last one. */
  private capacity = MIN_CAPACITY;
  /** Bytes written: the header, `[`, the calls taken, and the call being written. */
  private end = HEADER_BYTES + 1;
  /** Where the call being written starts (after its comma, when it has one). */
  private callStart = 0;
  /** Calls taken into the frame being filled. */
  private calls = 0;
  /** Brackets the call being written opens (an upper bound of its depth). */
  private openers = 0;
  /** Bytes of the call being written that did not go in (it is too large for any frame). */
  private skipped = 0;

  /**
   * @param limit most JSON bytes in one frame (the broker's `max_message_size`)
   * @param maxDepth deepest nesting the broker reads; a call in a batch has one level less
   * @param emit takes each frame, with the number of calls in it
   */
  constructor(
    private readonly limit: number,
    private readonly maxDepth: number,
    private readonly emit: (frame: Buffer, calls: number) => void,
  ) {}

  /** Start the next call. */
  beginCall(): void {
    if (this.buf.length === 0) this.open(Buffer.allocUnsafe(this.capacity));
    // Always room: the calls taken are at most `limit` bytes, the buffer may hold twice that.
    if (this.calls > 0 && this.room(1)) this.buf[this.end++] = COMMA;
    this.callStart = this.end;
    this.openers = 0;
    this.skipped = 0;
  }

  piece(p: JsonPiece): void {
    this.openers += p.openers;
    if (this.skipped > 0 || !this.room(p.bytes.length)) {
      this.skipped += p.bytes.length;
      return;
    }
    this.buf.set(p.bytes, this.end);
    this.end += p.bytes.length;
  }

  json(text: string): void {
    this.openers += countOpeners(text, this.maxDepth);
    // Measured only when it may not fit: most texts are a few hundred bytes.
    const n = this.skipped === 0 && this.room(text.length * MAX_UTF8_PER_UNIT) ? 0 : Buffer.byteLength(text, 'utf8');
    if (n > 0 && (this.skipped > 0 || !this.room(n))) this.skipped += n;
    else this.end += this.buf.write(text, this.end);
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.skipped > 0 || !this.room(n)) {
      this.skipped += n;
      this.openers += countOpenerBytes(src, start, end);
      return;
    }
    // Copied and counted in one pass: a queue line's payload is some tens of bytes, for
    // which a view for `set` costs more than the loop.
    const buf = this.buf;
    let at = this.end;
    let openers = 0;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c === OPEN_BRACE || c === OPEN_BRACKET) openers++;
      buf[at++] = c;
    }
    this.end = at;
    this.openers += openers;
  }

  uint(n: number): void {
    // A caller's writePayload may hand anything: NaN or -1 would make the frame unreadable
    // and the broker refuse every call in it. Thrown here, it fails this call alone.
    if (!isDecimalInteger(n)) throw new TypeError(`${String(n)} is not a non-negative integer of at most 2^53 - 1`);
    const digits = decimalLength(n);
    if (this.skipped > 0 || !this.room(digits)) {
      this.skipped += digits;
      return;
    }
    this.end = writeDecimal(this.buf, this.end, n);
  }

  /** Undo the call being written (it could not be written at all). */
  abortCall(): void {
    this.end = this.calls > 0 ? this.callStart - 1 : this.callStart;
  }

  /**
   * Finish the call being written: taken into the frame, or undone because it is larger
   * than a frame may be, or nested too deep. A call nested one level too deep for a batch
   * (whose array is a level) is handed to `emit` alone, as a plain frame, after the
   * frame of the calls before it.
   */
  endCall(): CallFit {
    const bytes = this.end - this.callStart + this.skipped;
    // A frame with this call alone has its brackets around it.
    if (bytes + 2 > this.limit) {
      this.abortCall();
      return { kind: 'too-large', bytes: bytes + 2 };
    }
    if (this.openers > this.maxDepth - 1 && exceedsJsonDepth(this.buf.subarray(this.callStart, this.end), this.maxDepth - 1)) {
      const tooDeep = exceedsJsonDepth(this.buf.subarray(this.callStart, this.end), this.maxDepth);
      const alone = tooDeep ? null : this.copyCall(0);
      this.abortCall();
      if (alone === null) return { kind: 'too-deep' };
      this.flush();
      alone.writeUInt32BE(bytes, 0);
      this.emit(alone, 1);
      return { kind: 'too-deep-for-batch' };
    }
    // The frame's JSON with this call: everything after the header, and `]`.
    if (this.calls > 0 && this.end - HEADER_BYTES + 1 > this.limit) {
      const moved = this.copyCall(1);
      this.abortCall();
      this.flush();
      this.open(moved);
      this.end += bytes;
    }
    this.calls++;
    return { kind: 'taken' };
  }

  /** Hand over the frame of the calls taken so far, if any. */
  flush(): void {
    if (this.calls === 0) return;
    this.buf[this.end] = CLOSE_BRACKET;
    const frame = this.buf.subarray(0, this.end + 1);
    frame.writeUInt32BE(frame.length - HEADER_BYTES, 0);
    const calls = this.calls;
    this.capacity = Math.max(MIN_CAPACITY, Math.min(this.buf.length, HEADER_BYTES + this.limit + 1));
    this.buf = EMPTY;
    this.calls = 0;
    this.emit(frame, calls);
  }

  private open(buf: Buffer): void {
    this.buf = buf;
    this.buf[HEADER_BYTES] = OPEN_BRACKET;
    this.end = HEADER_BYTES + 1;
  }

  /** The call being written, copied into a new buffer after `HEADER_BYTES + gap` bytes. */
  private copyCall(gap: number): Buffer {
    const size = this.end - this.callStart;
    const out = Buffer.allocUnsafe(gap === 0 ? HEADER_BYTES + size : Math.max(this.capacity, HEADER_BYTES + gap + size + 1));
    this.buf.copy(out, HEADER_BYTES + gap, this.callStart, this.end);
    return out;
  }

  /**
   * Make room for `n` more bytes and the closing `]`, growing the buffer; false when
   * that would pass what the calls taken and a call being written may take together,
   * which a call that gets there is too large for anyway.
   */
  private room(n: number): boolean {
    const need = this.end + n + 1;
    if (need <= this.buf.length) return true;
    const most = HEADER_BYTES + 2 * this.limit + 2;
    if (need > most) return false;
    const grown = Buffer.allocUnsafe(Math.min(Math.max(need, this.buf.length * 2), most));
    this.buf.copy(grown, 0, 0, this.end);
    this.buf = grown;
    return true;
  }
}
