/**
 * A CLI command's payload read from stdin (`bridge pub TOPIC -`, `request`, `reply`, and
 * `pub -l` line by line).
 */
import { fstatSync } from 'node:fs';
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

/** Read all of stdin (for `-` as the payload argument), without a BOM or the final newline. */
export async function readStdin(): Promise<string> {
  refuseFolderStdin();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
}
