import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { QueueDecoder, type DecodedLine } from '../../file-ipc/decoder.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { asWindowsReads } from '../helpers/windows-1252-reference.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'queues');

interface ExpectedLine {
  text: string;
  start: number;
  end: number;
  cut?: string;
}
interface Fixture {
  file: string;
  encoding?: string;
  size: number;
  lines: ExpectedLine[];
  partial?: ExpectedLine;
}

const expected = (JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as { fixtures: Fixture[] }).fixtures;

const plain = (lines: DecodedLine[]): ExpectedLine[] =>
  lines.map((l) => (l.cut ? { text: l.text, start: l.start, end: l.end, cut: l.cut } : { text: l.text, start: l.start, end: l.end }));

/** Push `bytes` in chunks of `size` bytes (the last one shorter). */
function decodeInChunks(decoder: QueueDecoder, bytes: Buffer, size: number): DecodedLine[] {
  const out: DecodedLine[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...decoder.push(bytes.subarray(i, i + size)));
  return out;
}

describe('QueueDecoder on the AutoHotkey fixtures', () => {
  it('has every fixture listed in expected.json', () => {
    expect(expected.map((f) => f.file).sort()).toEqual([
      'bom-mid-file-utf16.txt', 'bom-mid-file.txt', 'partial-last-line.txt', 'v1-ansi-crlf.txt', 'v1-utf16-bom-crlf.txt',
      'v1-utf8-bom-crlf.txt', 'v2-ansi-lf.txt', 'v2-utf16-bom-lf.txt', 'v2-utf8-bom-lf.txt', 'v2-utf8-raw-lf.txt',
    ]);
  });

  for (const fx of expected) {
    // Chunk size 1 splits every character, every UTF-16 unit, every CRLF and every BOM.
    for (const chunk of [1, 2, 3, 5, 7, 64, 1 << 20]) {
      it(`${fx.file} in ${chunk}-byte reads gives the expected lines and byte ranges`, () => {
        const bytes = readFileSync(join(FIXTURES, fx.file));
        expect(bytes.length).toBe(fx.size);
        const d = new QueueDecoder({ defaultEncoding: fx.encoding });
        expect(plain(decodeInChunks(d, bytes, chunk))).toEqual(fx.lines);
        if (fx.partial) {
          expect(d.pendingBytes).toBe(fx.partial.end - fx.partial.start);
          expect(d.lineStart).toBe(fx.partial.start);
          expect(plain(d.flush())).toEqual([fx.partial]);
        } else {
          expect(d.pendingBytes).toBe(0);
        }
        expect(d.offset).toBe(bytes.length);
      });
    }
  }

  it('reports the encoding chosen by the BOM in each line state', () => {
    const bytes = readFileSync(join(FIXTURES, 'bom-mid-file.txt'));
    const lines = new QueueDecoder().push(bytes);
    expect(lines.map((l) => [l.state.encoding, l.state.source])).toEqual([
      ['windows-1252', 'default'], ['windows-1252', 'default'], ['utf-8', 'bom'], ['utf-8', 'bom'],
    ]);
    const u16 = new QueueDecoder().push(readFileSync(join(FIXTURES, 'bom-mid-file-utf16.txt')));
    expect(u16.map((l) => l.state.encoding)).toEqual(['utf-8', 'utf-8', 'utf-16le', 'utf-16le']);
  });

  it('decodes a BOM-less UTF-8 file as mojibake with the default code page (why encoding must be configured)', () => {
    const bytes = readFileSync(join(FIXTURES, 'v2-utf8-raw-lf.txt'));
    expect(new QueueDecoder().push(bytes)[1]!.text).toBe(iconv.decode(Buffer.from('jobs.note|Café ✓ 日本語 😀'), 'windows-1252'));
  });
});

describe('QueueDecoder splits', () => {
  it('keeps a UTF-8 character split across two reads intact', () => {
    const bytes = Buffer.from('a|Müller ✓😀\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new QueueDecoder({ defaultEncoding: 'utf-8' });
      const lines = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(lines.map((l) => l.text)).toEqual(['a|Müller ✓😀']);
      expect(lines[0]!.end).toBe(bytes.length);
    }
  });

  it('keeps a UTF-16LE code unit (and a surrogate pair) split across reads intact', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('a|€😀\r\nb|x\n', 'utf-16le')]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new QueueDecoder();
      const lines = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(plain(lines)).toEqual([
        { text: 'a|€😀', start: 0, end: 2 + 2 * 7 },
        { text: 'b|x', start: 16, end: 16 + 2 * 4 },
      ]);
    }
  });

  it('does not emit a line when a CRLF is split between reads, and drops the CR', () => {
    const d = new QueueDecoder();
    expect(d.push(Buffer.from('A|1\r'))).toEqual([]);
    expect(d.pendingBytes).toBe(4);
    expect(plain(d.push(Buffer.from('\nB|2\r\n')))).toEqual([
      { text: 'A|1', start: 0, end: 5 },
      { text: 'B|2', start: 5, end: 10 },
    ]);
  });

  it('ignores a UTF-16 newline pattern that straddles two code units', () => {
    // U+0A41 U+0100 is 41 0A 00 01 in UTF-16LE: "0A 00" at an odd offset is no newline.
    const text = 'x|\u0a41\u0100';
    const d = new QueueDecoder({ defaultEncoding: 'utf-16le' });
    expect(d.push(iconv.encode(`${text}\n`, 'utf-16le')).map((l) => l.text)).toEqual([text]);
  });

  it('waits for the rest of a BOM split across reads', () => {
    const d = new QueueDecoder();
    expect(d.push(Buffer.from([0xef]))).toEqual([]);
    expect(d.push(Buffer.from([0xbb]))).toEqual([]);
    const lines = d.push(Buffer.concat([Buffer.from([0xbf]), Buffer.from('J|ü\n')]));
    expect(plain(lines)).toEqual([{ text: 'J|ü', start: 0, end: 8 }]);
    expect(lines[0]!.state).toEqual({ encoding: 'utf-8', source: 'bom', midLine: false });
  });

  it('keeps a lone BOM pending on flush (nothing to take yet)', () => {
    const d = new QueueDecoder();
    d.push(Buffer.from([0xff, 0xfe]));
    expect(d.flush()).toEqual([]);
    expect(d.push(iconv.encode('a|b\n', 'utf-16le')).map((l) => [l.text, l.start, l.end])).toEqual([['a|b', 0, 10]]);
  });

  it('flushes a partial line, dropping a trailing CR, and goes on after it', () => {
    const d = new QueueDecoder();
    d.push(Buffer.from('A|1\r\nB|2\r'));
    expect(plain(d.flush())).toEqual([{ text: 'B|2', start: 5, end: 9, cut: 'flush' }]);
    expect(d.flush()).toEqual([]);
    expect(plain(d.push(Buffer.from('C|3\n')))).toEqual([{ text: 'C|3', start: 9, end: 13 }]);
  });

  it('cuts an overlong line into pieces and marks the last one', () => {
    const d = new QueueDecoder({ maxLineBytes: 16 });
    const long = 'T|' + 'x'.repeat(40);
    const lines = decodeInChunks(d, Buffer.from(`${long}\nok|1\n`), 5);
    expect(lines.map((l) => l.cut)).toEqual(['overflow', 'overflow', 'continuation', undefined]);
    expect(lines.slice(0, 3).map((l) => l.text).join('')).toBe(long);
    expect(lines[3]!.text).toBe('ok|1');
    expect(lines[1]!.state.midLine).toBe(true);
    expect(lines[3]!.state.midLine).toBe(false);
  });

  it('cuts an overlong line the same wherever the reads end: also when its newline comes in the read that takes it past the limit', () => {
    const long = 'T|' + 'x'.repeat(40);
    const bytes = Buffer.from(`${long}\nok|1\n`);
    for (const chunk of [1, 5, 16, 17, 30, 43, bytes.length]) {
      const lines = decodeInChunks(new QueueDecoder({ maxLineBytes: 16 }), bytes, chunk);
      expect(lines.map((l) => l.cut), `reads of ${chunk}`).toEqual(['overflow', 'overflow', 'continuation', undefined]);
      expect(lines.map((l) => l.text), `reads of ${chunk}`).toEqual([long.slice(0, 16), long.slice(16, 32), long.slice(32), 'ok|1']);
    }
  });
});

describe('QueueDecoder code pages', () => {
  it('decodes ASCII-only lines and lines with code-page bytes alike, in one chunk (Windows-1252, cp1251)', () => {
    const ansi = Buffer.concat([Buffer.from('a|plain\r\n'), iconv.encode('a|5 € “quoted” Café\r\n', 'windows-1252'), Buffer.from('a|plain again\n')]);
    expect(new QueueDecoder().push(ansi).map((l) => l.text)).toEqual(['a|plain', 'a|5 € “quoted” Café', 'a|plain again']);
    const cyr = Buffer.concat([Buffer.from('b|ok\n'), iconv.encode('b|Привет\n', 'cp1251')]);
    expect(new QueueDecoder({ defaultEncoding: 'cp1251' }).push(cyr).map((l) => l.text)).toEqual(['b|ok', 'b|Привет']);
  });

  it('decodes ASCII bytes by the code page where it does not keep ASCII (ISO 646-JP: 0x5C is ¥, 0x7E is ‾)', () => {
    const [line] = new QueueDecoder({ defaultEncoding: 'iso646jp' }).push(Buffer.from('c|C:\\jobs~1\n', 'latin1'));
    expect(line!.text).toBe('c|C:¥jobs‾1');
  });
});

describe('QueueDecoder without iconv-lite', () => {
  // Windows-1252 (the default) is decoded by its own table and UTF-8, UTF-16LE and
  // Latin-1 by Node: each line's text is what iconv-lite makes of the line's bytes (but
  // for Windows-1252's five undefined bytes, read as Windows reads them).
  for (const encoding of ['windows-1252', 'CP1252', 'utf-8', 'utf-16le', 'latin1']) {
    it(`decodes seeded ${encoding} lines as iconv-lite does`, () => {
      const rng = new Rng(encoding.length * 7 + encoding.charCodeAt(1));
      const unit = encoding === 'utf-16le' ? 2 : 1;
      const lines: Buffer[] = [];
      for (let i = 0; i < 400; i++) {
        // Any bytes but the newline (and, in UTF-16, whole code units).
        const raw = Buffer.from(Array.from({ length: rng.int(0, 24) * unit }, () => (rng.chance(0.7) ? rng.int(0x20, 0x7e) : rng.int(0x80, 0xff))));
        lines.push(Buffer.concat([raw, iconv.encode(rng.chance(0.5) ? '\r\n' : '\n', encoding)]));
      }
      const decoder = new QueueDecoder({ defaultEncoding: encoding });
      const bytes = Buffer.concat(lines);
      const got: DecodedLine[] = [];
      for (let at = 0; at < bytes.length; at += 97) got.push(...decoder.push(bytes.subarray(at, at + 97)));
      expect(got.map((l) => l.text)).toEqual(lines.map((l) => asWindowsReads(iconv.decode(l, encoding, { stripBOM: false }), l, encoding).replace(/\r?\n$/, '')));
    });
  }
});

describe('QueueDecoder resume', () => {
  it('resumes mid-file from a saved state chosen by a BOM', () => {
    const bytes = readFileSync(join(FIXTURES, 'v2-utf16-bom-lf.txt'));
    const all = new QueueDecoder().push(bytes);
    const second = all[1]!;
    const d = new QueueDecoder({ offset: second.end, state: second.state });
    expect(plain(d.push(bytes.subarray(second.end)))).toEqual(plain(all.slice(2)));
  });

  it('follows the configured code page when the saved state came from the default', () => {
    const d = new QueueDecoder({ defaultEncoding: 'cp1251', offset: 10, state: { encoding: 'windows-1252', source: 'default', midLine: false } });
    const [line] = d.push(iconv.encode('a|Привет\n', 'cp1251'));
    expect(line).toMatchObject({ text: 'a|Привет', start: 10, end: 19, state: { encoding: 'cp1251', source: 'default' } });
  });

  it('rejects an unknown encoding', () => {
    expect(() => new QueueDecoder({ defaultEncoding: 'no-such-code-page' })).toThrow(RangeError);
  });
});

describe("QueueDecoder lines' bytes", () => {
  it('keeps its own copy: a chunk the caller reuses at once changes no line', () => {
    const d = new QueueDecoder({ defaultEncoding: 'utf-8' });
    const chunk = Buffer.from('a|{"v":1}\nb|{"v":2}\nc|par');
    const lines = d.push(chunk);
    chunk.fill(0x78);
    expect(lines.map((l) => [l.text, l.bytes!.toString('utf8', l.textStart, l.textEnd)])).toEqual([
      ['a|{"v":1}', 'a|{"v":1}'],
      ['b|{"v":2}', 'b|{"v":2}'],
    ]);
    const next = Buffer.from('tial\r\n');
    const [rest] = d.push(next);
    next.fill(0x78);
    expect([rest!.text, rest!.bytes!.toString('utf8', rest!.textStart, rest!.textEnd)]).toEqual(['c|partial', 'c|partial']);
  });

  it('says how its bytes read without decoding, by encoding (and by BOM)', () => {
    const bytesAre = (encoding: string, bytes: Buffer): (string | undefined)[] => new QueueDecoder({ defaultEncoding: encoding }).push(bytes).map((l) => l.bytesAre);
    expect(bytesAre('utf-8', Buffer.from('a|1\n'))).toEqual(['utf8']);
    expect(bytesAre('windows-1252', Buffer.from('a|1\n'))).toEqual(['ascii']);
    expect(bytesAre('latin1', Buffer.from('a|1\n'))).toEqual(['ascii']);
    expect(bytesAre('cp1251', Buffer.from('a|1\n'))).toEqual(['ascii']);
    expect(bytesAre('shift_jis', Buffer.from('a|1\n'))).toEqual(['ascii']);
    expect(bytesAre('utf-16le', iconv.encode('a|1\n', 'utf-16le'))).toEqual([undefined]);
    // Code pages whose ASCII bytes are other characters, or escapes: decoded, never read as bytes.
    for (const encoding of ['utf7', 'iso646jp', 'cp864']) expect(bytesAre(encoding, Buffer.from('a|1\n')), encoding).toEqual([undefined]);
    // A BOM switches: a code-page file rewritten as UTF-8, then as UTF-16.
    const mixed = Buffer.concat([Buffer.from('a|1\n'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('b|2\n'), Buffer.from([0xff, 0xfe]), iconv.encode('c|3\n', 'utf-16le')]);
    expect(bytesAre('windows-1252', mixed)).toEqual(['ascii', 'utf8', undefined]);
  });
});
