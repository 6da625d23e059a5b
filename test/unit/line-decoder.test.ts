import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { LineDecoder, MAX_LINE_CHARS } from '../../bridge/supervisor/line-decoder.js';

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
});
