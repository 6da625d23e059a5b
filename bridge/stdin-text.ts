/**
 * A CLI command's payload read from stdin (`bridge pub TOPIC -`, `request`, `reply`, and
 * `pub -l` line by line).
 *
 * Stdin is bytes, and on Windows they are seldom UTF-8 alone: `type notes.txt |` passes a
 * file saved as "ANSI" (Windows-1252) as it is, and a file PowerShell 5.1 wrote with `>`
 * is UTF-16 with a byte order mark. Text that is valid UTF-8 is read as UTF-8, UTF-16
 * with its mark as UTF-16, and anything else as Windows-1252, as the broker reads an
 * AutoHotkey v1 client's frames: a `€` arrives as a `€`, not as U+FFFD.
 */
import { fstatSync } from 'node:fs';
import { TextDecoder } from 'node:util';
import { decodeFrameText } from '../src/protocol/text.js';
import { CliError } from './cli-error.js';

/**
 * A folder given as stdin (`< folder`) reads as empty where the shell allows it (Linux,
 * Git Bash): say so, rather than publish "" or nothing.
 */
export function refuseFolderStdin(): void {
  let isFolder = false;
  try {
    isFolder = fstatSync(0).isDirectory();
  } catch {
    // No stdin to look at (closed): reading it then ends at once, as for an empty file.
  }
  if (isFolder) throw new CliError('stdin is a folder, not a file: redirect a file (< payload.json) or pipe the payload in');
}

/** The UTF-16 encoding `bytes` starts with the byte order mark of, if any. */
function utf16Of(bytes: Buffer): 'utf-16le' | 'utf-16be' | null {
  if (bytes.length < 2) return null;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return null;
}

/** `bytes` of stdin as text (see the top of this file), without a byte order mark. */
export function stdinText(bytes: Buffer): string {
  const utf16 = utf16Of(bytes);
  // TextDecoder drops the mark itself.
  if (utf16 !== null) return new TextDecoder(utf16).decode(bytes);
  return decodeFrameText(bytes);
}

/** Read all of stdin (for `-` as the payload argument), without a BOM or the final newline. */
export async function readStdin(): Promise<string> {
  refuseFolderStdin();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return stdinText(Buffer.concat(chunks)).replace(/\r?\n$/, '');
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of `input` as they arrive, without their `\n` or `\r\n`, each decoded on its
 * own (see the top of this file): one line in Windows-1252 among UTF-8 ones is still read
 * right. UTF-16 (by its mark at the start) is decoded as a stream and split after.
 */
export async function* stdinLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  // The bytes of the line not ended yet, in pieces: one long line is joined once.
  let pending: Buffer[] = [];
  let utf16: TextDecoder | null = null;
  let text = '';
  let first = true;
  for await (const piece of input) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    if (first) {
      // Two bytes are needed to see a mark.
      chunk = Buffer.concat([...pending, chunk]);
      pending = [];
      if (chunk.length < 2) {
        if (chunk.length > 0) pending.push(chunk);
        continue;
      }
      first = false;
      const encoding = utf16Of(chunk);
      if (encoding !== null) utf16 = new TextDecoder(encoding);
    }
    if (utf16 !== null) {
      text += utf16.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        yield withoutReturn(text.slice(0, nl));
        text = text.slice(nl + 1);
      }
      continue;
    }
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(NEWLINE, start)) >= 0) {
      const line = pending.length > 0 ? Buffer.concat([...pending, chunk.subarray(start, nl)]) : chunk.subarray(start, nl);
      pending = [];
      yield lineText(line);
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (utf16 !== null) {
    text += utf16.decode();
    if (text.length > 0) yield withoutReturn(text);
  } else if (pending.length > 0) {
    yield lineText(Buffer.concat(pending));
  }
}

const withoutReturn = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** One line's bytes (without its `\n`) as text, without a final `\r`. */
function lineText(line: Buffer): string {
  const end = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.length - 1 : line.length;
  return decodeFrameText(line.subarray(0, end));
}
