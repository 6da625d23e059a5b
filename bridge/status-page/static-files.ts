/**
 * The page's files (`web/status/` of the package), read once on first request and kept:
 * a handful of small files. Only the names listed are served, so no request path ever
 * reaches the file system.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

export class StaticFiles {
  private readonly cache = new Map<string, StaticFile | null>();

  constructor(private readonly folder: string | null = defaultFolder()) {}

  /** The file named `name` (`index.html`, `app.js`, ...), or null when there is none. */
  async get(name: string): Promise<StaticFile | null> {
    if (!/^[a-z0-9][a-z0-9.-]*\.(html|css|js|svg)$/.test(name) || this.folder === null) return null;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    let file: StaticFile | null;
    try {
      file = { body: await readFile(join(this.folder, name)), type: TYPES[name.slice(name.lastIndexOf('.'))]! };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      file = null;
    }
    this.cache.set(name, file);
    return file;
  }
}

function defaultFolder(): string | null {
  const root = packageRoot();
  return root === null ? null : join(root, 'web', 'status');
}
