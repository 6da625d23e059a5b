/**
 * What `npm run build` emits: JavaScript without comments (V8 keeps every loaded module's
 * source text in the heap, and the comments were 86 KB of an idle broker's; issue 15),
 * and declarations that keep their TSDoc, which editors show the package's users.
 * Reads dist/ as the build left it (npm ci builds it; the tests' global setup rebuilds the
 * JavaScript).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Every file under `dir` whose name ends with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => path.join(dir, name));
}

describe('build output', () => {
  it('emits the JavaScript without doc comments', () => {
    const files = filesUnder(path.join(DIST, 'src'), '.js').concat(filesUnder(path.join(DIST, 'bridge'), '.js'));
    expect(files.length).toBeGreaterThan(100);
    const commented = files.filter((file) => readFileSync(file, 'utf8').includes('/**'));
    expect(commented).toEqual([]);
  });

  it("keeps the TSDoc in the declarations of the client's public API", () => {
    const client = readFileSync(path.join(DIST, 'src/client/client.d.ts'), 'utf8');
    expect(client).toMatch(/\/\*\*[^]*?\*\/\s*(?:export )?(?:declare )?class BrokerClient/);
    const documented = filesUnder(path.join(DIST, 'src'), '.d.ts').filter((file) => readFileSync(file, 'utf8').includes('/**'));
    expect(documented.length).toBeGreaterThan(100);
  });
});
