/**
 * Where the checkout keeps what script tests run: the stand-in AutoHotkey interpreter and
 * the fixture scripts. One place, so every test points at the same files.
 */
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
