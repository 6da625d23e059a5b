import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { LineDecoder, MAX_LINE_CHARS } from '../../bridge/supervisor/line-decoder.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { asWindowsReads } from '../helpers/windows-1252-reference.js';

const texts = (lines: { text: string }[]): string[] => lines.map((l) => l.text);

describe('LineDecoder', () => {
  it('splits on LF and CRLF and keeps a partial line until its newline', () => {
    const d = new LineDecoder('utf-8');
    expect(texts(d.push(Buffer.from('one\r\ntwo\nthr')))).toEqual(['one', 'two']);
    expect(texts(d.push(Buffer.from('ee\n')))).toEqual(['three']);
  });

  it('decodes a UTF-8 character split across reads', () => {
    const d = new LineDecoder('utf-8');
    const bytes = Buffer.from('Müller ✓\n');
    const out = [...d.push(bytes.subarray(0, 2)), ...d.push(bytes.subarray(2, 9)), ...d.push(bytes.subarray(9))];
    expect(texts(out)).toEqual(['Müller ✓']);
  });

  it('decodes ANSI (cp1252) output, as AutoHotkey writes by default', () => {
    const d = new LineDecoder('cp1252');
    expect(texts(d.push(iconv.encode('Café Müller – 5€\r\n', 'cp1252')))).toEqual(['Café Müller – 5€']);
  });

  it('decodes UTF-16LE with the newline inside a code unit pair', () => {
    const d = new LineDecoder('utf-16le');
    const bytes = iconv.encode('a€\nb\n', 'utf-16le');
    expect(texts([...d.push(bytes.subarray(0, 3)), ...d.push(bytes.subarray(3))])).toEqual(['a€', 'b']);
  });

  it('reads "UTF-16" as little endian, as AutoHotkey does, and hands over a short line at once', () => {
    for (const name of ['UTF-16', 'utf16', 'Utf-16']) {
      const d = new LineDecoder(name);
      expect(d.push(Buffer.from('ok\n', 'utf16le')), name).toEqual([{ text: 'ok', truncated: false }]);
      expect(d.push(Buffer.from('\ufeffé\r\n', 'utf16le')), name).toEqual([{ text: '\ufeffé', truncated: false }]);
    }
    expect(new LineDecoder('UTF-16').push(Buffer.from('\ufeffhi\n', 'utf16le'))).toEqual([{ text: 'hi', truncated: false }]);
  });

  it('returns an unterminated last line at end()', () => {
    const d = new LineDecoder('utf-8');
    expect(d.push(Buffer.from('no newline'))).toEqual([]);
    expect(texts(d.end())).toEqual(['no newline']);
  });

  it('cuts lines longer than the limit and flags them', () => {
    const d = new LineDecoder('utf-8');
    const out = d.push(Buffer.from('x'.repeat(MAX_LINE_CHARS + 10) + '\nnext\n'));
    expect(out[0]!.text.length).toBe(MAX_LINE_CHARS);
    expect(out[0]!.truncated).toBe(true);
    expect(out[1]).toEqual({ text: 'next', truncated: false });
  });

  it('survives invalid UTF-8 without losing the following lines', () => {
    const d = new LineDecoder('utf-8');
    const out = d.push(Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a]), Buffer.from('@pub ok 1\n')]));
    expect(out).toHaveLength(2);
    expect(out[1]!.text).toBe('@pub ok 1');
  });

  it('rejects an unknown encoding', () => {
    expect(() => new LineDecoder('klingon')).toThrow(/unknown encoding/);
  });

  /** The lines iconv-lite's streaming decoder (as LineDecoder used for every encoding) made of these reads; Windows-1252's undefined bytes as Windows reads them. */
  function iconvLines(encoding: string, reads: Buffer[]): string[] {
    const decoder = iconv.getDecoder(encoding);
    const text = asWindowsReads(reads.map((r) => decoder.write(r)).join('') + (decoder.end() ?? ''), Buffer.concat(reads), encoding);
    const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  // UTF-8, UTF-16LE and Latin-1 by Node's decoders, Windows-1252 by its table: the same
  // lines as iconv-lite's, for seeded output cut into reads at random places (a BOM, a
  // character or a code unit split between two reads included).
  for (const encoding of ['utf-8', 'utf8', 'utf-16le', 'ucs2', 'latin1', 'cp1252', 'windows-1252']) {
    it(`gives the lines iconv-lite gave for ${encoding} output in random reads`, () => {
      const rng = new Rng(encoding.length * 31 + encoding.charCodeAt(0));
      const sample = 'plain ascii, Café Müller – 5€ “q” Привет ✓ 𝄞 \r\n@pub ok 1\n';
      for (let run = 0; run < 300; run++) {
        const parts: Buffer[] = [];
        if (rng.chance(0.3)) parts.push(iconv.encode('\ufeff', encoding));
        for (let i = rng.int(0, 6); i > 0; i--) {
          parts.push(rng.chance(0.7) ? iconv.encode(sample.slice(rng.int(0, sample.length)), encoding) : rng.bytes(rng.int(0, 12)));
        }
        const bytes = Buffer.concat(parts);
        const reads: Buffer[] = [];
        for (let at = 0; at < bytes.length; ) {
          const n = rng.int(1, 9);
          reads.push(bytes.subarray(at, at + n));
          at += n;
        }
        const d = new LineDecoder(encoding);
        const got = [...reads.flatMap((r) => d.push(r)), ...d.end()].map((l) => l.text);
        expect(got).toEqual(iconvLines(encoding, reads));
      }
    });
  }
});
