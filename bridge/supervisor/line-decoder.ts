/**
 * Turns a child's output bytes into lines in the script's encoding. Decoding happens
 * before splitting, through a streaming decoder, so a multi-byte character (or a UTF-16
 * code unit) split across two pipe reads is never garbled.
 */
import { StringDecoder } from 'node:string_decoder';
import { nodeEncodingOf, type NodeEncoding } from '../../src/protocol/encoding-names.js';
import { iconvLite } from '../../src/protocol/text.js';
import { decodeWindows1252, isWindows1252 } from '../../src/protocol/windows-1252.js';

/** Longest line kept; the rest of a longer line is dropped (and reported). */
export const MAX_LINE_CHARS = 1024 * 1024;

export interface DecodedLine {
  text: string;
  /** True when the line was longer than MAX_LINE_CHARS and was cut. */
  truncated: boolean;
}

/** Bytes in, text out, holding a character split between two writes for the next. */
interface StreamDecoder {
  write(chunk: Buffer): string;
  end(): string | undefined;
}

/**
 * Node's decoder, which drops a BOM at the start of the output as iconv-lite's decoders
 * do (only the first text decoded is looked at).
 */
function nativeDecoder(encoding: NodeEncoding): StreamDecoder {
  const decoder = new StringDecoder(encoding);
  let started = false;
  const stripBom = (text: string): string => {
    if (started || text === '') return text;
    started = true;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };
  return {
    write: (chunk) => stripBom(decoder.write(chunk)),
    end: () => stripBom(decoder.end()),
  };
}

/**
 * The decoder for `encoding`. UTF-8, UTF-16LE, Latin-1 and Windows-1252 (a code page of
 * one byte per character: nothing to hold between writes) are decoded without
 * iconv-lite, whose tables cost a supervisor about 6.5 MB of memory.
 */
function streamDecoder(encoding: string): StreamDecoder {
  const native = nodeEncodingOf(encoding);
  if (native) return nativeDecoder(native);
  if (isWindows1252(encoding)) return { write: (chunk) => decodeWindows1252(chunk), end: () => '' };
  const iconv = iconvLite();
  if (!iconv.encodingExists(encoding)) throw new RangeError(`unknown encoding "${encoding}"`);
  return iconv.getDecoder(encoding);
}

export class LineDecoder {
  private readonly decoder: StreamDecoder;
  private partial = '';
  private overflow = false;

  /** @param encoding any encoding iconv-lite knows: utf-8, cp1252, utf-16le, ... */
  constructor(encoding: string) {
    this.decoder = streamDecoder(encoding);
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
