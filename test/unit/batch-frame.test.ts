import { describe, expect, it } from 'vitest';
import { BatchFrameWriter, JsonPiece, type CallFit } from '../../src/client/batch-frame.js';
import { HEADER_BYTES } from '../../src/protocol/framing.js';
import { exceedsJsonDepth } from '../../src/protocol/json-depth.js';
import { Rng } from '../helpers/fuzz/prng.js';

/** What a writer handed over: each frame's JSON and call count, and each call's fate. */
interface Outcome {
  frames: { json: string; calls: number }[];
  fits: CallFit['kind'][];
  sizes: (number | null)[];
}

function frameJson(frame: Buffer): string {
  expect(frame.readUInt32BE(0)).toBe(frame.length - HEADER_BYTES);
  return frame.subarray(HEADER_BYTES).toString('utf8');
}

/** Calls written with `write`, through one writer. */
function viaWriter(calls: readonly string[], limit: number, maxDepth: number, write = (w: BatchFrameWriter, text: string): void => w.json(text)): Outcome {
  const out: Outcome = { frames: [], fits: [], sizes: [] };
  const w = new BatchFrameWriter(limit, maxDepth, (frame, n) => out.frames.push({ json: frameJson(frame), calls: n }));
  for (const text of calls) {
    w.beginCall();
    write(w, text);
    const fit = w.endCall();
    out.fits.push(fit.kind);
    out.sizes.push(fit.kind === 'too-large' ? fit.bytes : null);
  }
  w.flush();
  return out;
}

/** The same calls packed as text, the way batches were built before the writer: the reference. */
function viaText(calls: readonly string[], limit: number, maxDepth: number): Outcome {
  const out: Outcome = { frames: [], fits: [], sizes: [] };
  let parts: string[] = [];
  let bytes = 1;
  const flush = (): void => {
    if (parts.length > 0) out.frames.push({ json: `[${parts.join(',')}]`, calls: parts.length });
    parts = [];
    bytes = 1;
  };
  for (const text of calls) {
    const size = Buffer.byteLength(text) + 1;
    if (size + 1 > limit) {
      out.fits.push('too-large');
      out.sizes.push(size + 1);
      continue;
    }
    out.sizes.push(null);
    if (exceedsJsonDepth(Buffer.from(text), maxDepth - 1)) {
      if (exceedsJsonDepth(Buffer.from(text), maxDepth)) {
        out.fits.push('too-deep');
      } else {
        flush();
        out.frames.push({ json: text, calls: 1 });
        out.fits.push('too-deep-for-batch');
      }
      continue;
    }
    if (bytes + size > limit) flush();
    parts.push(text);
    bytes += size;
    out.fits.push('taken');
  }
  flush();
  return out;
}

const nest = (levels: number, inner = '1'): string => `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;

describe('BatchFrameWriter', () => {
  it('packs calls as the text batches did, for 3,000 random runs of calls and limits (seeded)', () => {
    const rng = new Rng(15_402);
    const pieces = ['1', '"x"', '"é"', '"😀"', '{"k":"v"}', '"[{\\""', '[', ']', ',', ' ', '"' + 'y'.repeat(300) + '"', '"' + 'ü'.repeat(2000) + '"'];
    for (let run = 0; run < 3000; run++) {
      const limit = rng.int(2, 12_000);
      const maxDepth = rng.int(2, 8);
      const calls = Array.from({ length: rng.int(0, 40) }, () => {
        const body = Array.from({ length: rng.int(0, 12) }, () => rng.pick(pieces)).join('');
        return rng.chance(0.2) ? nest(rng.int(0, maxDepth + 1), body) : `{"id":${rng.int(0, 1e6)},"p":${body}}`;
      });
      const got = viaWriter(calls, limit, maxDepth);
      expect(got, `run ${run}: limit ${limit}, depth ${maxDepth}`).toEqual(viaText(calls, limit, maxDepth));
      for (const f of got.frames) expect(Buffer.byteLength(f.json)).toBeLessThanOrEqual(limit);
    }
  });

  it('closes a frame at exactly the limit, and keeps a call of exactly the limit alone', () => {
    const call = (n: number): string => `"${'a'.repeat(n - 2)}"`; // n bytes of JSON
    // [ + 10 + , + 10 + ] = 23 bytes: fits a limit of 23, not of 22.
    expect(viaWriter([call(10), call(10)], 23, 64).frames.map((f) => f.calls)).toEqual([2]);
    expect(viaWriter([call(10), call(10)], 22, 64).frames.map((f) => f.calls)).toEqual([1, 1]);
    const alone = viaWriter([call(5), call(98), call(99), call(5)], 100, 64);
    expect(alone.fits).toEqual(['taken', 'taken', 'too-large', 'taken']);
    expect(alone.sizes[2]).toBe(101);
    expect(alone.frames.map((f) => f.json)).toEqual([`[${call(5)}]`, `[${call(98)}]`, `[${call(5)}]`]);
  });

  it('measures a call far over the limit without writing it, and goes on with the next', () => {
    const huge = `"${'ü'.repeat(600_000)}"`; // 1.2 MB of UTF-8
    const out = viaWriter(['1', huge, '2'], 1000, 64, (w, text) => {
      w.piece(new JsonPiece('{"p":'));
      w.json(text);
      w.json(text);
      w.piece(new JsonPiece('}'));
    });
    expect(out.fits).toEqual(['taken', 'too-large', 'taken']);
    expect(out.sizes[1]).toBe(2 * Buffer.byteLength(huge) + 6 + 2);
    expect(out.frames).toEqual([{ json: '[{"p":11},{"p":22}]', calls: 2 }]);
  });

  it('grows past its first buffer with multi-byte text intact', () => {
    const calls = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i, s: 'Ærø ✓ 😀'.repeat(40 + i) }));
    const out = viaWriter(calls, 1024 * 1024, 64);
    expect(out.frames).toHaveLength(1);
    expect(JSON.parse(out.frames[0]!.json)).toEqual(calls.map((c) => JSON.parse(c) as unknown));
  });

  it('writes integers digit by digit, and undoes an aborted call with its comma', () => {
    const frames: string[] = [];
    const w = new BatchFrameWriter(10_000, 64, (frame) => frames.push(frameJson(frame)));
    const numbers = [0, 7, 10, 99, 100, 12345, 2 ** 31, Number.MAX_SAFE_INTEGER];
    for (const n of numbers) {
      w.beginCall();
      w.uint(n);
      expect(w.endCall().kind).toBe('taken');
      w.beginCall();
      w.json('"half-written"');
      w.abortCall();
    }
    w.flush();
    w.flush(); // nothing left: no empty frame
    expect(frames).toEqual([JSON.stringify(numbers)]);
  });

  it('sends a call one level too deep for a batch alone, after the calls before it, and refuses one too deep for the broker', () => {
    // With a depth of 65, a call may nest 64 levels in a batch (its array is one more), 65 alone.
    const out = viaWriter(['1', nest(64), nest(65), '2', nest(66), '3'], 10_000, 65);
    expect(out.fits).toEqual(['taken', 'taken', 'too-deep-for-batch', 'taken', 'too-deep', 'taken']);
    expect(out.frames).toEqual([
      { json: `[1,${nest(64)}]`, calls: 2 },
      { json: nest(65), calls: 1 },
      { json: '[2,3]', calls: 2 },
    ]);
    // Brackets inside strings are not nesting.
    expect(viaWriter([`"${'['.repeat(100)}"`], 10_000, 3).fits).toEqual(['taken']);
  });

  it('packs calls given as bytes as it packs their text: sizes, frames, depth (1,000 random runs, seeded)', () => {
    const rng = new Rng(15_403);
    const pieces = ['1', '"é"', '"😀"', '{"k":"v"}', '[', ']', ',', '"' + 'ü'.repeat(700) + '"'];
    const asBytes = (w: BatchFrameWriter, text: string): void => {
      // Inside a larger buffer, and in two pieces, as a line's payload and its id's member are.
      const bytes = Buffer.from(`xx${text}yy`, 'utf8');
      const cut = 2 + rng.int(0, bytes.length - 4);
      w.bytes(bytes, 2, cut);
      w.bytes(bytes, cut, bytes.length - 2);
    };
    for (let run = 0; run < 1000; run++) {
      const limit = rng.int(2, 6000);
      const maxDepth = rng.int(2, 8);
      const calls = Array.from({ length: rng.int(0, 30) }, () => {
        const body = Array.from({ length: rng.int(0, 10) }, () => rng.pick(pieces)).join('');
        return rng.chance(0.3) ? nest(rng.int(0, maxDepth + 1), body) : `{"p":${body}}`;
      });
      expect(viaWriter(calls, limit, maxDepth, asBytes), `run ${run}: limit ${limit}, depth ${maxDepth}`).toEqual(viaText(calls, limit, maxDepth));
    }
  });
});
