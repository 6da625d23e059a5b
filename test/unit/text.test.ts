import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LEGACY_ENCODING, decodeFrameText, isKnownEncoding } from '../../src/protocol/text.js';

describe('decodeFrameText', () => {
  it('passes valid UTF-8 through, including multi-byte characters', () => {
    const text = '{"msg":"café ☕ Grüße 😀 Привет"}';
    expect(decodeFrameText(Buffer.from(text, 'utf8'))).toBe(text);
  });

  it('decodes invalid UTF-8 as windows-1252 by default', () => {
    expect(DEFAULT_LEGACY_ENCODING).toBe('windows-1252');
    // "caf\xe9": a lone 0xE9 is not valid UTF-8; in Windows-1252 it is é.
    expect(decodeFrameText(Buffer.from([0x63, 0x61, 0x66, 0xe9]))).toBe('café');
    expect(decodeFrameText(Buffer.from('{"name":"caf\xe9"}', 'latin1'))).toBe('{"name":"café"}');
  });

  it('uses Windows-1252 rather than Latin-1 for 0x80-0x9F', () => {
    // 0x80 is € and 0x93/0x94 are curly quotes in Windows-1252 (C1 controls in Latin-1).
    expect(decodeFrameText(Buffer.from([0x80, 0x20, 0x93, 0x78, 0x94]))).toBe('€ \u201cx\u201d');
  });

  it('decodes with another configured code page (cp1251)', () => {
    const bytes = iconv.encode('{"msg":"Привет"}', 'cp1251');
    expect(bytes.length).toBe('{"msg":"Привет"}'.length); // single-byte encoding
    expect(decodeFrameText(bytes, 'cp1251')).toBe('{"msg":"Привет"}');
    // The same bytes under the default code page give something else entirely.
    expect(decodeFrameText(bytes)).not.toContain('Привет');
  });

  it('ignores the legacy encoding when the text is valid UTF-8', () => {
    expect(decodeFrameText(Buffer.from('Привет', 'utf8'), 'cp1251')).toBe('Привет');
  });

  it('strips a UTF-8 byte order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect(decodeFrameText(body)).toBe('{"a":1}');
    expect(JSON.parse(decodeFrameText(body))).toEqual({ a: 1 });
  });

  it('strips only one BOM and leaves a BOM-less text alone', () => {
    const two = Buffer.from('\ufeff\ufeffx', 'utf8');
    expect(decodeFrameText(two)).toBe('\ufeffx');
    expect(decodeFrameText(Buffer.from('x\ufeff', 'utf8'))).toBe('x\ufeff');
  });

  it('decodes the empty body to the empty string', () => {
    expect(decodeFrameText(Buffer.alloc(0))).toBe('');
  });

  it('looks only at the bytes of a subarray view', () => {
    // Frame bodies are views into a larger receive buffer; invalid bytes outside the
    // view must not switch the decoding.
    const big = Buffer.from([0xff, ...Buffer.from('héllo', 'utf8'), 0xff]);
    expect(decodeFrameText(big.subarray(1, big.length - 1))).toBe('héllo');
  });
});

describe('isKnownEncoding', () => {
  it.each(['windows-1252', 'cp1251', 'latin1', 'utf8', 'CP1252'])('knows %s', (name) => {
    expect(isKnownEncoding(name)).toBe(true);
  });

  it.each(['klingon', '', 'windows-9999'])('does not know %j', (name) => {
    expect(isKnownEncoding(name)).toBe(false);
  });
});
