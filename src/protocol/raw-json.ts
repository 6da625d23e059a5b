/**
 * A JSON value kept as the bytes it arrived in. Payloads pass through the broker
 * unchanged, so parsing them into objects only to serialise them again for every
 * delivery is wasted work: the broker copies these bytes into the delivery frame instead
 * and parses them only when something looks inside (a retained clear, a preview, a
 * broker-answered request).
 */
import { copyBytes } from './buffer-views.js';
import { keepBytes, type KeptBytes } from './kept-bytes.js';

const NO_BYTES = Buffer.alloc(0);
const kept: KeptBytes = { buffer: NO_BYTES, start: 0 };

/** Valid JSON text (checked when it was scanned), UTF-8, at `start..end` of some buffer. */
export class RawJson {
  private parsed: unknown = undefined;
  private isParsed = false;

  /**
   * @param buffer holds the JSON text at `start..end`
   * @param borrowed true while `buffer` belongs to someone else (a socket chunk that a
   *   kept view would pin, or reuse): call {@link own} before keeping the value past the
   *   synchronous handling of the frame it came in
   */
  constructor(
    private buffer: Buffer,
    private start: number,
    private end: number,
    private borrowed: boolean,
  ) {}

  /** Where the text starts in the buffer it was read from (while {@link isBorrowed}). */
  get sourceStart(): number {
    return this.start;
  }

  /** Where the text ends in the buffer it was read from (while {@link isBorrowed}). */
  get sourceEnd(): number {
    return this.end;
  }

  /** Bytes of JSON text. */
  get length(): number {
    return this.end - this.start;
  }

  /** The JSON text as bytes (a view; copy it to keep it past the value). */
  get bytes(): Buffer {
    return this.buffer.subarray(this.start, this.end);
  }

  /** True while the bytes are a view of a buffer this value does not own. */
  get isBorrowed(): boolean {
    return this.borrowed;
  }

  /** Copy the JSON text into `target` at `offset`; returns the bytes copied. */
  copyTo(target: Buffer, offset: number): number {
    return copyBytes(this.buffer, this.start, this.end, target, offset);
  }

  /** Make the bytes this value's own (a copy, once), so it can be kept. */
  own(): this {
    if (this.borrowed) {
      keepBytes(this.buffer, this.start, this.end, kept);
      this.rebase(kept.buffer, kept.start);
      // The scratch record must not keep a large copy alive after its value is gone.
      kept.buffer = NO_BYTES;
    }
    return this;
  }

  /** Point at an equal copy of the text at `start` in `buffer`, which the caller keeps anyway (a delivery frame). */
  rebase(buffer: Buffer, start: number): void {
    this.end = start + this.end - this.start;
    this.start = start;
    this.buffer = buffer;
    this.borrowed = false;
  }

  /** The JSON text. */
  toString(): string {
    return this.buffer.toString('utf8', this.start, this.end);
  }

  /** The parsed value (parsed once, on first use). */
  get value(): unknown {
    if (!this.isParsed) {
      this.parsed = JSON.parse(this.toString());
      this.isParsed = true;
    }
    return this.parsed;
  }

  /** `JSON.stringify` of anything that holds a RawJson serialises its value. */
  toJSON(): unknown {
    return this.value;
  }
}

/**
 * `value` made safe to keep past the handling of the frame it came in: a RawJson that
 * borrows the frame's bytes gets its own copy ({@link RawJson.own}); anything else is
 * returned as it is.
 */
export function keepJson<T>(value: T): T {
  if (value instanceof RawJson) value.own();
  return value;
}

/** The value of a payload that may be kept raw. */
export function jsonValue(value: unknown): unknown {
  return value instanceof RawJson ? value.value : value;
}

/**
 * A plain object with a {@link RawJson} among its own members, as JSON text: such a
 * member is written as the text it holds, the others as `JSON.stringify` writes them
 * (where `JSON.stringify` of the whole would write a RawJson's parsed value, which may not
 * hold the text: `1e400`, `-0`, `1.0`, digits past a double's precision). Null for
 * anything else, which `JSON.stringify` writes as it is.
 */
export function textWithRawMembers(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof RawJson) return null;
  const members = value as Record<string, unknown>;
  let raw = false;
  for (const name in members) {
    if (members[name] instanceof RawJson) {
      raw = true;
      break;
    }
  }
  if (!raw) return null;
  const parts: string[] = [];
  for (const [name, member] of Object.entries(members)) {
    const text = member instanceof RawJson ? member.toString() : (JSON.stringify(member) as string | undefined);
    if (text !== undefined) parts.push(`${JSON.stringify(name)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}
