import { encodingKey } from './encoding-names.js';

/**
 * Windows-1252, AutoHotkey's "ANSI" on Western Windows and the default code page of
 * queue files and legacy frames, decoded without iconv-lite: loading iconv-lite's tables
 * costs a process about 6.5 MB of memory, for a code page that is Latin-1 except for 32
 * bytes. The mapping is iconv-lite's, byte for byte (a unit test holds them together),
 * but for the five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D):
 * Windows itself (MultiByteToWideChar) and the WHATWG Encoding Standard read them as the
 * C1 controls U+0081... , which a Windows program writes them from, where iconv-lite
 * gives U+FFFD and loses which byte it was.
 *
 * Not `TextDecoder('windows-1252')`: Node 20 decodes that label as Latin-1, so `0x80`
 * would come out as U+0080 instead of the euro sign.
 */

/** The characters of bytes 0x80-0x9F; the rest of the code page is Latin-1. */
const HIGH_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** Latin-1 decodes bytes 0x80-0x9F to the C1 controls U+0080-U+009F; these are replaced (five by themselves). */
const C1 = /[\x80-\x9f]/;
const C1_ALL = /[\x80-\x9f]/g;

const highChar = (c: string): string => HIGH_C1[c.charCodeAt(0) - 0x80]!;

/** Names that mean Windows-1252, compared lowercased and without punctuation. */
const NAMES: ReadonlySet<string> = new Set(['windows1252', 'cp1252', 'win1252']);

/** True when `name` (any case or punctuation: `Windows-1252`, `CP1252`) is Windows-1252. */
export function isWindows1252(name: string): boolean {
  return NAMES.has(encodingKey(name));
}

/** The text of `buf[start, end)` read as Windows-1252. */
export function decodeWindows1252(buf: Buffer, start = 0, end = buf.length): string {
  const latin1 = buf.toString('latin1', start, end);
  return C1.test(latin1) ? latin1.replace(C1_ALL, highChar) : latin1;
}
