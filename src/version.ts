/** The package version, read once from package.json (found by walking up from this file). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackage(): { root: string | null; version: string } {
  // src/version.ts runs from src/ under vitest and from dist/src/ when built.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ahk-bridge' && pkg.version) return { root: dir, version: pkg.version };
    }
    dir = dirname(dir);
  }
  return { root: null, version: '0.0.0' };
}

const pkg = findPackage();
export const VERSION: string = pkg.version;
/** The package's folder (where package.json, scripts/ and fixtures/ are), when found. */
export const PACKAGE_ROOT: string | null = pkg.root;
