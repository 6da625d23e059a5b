/**
 * The page's files (`web/status/` of the package, or bridge.exe's assets), read once on
 * first request and kept: a handful of small files. Only names of the shape below are
 * served, so no request path ever reaches the file system.
 */
import { readPackaged } from '../packaged-files.js';

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

  /** The file named `name` (`index.html`, `app.js`, ...), or null when there is none. */
  async get(name: string): Promise<StaticFile | null> {
    if (!/^[a-z0-9][a-z0-9.-]*\.(html|css|js|svg)$/.test(name)) return null;
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const body = await readPackaged(`web/status/${name}`);
    const file = body === null ? null : { body, type: TYPES[name.slice(name.lastIndexOf('.'))]! };
    this.cache.set(name, file);
    return file;
  }
}
