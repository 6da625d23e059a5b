import { describe, expect, it } from 'vitest';
import { recogniseMisdirected, requestLineExcerpt } from '../../src/broker/misdirected.js';
import { cutName, listedNames, safeExcerpt, SHOWN_NAME_CHARS, shownName } from '../../src/protocol/excerpt.js';

const header = (text: string | number[]): number => Buffer.from(text as string).readUInt32BE(0);

describe('safeExcerpt', () => {
  it('escapes control characters, DEL, C1, line separators and lone surrogates', () => {
    expect(safeExcerpt('a\nb\r\tc\u0000\u001b[31m\u007f\u0085\u2028')).toBe('a\\nb\\r\\tc\\u0000\\u001b[31m\\u007f\\u0085\\u2028');
    expect(safeExcerpt('x\ud800y\udc00z')).toBe('x\\ud800y\\udc00z');
    expect(safeExcerpt('ok 😀 é')).toBe('ok 😀 é');
  });

  it('cuts after maxChars with "...", never inside a surrogate pair', () => {
    expect(safeExcerpt('abcdef', 4)).toBe('abcd...');
    expect(safeExcerpt('abcd', 4)).toBe('abcd');
    expect(safeExcerpt('abc😀', 4)).toBe('abc...');
    expect(safeExcerpt('abc😀', 5)).toBe('abc😀');
    expect(safeExcerpt('ab😀c', 3)).toBe('ab...');
    expect(safeExcerpt('')).toBe('');
  });
});

describe('shownName', () => {
  it('shows a name up to SHOWN_NAME_CHARS as it is, but for its control characters', () => {
    expect(shownName('jobs.a*')).toBe('jobs.a*');
    expect(shownName('jobs.a*', true)).toBe('"jobs.a*"');
    expect(shownName('a\u0000b', true)).toBe('"a\\u0000b"');
    expect(shownName('x'.repeat(SHOWN_NAME_CHARS), true)).toBe(`"${'x'.repeat(SHOWN_NAME_CHARS)}"`);
  });

  it('cuts a longer one and says its length, outside the quotes', () => {
    expect(shownName('x'.repeat(SHOWN_NAME_CHARS + 1))).toBe(`${'x'.repeat(SHOWN_NAME_CHARS)}... (${SHOWN_NAME_CHARS + 1} characters)`);
    expect(shownName('y'.repeat(70_000), true)).toBe(`"${'y'.repeat(SHOWN_NAME_CHARS)}..." (70000 characters)`);
  });
});

describe('cutName and listedNames', () => {
  it('keeps a name up to SHOWN_NAME_CHARS as sent, cuts a longer one, never inside a surrogate pair', () => {
    expect(cutName('a\u0007b')).toBe('a\u0007b');
    expect(cutName('x'.repeat(SHOWN_NAME_CHARS))).toBe('x'.repeat(SHOWN_NAME_CHARS));
    expect(cutName('x'.repeat(SHOWN_NAME_CHARS + 1))).toBe(`${'x'.repeat(SHOWN_NAME_CHARS)}...`);
    expect(cutName(`${'x'.repeat(SHOWN_NAME_CHARS - 1)}😀`)).toBe(`${'x'.repeat(SHOWN_NAME_CHARS - 1)}...`);
  });

  it('lists five and counts the rest', () => {
    expect(listedNames(['a', 'b'], (s) => s.toUpperCase())).toBe('A, B');
    expect(listedNames(['1', '2', '3', '4', '5', '6', '7'], (s) => s)).toBe('1, 2, 3, 4, 5, and 2 more');
  });
});

describe('recogniseMisdirected', () => {
  it('knows the HTTP methods by their first four bytes', () => {
    for (const m of ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT']) {
      expect(recogniseMisdirected(header(`${m} /`))).toEqual({ kind: 'http', method: m });
    }
    expect(header('GET ')).toBe(1195725856); // what the log used to call "declared"
  });

  it('knows a TLS handshake record of any 3.x version', () => {
    for (const minor of [0, 1, 3, 4]) expect(recogniseMisdirected(header([0x16, 0x03, minor, 0x02]))).toEqual({ kind: 'tls' });
    expect(recogniseMisdirected(header([0x17, 0x03, 0x01, 0x00]))).toBeNull();
    expect(recogniseMisdirected(header([0x16, 0x02, 0x01, 0x00]))).toBeNull();
  });

  it('leaves other headers alone', () => {
    for (const h of ['GETX', 'get ', 'TRACE', 'PRI ']) expect(recogniseMisdirected(header(h))).toBeNull();
    expect(recogniseMisdirected(0xffffffff)).toBeNull();
  });

  it('shows the request line, shortened and escaped', () => {
    expect(requestLineExcerpt(Buffer.from('GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('GET /a?b=1 HTTP/1.1');
    expect(requestLineExcerpt(Buffer.from(`GET /${'x'.repeat(300)}`))).toBe(`GET /${'x'.repeat(95)}...`);
    expect(requestLineExcerpt(Buffer.from('GET /\u001b[2J HTTP/1.1\n'))).toBe('GET /\\u001b[2J HTTP/1.1');
  });
});
