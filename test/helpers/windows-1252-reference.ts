/**
 * iconv-lite's Windows-1252 text made as Windows reads it: iconv-lite decodes the five
 * undefined bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) as U+FFFD, Windows as U+0081... A
 * single-byte code page gives one character per byte, so the byte of each U+FFFD is the
 * one at the same index.
 */
import { isWindows1252 } from '../../src/protocol/windows-1252.js';

/** `text` (iconv-lite's decoding of `bytes` in `encoding`) with Windows' characters for the undefined bytes. */
export function asWindowsReads(text: string, bytes: Uint8Array, encoding: string): string {
  if (!isWindows1252(encoding) || !text.includes('\ufffd')) return text;
  if (text.length !== bytes.length) throw new Error('a Windows-1252 text has one character per byte');
  let out = '';
  for (let i = 0; i < text.length; i++) out += text[i] === '\ufffd' ? String.fromCharCode(bytes[i]!) : text[i];
  return out;
}
