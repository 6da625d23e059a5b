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

/**
 * What `bytes` starts with: a UTF-16 byte order mark (its encoding; TextDecoder drops the
 * mark itself), a UTF-8 one (`skip` its 3 bytes: the rest is then read as UTF-8, or if it
 * is not valid UTF-8 as Windows-1252, without the mark), or none.
 */
export function markOf(bytes: Buffer): { utf16: 'utf-16le' | 'utf-16be' | null; skip: number } {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { utf16: 'utf-16le', skip: 0 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { utf16: 'utf-16be', skip: 0 };
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { utf16: null, skip: 3 };
  return { utf16: null, skip: 0 };
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
