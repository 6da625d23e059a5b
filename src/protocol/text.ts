import { isUtf8 } from 'node:buffer';
import { nodeEncodingOf } from './encoding-names.js';
import { decodeWindows1252, isWindows1252 } from './windows-1252.js';

/** iconv-lite's API, for modules that decode with it through {@link iconvLite}. */
export type Iconv = typeof import('iconv-lite');

let iconvModule: Iconv | undefined;

/**
 * iconv-lite, loaded on first use: its code-page tables cost a process about 6.5 MB of
 * memory, and most processes only ever see UTF-8 and Windows-1252, which are decoded
 * without it. Synchronous, so decoding stays synchronous; `node:module`, which only this
 * needs, is fetched here too rather than imported (its ES-module facade costs a process
 * memory). Every module that needs iconv-lite gets it from here, so that the executable's
 * bundle has one place to rewrite.
 */
export function iconvLite(): Iconv {
  iconvModule ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('iconv-lite') as Iconv;
  return iconvModule;
}

/** Default code page for text that is not valid UTF-8: what AutoHotkey v1 sends as "ANSI". */
export const DEFAULT_LEGACY_ENCODING = 'windows-1252';

/** True when iconv-lite knows the encoding name (e.g. `windows-1252`, `cp1251`, `latin1`). */
export function isKnownEncoding(name: string): boolean {
  if (isWindows1252(name) || nodeEncodingOf(name) !== undefined) return true;
  return iconvLite().encodingExists(name);
}

/**
 * Decode a frame body. UTF-8 is the contract; older AutoHotkey clients send their ANSI
 * code page instead, so text that is not valid UTF-8 is decoded with `legacyEncoding`
 * rather than turned into U+FFFD replacement characters.
 */
export function decodeFrameText(body: Buffer, legacyEncoding: string = DEFAULT_LEGACY_ENCODING): string {
  const text = isUtf8(body) ? body.toString('utf8') : isWindows1252(legacyEncoding) ? decodeWindows1252(body) : iconvLite().decode(body, legacyEncoding);
  // A BOM is not JSON whitespace; tolerate one from clients that add it.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
