/**
 * `copyBytes` (src/protocol/buffer-views.ts) copies as `Buffer#copy` does, byte for byte
 * and with the same count, for every length around its word-copy bound, at every
 * alignment, between buffers that take turns in its view caches, out of views into
 * larger buffers, and where `Buffer#copy` would cut the copy short.
 */
import { describe, expect, it } from 'vitest';
import { BufferViews, copyBytes, MAX_VIEWED_BYTES, MAX_WORD_COPY } from '../../src/protocol/buffer-views.js';

/** `n` bytes of a pattern that differs at every position and per `seed`. */
function patterned(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return b;
}

/** Copy with both and compare the targets whole (so nothing outside the range changed). */
function expectSameCopy(source: Buffer, start: number, end: number, targetLength: number, at: number): void {
  const want = Buffer.alloc(targetLength, 0xee);
  const got = Buffer.alloc(targetLength, 0xee);
  const wantCount = source.copy(want, at, start, end);
  const gotCount = copyBytes(source, start, end, got, at);
  const label = `source ${source.length} [${start}, ${end}) -> target ${targetLength} at ${at}`;
  expect(gotCount, label).toBe(wantCount);
  expect(got.equals(want), label).toBe(true);
}

describe('copyBytes', () => {
  it('copies every length up to past the word-copy bound, at every alignment of both ends', () => {
    const source = patterned(400, 1);
    for (let n = 0; n <= MAX_WORD_COPY + 9; n++) {
      for (let start = 0; start < 4; start++) for (let at = 0; at < 4; at++) expectSameCopy(source, 3 + start, 3 + start + n, n + 12, at + 2);
    }
  });

  it('copies between buffers that take turns, each read and written through its own view', () => {
    const sources = [patterned(300, 2), patterned(64 * 1024, 3), patterned(50, 4)];
    const targets = [Buffer.alloc(500), Buffer.alloc(64 * 1024), Buffer.alloc(200)];
    for (let round = 0; round < 30; round++) {
      const source = sources[round % 3]!;
      const target = targets[(round * 7) % 3]!;
      const n = 1 + ((round * 13) % Math.min(source.length, target.length, 120));
      const before = Buffer.from(target);
      expect(copyBytes(source, 0, n, target, 1)).toBe(Math.min(n, target.length - 1));
      source.copy(before, 1, 0, n);
      expect(target.equals(before), `round ${round}`).toBe(true);
    }
  });

  it('reads a Buffer that is a view into a larger one, and writes into such a view, at their own offsets', () => {
    const whole = patterned(1000, 5);
    const source = whole.subarray(37, 437);
    const wholeTarget = Buffer.alloc(1000, 0xee);
    const target = wholeTarget.subarray(101, 301);
    expect(copyBytes(source, 10, 90, target, 5)).toBe(80);
    expect(target.subarray(5, 85).equals(whole.subarray(47, 127))).toBe(true);
    expect(wholeTarget.subarray(0, 106).every((b) => b === 0xee)).toBe(true);
    expect(wholeTarget.subarray(186).every((b) => b === 0xee)).toBe(true);
  });

  it('does what Buffer#copy does where that cuts the copy short or copies nothing', () => {
    const source = patterned(100, 6);
    expectSameCopy(source, 0, 40, 30, 0); // the target is too short: 30 bytes
    expectSameCopy(source, 0, 40, 30, 25); // 5 bytes
    expectSameCopy(source, 90, 140, 100, 0); // past the source's end: 10 bytes
    expectSameCopy(source, 20, 20, 10, 3); // nothing
    expectSameCopy(source, 30, 10, 40, 0); // an end before the start: nothing
  });

  it('copies out of and into buffers larger than the views kept', () => {
    const large = patterned(MAX_VIEWED_BYTES + 4096, 7);
    expectSameCopy(large, MAX_VIEWED_BYTES + 5, MAX_VIEWED_BYTES + 105, 300, 3);
    const target = Buffer.alloc(MAX_VIEWED_BYTES + 4096);
    expect(copyBytes(patterned(64, 8), 0, 64, target, MAX_VIEWED_BYTES + 1)).toBe(64);
    expect(target.subarray(MAX_VIEWED_BYTES + 1, MAX_VIEWED_BYTES + 65).equals(patterned(64, 8))).toBe(true);
  });
});

describe('BufferViews', () => {
  it('gives the same view for the same buffer, a new one for another, and keeps none of a buffer past the bound', () => {
    const views = new BufferViews();
    const a = Buffer.alloc(16);
    const b = Buffer.alloc(16);
    const va = views.of(a);
    expect(views.of(a)).toBe(va);
    expect(views.of(b)).not.toBe(va);
    expect(views.of(a)).not.toBe(va); // b took its place
    const large = Buffer.alloc(MAX_VIEWED_BYTES + 1);
    const vl = views.of(large);
    expect(vl.byteLength).toBe(large.length);
    expect(views.of(large)).not.toBe(vl);
    const slice = Buffer.alloc(64).subarray(8, 40);
    const vs = views.of(slice);
    expect([vs.byteOffset, vs.byteLength]).toEqual([slice.byteOffset, 32]);
  });
});
