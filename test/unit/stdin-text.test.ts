import { describe, expect, it } from 'vitest';
import { StdinLineSplitter, stdinLines } from '../../bridge/stdin-lines.js';
import { stdinText } from '../../bridge/stdin-text.js';

/** `bytes` fed to stdinLines in pieces cut at `cuts`, and the lines it yields. */
async function linesOf(bytes: Buffer, cuts: number[] = []): Promise<string[]> {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(at, cut));
    at = cut;
  }
  async function* input(): AsyncGenerator<Buffer> {
    for (const p of pieces) yield p;
  }
  const out: string[] = [];
  for await (const line of stdinLines(input())) out.push(line);
  return out;
}

const cp1252 = (text: string): Buffer =>
  Buffer.from(
    [...text].map((c) => ({ '€': 0x80, é: 0xe9, ü: 0xfc, '–': 0x96 })[c] ?? c.charCodeAt(0)),
  );
const utf16be = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16();

describe('stdinText', () => {
  it('reads UTF-8 as UTF-8, without its byte order mark', () => {
    expect(stdinText(Buffer.from('\uFEFF{"t":"5€ é"}', 'utf8'))).toBe('{"t":"5€ é"}');
  });

  it('reads bytes that are not UTF-8 as Windows-1252, as the broker reads an AutoHotkey v1 frame', () => {
    expect(stdinText(cp1252('"Café – 5€"'))).toBe('"Café – 5€"');
  });

  it('drops a UTF-8 byte order mark before choosing: followed by bytes that are not UTF-8, the rest is Windows-1252', () => {
    expect(stdinText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), cp1252('"5€"')]))).toBe('"5€"');
  });

  it('reads UTF-16 by its byte order mark, either byte order', () => {
    expect(stdinText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"t":"5€ 😀"}\r\n', 'utf16le')]))).toBe('{"t":"5€ 😀"}\r\n');
    expect(stdinText(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be('"é"')]))).toBe('"é"');
  });
});

describe('stdinLines', () => {
  const mixed = Buffer.concat([Buffer.from('{"n":1}\r\n"é in UTF-8"\n', 'utf8'), cp1252('"é in 1252 – 5€"\r\n'), Buffer.from('\n"last, no newline"', 'utf8')]);
  const expected = ['{"n":1}', '"é in UTF-8"', '"é in 1252 – 5€"', '', '"last, no newline"'];

  it('splits on \\n and \\r\\n and decodes each line on its own', async () => {
    expect(await linesOf(mixed)).toEqual(expected);
  });

  it('gives the same lines however the bytes are cut into reads', async () => {
    for (let cut = 1; cut < mixed.length; cut++) expect(await linesOf(mixed, [cut]), `cut at ${cut}`).toEqual(expected);
    expect(await linesOf(mixed, Array.from({ length: mixed.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it('reads UTF-16 with its mark, cut anywhere, even inside a character or the mark', async () => {
    for (const [mark, encode] of [
      [Buffer.from([0xff, 0xfe]), (t: string) => Buffer.from(t, 'utf16le')],
      [Buffer.from([0xfe, 0xff]), utf16be],
    ] as const) {
      const bytes = Buffer.concat([mark, encode('{"n":1}\r\n"5€ 😀"\n"end"')]);
      for (let cut = 1; cut < bytes.length; cut++) expect(await linesOf(bytes, [cut]), `cut at ${cut}`).toEqual(['{"n":1}', '"5€ 😀"', '"end"']);
    }
  });

  it('ends a line at a lone \\r too, as readline did, and at a \\r\\n cut between two reads', async () => {
    const bytes = Buffer.from('a\rb\r\nc\n\rd\r', 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) expect(await linesOf(bytes, cut === 0 ? [] : [cut]), `cut at ${cut}`).toEqual(['a', 'b', 'c', '', 'd']);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\rb\r\nc', 'utf16le')]);
    for (let cut = 1; cut < utf16.length; cut++) expect(await linesOf(utf16, [cut]), `cut at ${cut}`).toEqual(['a', 'b', 'c']);
  });

  it('drops a UTF-8 mark cut over reads, and reads a line after it in Windows-1252 when it is not UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), cp1252('"5€"\n'), Buffer.from('"é"', 'utf8')]);
    for (let cut = 1; cut < bytes.length; cut++) expect(await linesOf(bytes, [cut]), `cut at ${cut}`).toEqual(['"5€"', '"é"']);
  });

  it('gives a short first line as soon as it ends, unless its bytes may still begin a byte order mark', () => {
    expect(new StdinLineSplitter().push(Buffer.from('7\n'))).toEqual(['7']);
    expect(new StdinLineSplitter().push(Buffer.from('{}\n'))).toEqual(['{}']);
    const marked = new StdinLineSplitter();
    expect(marked.push(Buffer.from([0xef, 0xbb]))).toEqual([]);
    expect(marked.push(Buffer.from([0xbf, 0x37, 0x0a]))).toEqual(['7']);
    const notMarked = new StdinLineSplitter();
    expect(notMarked.push(Buffer.from([0xef]))).toEqual([]);
    expect(notMarked.push(Buffer.from([0x0a]))).toEqual(['ï']);
  });

  it('gives a lone newline as one empty line, and a one-byte input as its line', async () => {
    expect(await linesOf(Buffer.from('\n'))).toEqual(['']);
    expect(await linesOf(Buffer.from('\r\n'))).toEqual(['']);
    expect(await linesOf(Buffer.from('7\n'))).toEqual(['7']);
  });

  it('joins one long line read in many pieces, and yields nothing for no input', async () => {
    const long = Buffer.from(`"${'x'.repeat(200_000)}"\n`, 'utf8');
    const cuts = Array.from({ length: 199 }, (_, i) => (i + 1) * 1000);
    expect(await linesOf(long, cuts)).toEqual([`"${'x'.repeat(200_000)}"`]);
    expect(await linesOf(Buffer.alloc(0))).toEqual([]);
    expect(await linesOf(Buffer.from('7'))).toEqual(['7']);
  });
});
