/**
 * A CLI command's payload read from stdin (`bridge pub TOPIC -`, `request`, `reply`;
 * `pub -l` reads it line by line through stdin-lines.ts).
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

/** The byte order marks stdin may start with; a UTF-8 one is skipped (TextDecoder drops a UTF-16 one itself). */
const MARKS: readonly { bytes: readonly number[]; utf16: 'utf-16le' | 'utf-16be' | null; skip: number }[] = [
  { bytes: [0xff, 0xfe], utf16: 'utf-16le', skip: 0 },
  { bytes: [0xfe, 0xff], utf16: 'utf-16be', skip: 0 },
  { bytes: [0xef, 0xbb, 0xbf], utf16: null, skip: 3 },
];

const startsWith = (bytes: Buffer, mark: readonly number[], length: number): boolean => mark.slice(0, length).every((b, i) => bytes[i] === b);

/**
 * What `bytes` starts with: a UTF-16 byte order mark (its encoding), a UTF-8 one (`skip`
 * its 3 bytes: the rest is then read as UTF-8, or if it is not valid UTF-8 as
 * Windows-1252, without the mark), or none.
 */
export function markOf(bytes: Buffer): { utf16: 'utf-16le' | 'utf-16be' | null; skip: number } {
  const mark = MARKS.find((m) => bytes.length >= m.bytes.length && startsWith(bytes, m.bytes, m.bytes.length));
  return mark === undefined ? { utf16: null, skip: 0 } : { utf16: mark.utf16, skip: mark.skip };
}

/** Whether `bytes`, the first of stdin, are too few to tell, being the start of a mark: more must be read first. */
export function mayBeMarkStart(bytes: Buffer): boolean {
  return MARKS.some((m) => bytes.length < m.bytes.length && startsWith(bytes, m.bytes, bytes.length));
}

/** `bytes` of stdin as text (see the top of this file), without a byte order mark. */
export function stdinText(bytes: Buffer): string {
  const { utf16, skip } = markOf(bytes);
  if (utf16 !== null) return new TextDecoder(utf16).decode(bytes);
  return decodeFrameText(bytes.subarray(skip));
}

/** Read all of stdin (for `-` as the payload argument), without a BOM or the final newline. */
export async function readStdin(): Promise<string> {
  refuseFolderStdin();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return stdinText(Buffer.concat(chunks)).replace(/\r?\n$/, '');
}
