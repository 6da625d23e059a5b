/**
 * Where the checkout keeps what script tests run (the stand-in AutoHotkey interpreter and
 * the fixture scripts), and the config file `bridge up` tests write. One place, so every
 * test points at the same files.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root folder. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The stand-in interpreter (fixtures/fake-ahk; its README says what it understands). */
export const FAKE_AHK = path.join(ROOT, 'fixtures', 'fake-ahk', 'AutoHotkey.mjs');

/** `fixtures/scripts/<name>.ahk`, absolute. */
export function scriptFixture(name: string): string {
  return path.join(ROOT, 'fixtures', 'scripts', `${name}.ahk`);
}

/**
 * Write `config` to `<dir>/bridge.config.json` and return that path: an object as JSON, a
 * string as it is (for a file that is broken on purpose).
 */
export function writeBridgeConfig(dir: string, config: unknown): string {
  const file = path.join(dir, 'bridge.config.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}
