/**
 * Turns a child's output bytes into lines in the script's encoding. Decoding happens
 * before splitting, through iconv-lite's streaming decoder, so a multi-byte character
 * (or a UTF-16 code unit) split across two pipe reads is never garbled.
 */
import iconv from 'iconv-lite';

/** Longest line kept; the rest of a longer line is dropped (and reported). */
export const MAX_LINE_CHARS = 1024 * 1024;

export interface DecodedLine {
  text: string;
  /** True when the line was longer than MAX_LINE_CHARS and was cut. */
  truncated: boolean;
}

export class LineDecoder {
  private readonly decoder: ReturnType<typeof iconv.getDecoder>;
  private partial = '';
  private overflow = false;

  /** @param encoding any encoding iconv-lite knows: utf-8, cp1252, utf-16le, ... */
  constructor(encoding: string) {
    if (!iconv.encodingExists(encoding)) throw new RangeError(`unknown encoding "${encoding}"`);
    this.decoder = iconv.getDecoder(encoding);
  }

  /** Feed bytes; returns the lines they completed. */
  push(chunk: Buffer): DecodedLine[] {
    return this.split(this.decoder.write(chunk));
  }

  /** The stream ended: a last line without a newline is returned too. */
  end(): DecodedLine[] {
    const rest = this.decoder.end() ?? '';
    const lines = this.split(rest);
    if (this.partial.length > 0 || this.overflow) {
      lines.push(this.take(this.partial));
      this.partial = '';
    }
    return lines;
  }

  private split(text: string): DecodedLine[] {
    const lines: DecodedLine[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      lines.push(this.take(this.partial + text.slice(start, nl)));
      this.partial = '';
      start = nl + 1;
    }
    this.partial += text.slice(start);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.partial = this.partial.slice(0, MAX_LINE_CHARS);
      this.overflow = true;
    }
    return lines;
  }

  private take(raw: string): DecodedLine {
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let truncated = this.overflow;
    this.overflow = false;
    if (text.length > MAX_LINE_CHARS) {
      text = text.slice(0, MAX_LINE_CHARS);
      truncated = true;
    }
    return { text, truncated };
  }
}
