/**
 * The ahk-bridge package folder (where scripts/ and fixtures/ are), found on first use by
 * walking up from this file: bridge/ under vitest, dist/bridge/ when built. bridge.exe has
 * none, even when it sits inside a checkout: what it ships is in its assets
 * (packaged-files.ts), and a folder found beside it would be some other version's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

let found: string | null | undefined;

/** The package folder, or null when this file does not live inside the ahk-bridge package. */
export function packageRoot(): string | null {
  if (found !== undefined) return found;
  found = null;
  if (isSea()) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'ahk-bridge') {
      found = dir;
      break;
    }
    dir = dirname(dir);
  }
  return found;
}
