/**
 * Text placed at an offset of a larger buffer, with other bytes (`}`) on both sides: how
 * a frame sits in a socket read. For tests of code that reads `buf[start..end)`.
 */
export function placed(text: string, at: number): { buf: Buffer; start: number; end: number } {
  const body = Buffer.from(text, 'utf8');
  const buf = Buffer.alloc(at + body.length + 5, 0x7d);
  body.copy(buf, at);
  return { buf, start: at, end: at + body.length };
}
