/**
 * Make a folder and the folders above it that are missing, one level at a time. Node's
 * own `mkdir(dir, { recursive: true })` spins at full CPU, forever, where a level cannot
 * be made but the system answers ENOENT (a folder under /proc on Linux); here that level's
 * error is what the caller gets. A path whose root is not there (a drive letter with no
 * drive) is named as such.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Make `dir` (and what is missing above it); throws the first level's error with its path. */
export async function makeFolder(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const info = await stat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw err;
    });
    if (info !== null) {
      if (!info.isDirectory()) throw new Error(`${at} is a file, not a folder`);
      break;
    }
    missing.push(at);
    const up = path.dirname(at);
    if (up === at) throw new Error(`${at} does not exist (is that drive there?)`);
    at = up;
  }
  for (const level of missing.reverse()) {
    await mkdir(level).catch((err: NodeJS.ErrnoException) => {
      // Made meanwhile by someone else: as good.
      if (err.code !== 'EEXIST') throw err;
    });
  }
}
