/**
 * The Windows-1252 table (src/protocol/windows-1252.ts) against iconv-lite, which queue
 * files, supervised scripts' output and legacy frames were decoded with before: the same
 * text for every byte, for seeded random buffers and slices of them, and for every name
 * taken as Windows-1252.
 */
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { decodeWindows1252, isWindows1252 } from '../../src/protocol/windows-1252.js';
import { Rng } from '../helpers/fuzz/prng.js';

/** The bytes Windows-1252 leaves undefined: iconv-lite reads U+FFFD, Windows the C1 control of the same number. */
const UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** What each byte decodes to: iconv-lite's character, or Windows' for the five undefined. */
const EXPECTED = Array.from({ length: 256 }, (_, b) => (UNDEFINED.has(b) ? String.fromCharCode(b) : iconv.decode(Buffer.from([b]), 'windows-1252')));
const expected = (buf: Buffer): string => [...buf].map((b) => EXPECTED[b]).join('');

describe('decodeWindows1252', () => {
  it('decodes each of the 256 bytes as iconv-lite does, the five undefined as Windows does (U+0081...)', () => {
    for (let byte = 0; byte < 256; byte++) {
      const one = Buffer.from([byte]);
      expect([byte, decodeWindows1252(one)]).toEqual([byte, UNDEFINED.has(byte) ? String.fromCharCode(byte) : iconv.decode(one, 'windows-1252')]);
    }
    expect(decodeWindows1252(Buffer.from([0x80, 0x41, 0x9f, 0xe9]))).toBe('€AŸé');
    // Windows (MultiByteToWideChar, code page 1252) and the WHATWG Encoding Standard; iconv-lite had U+FFFD.
    expect(decodeWindows1252(Buffer.from([0x81, 0x8d, 0x8f, 0x90, 0x9d]))).toBe('\u0081\u008d\u008f\u0090\u009d');
  });

  it('decodes seeded random buffers, whole and sliced, byte by byte as the table above', () => {
    const rng = new Rng(1252);
    for (let i = 0; i < 2000; i++) {
      // Mostly ASCII with some high bytes, as queue lines are; now and then all random.
      const n = rng.int(0, 80);
      const buf = rng.chance(0.2) ? rng.bytes(n) : Buffer.from(Array.from({ length: n }, () => (rng.chance(0.1) ? rng.int(0x80, 0xff) : rng.int(0x20, 0x7e))));
      const start = rng.int(0, n);
      const end = rng.int(start, n);
      expect(decodeWindows1252(buf)).toBe(expected(buf));
      expect(decodeWindows1252(buf, start, end)).toBe(expected(buf.subarray(start, end)));
    }
  });
});

describe('isWindows1252', () => {
  it('takes the names iconv-lite gives Windows-1252, in any case and punctuation', () => {
    for (const name of ['windows-1252', 'Windows-1252', 'WINDOWS1252', 'cp1252', 'CP-1252', 'win1252']) {
      expect([name, isWindows1252(name)]).toEqual([name, true]);
      expect(iconv.decode(Buffer.from([0x80]), name)).toBe('€');
    }
  });

  it('does not take other code pages', () => {
    for (const name of ['windows-1251', 'cp1250', 'latin1', 'iso-8859-1', 'utf-8', 'cp12520', '1252', '']) {
      expect([name, isWindows1252(name)]).toEqual([name, false]);
    }
  });
});
