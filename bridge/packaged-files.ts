/**
 * Files shipped with ahk-bridge beside its code: the AutoHotkey libraries (scripts/lib/)
 * and the status page (web/status/). An npm install reads them from the package folder;
 * `bridge.exe` carries them as single-executable assets under the same names, with an
 * index asset listing them (tools/package-win.mjs writes both).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { packageRoot } from './package-root.js';

/** The asset of bridge.exe that lists its other assets, one name per entry. */
export const ASSET_INDEX = 'assets.json';

/** What ships, from where: the package folder on disk, or bridge.exe's assets. */
interface Shipped {
  list(folder: string): Promise<string[]>;
  read(name: string): Promise<Buffer | null>;
}

let shipped: Shipped | undefined;

function fromAssets(): Shipped {
  const names = new Set<string>(JSON.parse(getAsset(ASSET_INDEX, 'utf8')) as string[]);
  return {
    list: async (folder) => [...names].filter((n) => n.startsWith(`${folder}/`)).map((n) => n.slice(folder.length + 1)).sort(),
    read: async (name) => (names.has(name) ? Buffer.from(getAsset(name)) : null),
  };
}

function fromPackage(root: string | null): Shipped {
  return {
    async list(folder) {
      if (root === null) return [];
      try {
        return (await readdir(join(root, folder), { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
    async read(name) {
      if (root === null) return null;
      try {
        return await readFile(join(root, ...name.split('/')));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
  };
}

function source(): Shipped {
  shipped ??= isSea() ? fromAssets() : fromPackage(packageRoot());
  return shipped;
}

/** Names of the files shipped in `folder` (`'scripts/lib'`), sorted; none when it is not shipped. */
export async function listPackaged(folder: string): Promise<string[]> {
  return source().list(folder);
}

/** The bytes of the shipped file `name` (`'scripts/lib/Bridge.ahk'`), or null when it is not shipped. */
export async function readPackaged(name: string): Promise<Buffer | null> {
  return source().read(name);
}
