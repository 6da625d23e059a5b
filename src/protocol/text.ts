import { isUtf8 } from 'node:buffer';

type Iconv = typeof import('iconv-lite');

let iconvModule: Iconv | undefined;

/**
 * iconv-lite, loaded on first use: its code-page tables cost a broker about 5 MB of memory,
 * and most brokers only ever see UTF-8 (a frame that is not, or a named encoding, loads it).
 * Synchronous, so decoding stays synchronous; `node:module`, which only this needs, is
 * fetched here too rather than imported (its ES-module facade costs a process memory).
 */
function iconv(): Iconv {
  iconvModule ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('iconv-lite') as Iconv;
  return iconvModule;
}

/** Default code page for text that is not valid UTF-8: what AutoHotkey v1 sends as "ANSI". */
export const DEFAULT_LEGACY_ENCODING = 'windows-1252';

/** True when iconv-lite knows the encoding name (e.g. `windows-1252`, `cp1251`, `latin1`). */
export function isKnownEncoding(name: string): boolean {
  return iconv().encodingExists(name);
}

/**
 * Decode a frame body. UTF-8 is the contract; older AutoHotkey clients send their ANSI
 * code page instead, so text that is not valid UTF-8 is decoded with `legacyEncoding`
 * rather than turned into U+FFFD replacement characters.
 */
export function decodeFrameText(body: Buffer, legacyEncoding: string = DEFAULT_LEGACY_ENCODING): string {
  const text = isUtf8(body) ? body.toString('utf8') : iconv().decode(body, legacyEncoding);
  // A BOM is not JSON whitespace; tolerate one from clients that add it.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
