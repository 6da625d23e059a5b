/**
 * `bridge pub -l`: the lines of stdin as they arrive. A line ends at `\n`, `\r\n` or a
 * lone `\r` (as Node's readline ends them), wherever the reads cut the bytes. Each line
 * is decoded on its own as stdin-text.ts decodes the whole, so one line in Windows-1252
 * among UTF-8 ones is still read right. UTF-16 (by its mark) is decoded as a stream and
 * split as UTF-8, whose line ends are the same bytes and never part of another character.
 */
import { TextDecoder } from 'node:util';
import { decodeFrameText } from '../src/protocol/text.js';
import { markOf, mayBeMarkStart } from './stdin-text.js';

const LF = 0x0a;
const CR = 0x0d;
/** Splits stdin's bytes into decoded lines, a read at a time. */
export class StdinLineSplitter {
  /** The first bytes, until there are enough to look for a mark. */
  private head: Buffer[] = [];
  private marked = false;
  private utf16: TextDecoder | null = null;
  /** The bytes of the line not ended yet, in pieces (one long line is joined once). */
  private pending: Buffer[] = [];
  /** The last line ended at a `\r` the last read ended with: a `\n` starting the next read belongs to it. */
  private afterCr = false;

  /** The lines that `chunk` ends. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    if (!this.marked) {
      this.head.push(chunk);
      // A short first line (`7\n` from a producer) goes at once unless it may begin a mark.
      if (mayBeMarkStart(Buffer.concat(this.head))) return lines;
      chunk = this.takeMark();
    }
    this.split(chunk, lines);
    return lines;
  }

  /** The last line, when stdin did not end with a line end. */
  end(): string[] {
    const lines: string[] = [];
    if (!this.marked) this.split(this.takeMark(), lines);
    // What UTF-16's decoder still holds (half a character: a replacement character).
    if (this.utf16 !== null) this.splitBytes(Buffer.from(this.utf16.decode(), 'utf8'), lines);
    if (this.pending.length > 0) {
      lines.push(decodeFrameText(Buffer.concat(this.pending)));
      this.pending = [];
    }
    return lines;
  }

  /** The first bytes without a UTF-8 mark, once the mark (or its absence) decides how to read. */
  private takeMark(): Buffer {
    const bytes = Buffer.concat(this.head);
    this.head = [];
    this.marked = true;
    const { utf16, skip } = markOf(bytes);
    if (utf16 !== null) this.utf16 = new TextDecoder(utf16);
    return bytes.subarray(skip);
  }

  private split(chunk: Buffer, lines: string[]): void {
    this.splitBytes(this.utf16 === null ? chunk : Buffer.from(this.utf16.decode(chunk, { stream: true }), 'utf8'), lines);
  }

  private splitBytes(chunk: Buffer, lines: string[]): void {
    let start = 0;
    if (this.afterCr && chunk.length > 0) {
      if (chunk[0] === LF) start = 1;
      this.afterCr = false;
    }
    for (let i = start; i < chunk.length; i++) {
      const c = chunk[i];
      if (c !== LF && c !== CR) continue;
      const piece = chunk.subarray(start, i);
      lines.push(decodeFrameText(this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece));
      this.pending = [];
      if (c === CR) {
        if (i + 1 === chunk.length) this.afterCr = true;
        else if (chunk[i + 1] === LF) i++;
      }
      start = i + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }
}

/** The lines of `input` as they arrive (see the top of this file). */
export async function* stdinLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const splitter = new StdinLineSplitter();
  for await (const piece of input) yield* splitter.push(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece);
  yield* splitter.end();
}
