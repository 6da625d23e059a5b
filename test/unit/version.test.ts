import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../bridge/package-root.js';
import { VERSION } from '../../src/version.js';

describe('VERSION', () => {
  it('is package.json\'s version (bump both together)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });

  it('the package folder is found from the bridge code', () => {
    expect(path.resolve(packageRoot() ?? 'not found')).toBe(path.resolve(fileURLToPath(new URL('../../', import.meta.url))));
  });
});
