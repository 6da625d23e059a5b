import { describe, expect, it } from 'vitest';
import { FrameDecoder, HEADER_BYTES, encodeFrame, encodeJsonFrame } from '../../src/protocol/framing.js';

const LIMIT = 1024;

function header(n: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32BE(n, 0);
  return h;
}

/** Feed chunks, collecting copies of the frames (bodies are views valid only in the callback). */
function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): { frames: string[]; errors: unknown[] } {
  const frames: string[] = [];
  const errors: unknown[] = [];
  for (const c of chunks) {
    const err = decoder.push(c, (body) => frames.push(body.toString('utf8')));
    if (err) errors.push(err);
  }
  return { frames, errors };
}

/** A repeatable pseudo-random `random(n)` in [0, n) for `seed`. */
function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

/**
 * The frames of `texts`, read the way a socket reads into one buffer: each read's size
 * from `sizeOf` (given the bytes left), the buffer overwritten after each push. Checks
 * that nothing is left pending at the end.
 */
function decodeInReusedReads(d: FrameDecoder, texts: string[], sizeOf: (left: number) => number): string[] {
  const all = Buffer.concat(texts.map(encodeFrame));
  const scratch = Buffer.alloc(all.length);
  const frames: string[] = [];
  for (let pos = 0; pos < all.length; ) {
    const size = sizeOf(all.length - pos);
    all.copy(scratch, 0, pos, pos + size);
    expect(d.push(scratch.subarray(0, size), (b) => frames.push(b.toString('utf8')))).toBeNull();
    scratch.fill(0x7a);
    pos += size;
  }
  expect(d.pendingBytes).toBe(0);
  return frames;
}

describe('FrameDecoder', () => {
  it('decodes one frame per push', () => {
    const d = new FrameDecoder(LIMIT);
    const { frames, errors } = decodeAll(d, [encodeFrame('{"a":1}'), encodeFrame('{"b":2}')]);
    expect(frames).toEqual(['{"a":1}', '{"b":2}']);
    expect(errors).toEqual([]);
    expect(d.pendingBytes).toBe(0);
  });

  it('decodes many frames from one chunk, in order', () => {
    const texts = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i, s: 'x'.repeat(i) }));
    const d = new FrameDecoder(LIMIT);
    const { frames } = decodeAll(d, [Buffer.concat(texts.map(encodeFrame))]);
    expect(frames).toEqual(texts);
    expect(d.pendingBytes).toBe(0);
  });

  it('decodes frames delivered byte by byte', () => {
    const texts = ['{"first":true}', '', '{"é":"ü€😀"}', '[1,2,3]'];
    const all = Buffer.concat(texts.map(encodeFrame));
    const d = new FrameDecoder(LIMIT);
    const frames: string[] = [];
    for (let i = 0; i < all.length; i++) {
      expect(d.push(all.subarray(i, i + 1), (b) => frames.push(b.toString('utf8')))).toBeNull();
    }
    expect(frames).toEqual(texts);
    expect(d.pendingBytes).toBe(0);
  });

  it('decodes at every split point of a two-frame stream', () => {
    const texts = ['{"a":"hello"}', '{"b":"world!"}'];
    const all = Buffer.concat(texts.map(encodeFrame));
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new FrameDecoder(LIMIT);
      const { frames } = decodeAll(d, [all.subarray(0, cut), all.subarray(cut)]);
      expect(frames, `cut at ${cut}`).toEqual(texts);
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('handles a header split across chunks', () => {
    const frame = encodeFrame('{"split":"header"}');
    const d = new FrameDecoder(LIMIT);
    const frames: string[] = [];
    d.push(frame.subarray(0, 1), (b) => frames.push(b.toString()));
    expect(d.pendingBytes).toBe(1);
    d.push(frame.subarray(1, 3), (b) => frames.push(b.toString()));
    expect(d.pendingBytes).toBe(3);
    expect(frames).toEqual([]);
    d.push(frame.subarray(3), (b) => frames.push(b.toString()));
    expect(frames).toEqual(['{"split":"header"}']);
    expect(d.pendingBytes).toBe(0);
  });

  it('emits a zero-length body for N == 0', () => {
    const d = new FrameDecoder(LIMIT);
    const bodies: Buffer[] = [];
    d.push(Buffer.concat([header(0), encodeFrame('{}'), header(0)]), (b) => bodies.push(Buffer.from(b)));
    expect(bodies.map((b) => b.length)).toEqual([0, 2, 0]);
    expect(bodies[1]!.toString()).toBe('{}');
  });

  it('accepts a frame of exactly the limit', () => {
    const d = new FrameDecoder(8);
    const { frames, errors } = decodeAll(d, [encodeFrame('12345678')]);
    expect(frames).toEqual(['12345678']);
    expect(errors).toEqual([]);
  });

  it('reports an oversize header as soon as 4 bytes arrive, without buffering the body', () => {
    const d = new FrameDecoder(LIMIT);
    const frames: string[] = [];
    const on = (b: Buffer): void => void frames.push(b.toString());
    const h = header(LIMIT + 1);
    expect(d.push(h.subarray(0, 2), on)).toBeNull();
    expect(d.push(h.subarray(2, 3), on)).toBeNull();
    expect(d.push(h.subarray(3, 4), on)).toEqual({ declared: LIMIT + 1, limit: LIMIT });
    expect(d.pendingBytes).toBe(0);
    // Refuses everything afterwards: the stream cannot be re-synchronised.
    expect(d.push(Buffer.alloc(5000, 0x61), on)).toBeNull();
    expect(d.push(encodeFrame('{}'), on)).toBeNull();
    expect(d.pendingBytes).toBe(0);
    expect(frames).toEqual([]);
  });

  it('reports a 4 GiB header in the same chunk as the start of its body', () => {
    const d = new FrameDecoder(LIMIT);
    const frames: string[] = [];
    const chunk = Buffer.concat([encodeFrame('{"ok":1}'), header(0xffffffff), Buffer.alloc(100, 0x61)]);
    const err = d.push(chunk, (b) => frames.push(b.toString()));
    expect(err).toEqual({ declared: 0xffffffff, limit: LIMIT });
    expect(frames).toEqual(['{"ok":1}']); // frames before the bad header are still delivered
    expect(d.pendingBytes).toBe(0);
  });

  it('keeps pending bytes bounded by what actually arrived for a large valid frame', () => {
    const d = new FrameDecoder(1 << 20);
    const frames: number[] = [];
    d.push(header(1 << 20), (b) => frames.push(b.length));
    expect(d.pendingBytes).toBe(HEADER_BYTES);
    d.push(Buffer.alloc(1000), (b) => frames.push(b.length));
    expect(d.pendingBytes).toBe(HEADER_BYTES + 1000);
    d.push(Buffer.alloc((1 << 20) - 1000), (b) => frames.push(b.length));
    expect(frames).toEqual([1 << 20]);
    expect(d.pendingBytes).toBe(0);
  });

  it('does not alias a pooled input chunk that the caller reuses', () => {
    const d = new FrameDecoder(LIMIT);
    const frame = encodeFrame('{"x":"abc"}');
    const reused = Buffer.alloc(frame.length);
    const frames: string[] = [];
    frame.copy(reused, 0, 0, 8);
    d.push(reused.subarray(0, 8), (b) => frames.push(b.toString()));
    reused.fill(0x7a); // caller overwrites its buffer
    d.push(frame.subarray(8), (b) => frames.push(b.toString()));
    expect(frames).toEqual(['{"x":"abc"}']);
  });

  it('does not alias a reused chunk that arrives while a frame is already pending', () => {
    // Same guarantee on the path where earlier bytes are already buffered: a reader that
    // fills one fixed buffer per read (fs.read into a reused Buffer) must not corrupt
    // the frame in progress.
    const frame = encodeFrame('{"x":"abcdefgh"}');
    const d = new FrameDecoder(LIMIT);
    const frames: string[] = [];
    const scratch = Buffer.alloc(frame.length);
    let pos = 0;
    for (const size of [2, 1, 6, 3]) {
      frame.copy(scratch, 0, pos, pos + size);
      d.push(scratch.subarray(0, size), (b) => frames.push(b.toString()));
      scratch.fill(0x7a);
      pos += size;
    }
    d.push(frame.subarray(pos), (b) => frames.push(b.toString()));
    expect(frames).toEqual(['{"x":"abcdefgh"}']);
  });

  it('reads the frames after a completed pending one in place, without copying the rest of the chunk', () => {
    // A socket read seldom ends on a frame boundary: joining the whole next read with the
    // pending bytes copied (and allocated) every read once more.
    const texts = ['{"a":"first, split"}', '{"b":2}', '{"c":3}'];
    const all = Buffer.concat(texts.map(encodeFrame));
    const cut = 7;
    const d = new FrameDecoder(LIMIT);
    d.pushRanges(all.subarray(0, cut), () => expect.unreachable('no whole frame yet'));
    const second = all.subarray(cut);
    const seen: { text: string; inChunk: boolean }[] = [];
    expect(d.pushRanges(second, (buf, start, end) => seen.push({ text: buf.toString('utf8', start, end), inChunk: buf === second }))).toBeNull();
    expect(seen).toEqual([
      { text: texts[0], inChunk: false },
      { text: texts[1], inChunk: true },
      { text: texts[2], inChunk: true },
    ]);
    expect(d.pendingBytes).toBe(0);
  });

  it('reports an oversize header in the read that completes a pending frame, after that frame and those between', () => {
    const d = new FrameDecoder(LIMIT);
    const first = encodeFrame('{"a":"pending"}');
    const frames: string[] = [];
    const on = (b: Buffer): void => void frames.push(b.toString());
    expect(d.push(first.subarray(0, 6), on)).toBeNull();
    const rest = Buffer.concat([first.subarray(6), encodeFrame('{"b":2}'), header(LIMIT + 1), Buffer.alloc(10, 0x61)]);
    expect(d.push(rest, on)).toEqual({ declared: LIMIT + 1, limit: LIMIT });
    expect(frames).toEqual(['{"a":"pending"}', '{"b":2}']);
    expect(d.pendingBytes).toBe(0);
    expect(d.push(encodeFrame('{}'), on)).toBeNull();
    expect(frames).toHaveLength(2);
  });

  it('decodes random streams split at random points into a reused read buffer', () => {
    // Like a socket read into one buffer: every chunk is overwritten after its push, and
    // header, body and frame boundaries fall anywhere, several per chunk or none.
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      // Some frames are empty (length 0), and some reads bring nothing.
      const texts = Array.from({ length: 60 }, (_, i) => (random(8) === 0 ? '' : JSON.stringify({ i, s: 'é'.repeat(random(40)) })));
      const frames = decodeInReusedReads(new FrameDecoder(LIMIT), texts, (left) => (random(10) === 0 ? 0 : Math.min(left, 1 + random(random(4) === 0 ? 3 : 120))));
      expect(frames, `seed ${seed}`).toEqual(texts);
    }
  });

  it('joins split frames in one buffer of its own, reused from read to read, not in slices of the shared pool', () => {
    // Nearly every read of a busy connection ends inside a frame. A fresh copy of each
    // partial frame was a slice of Node's 8 KiB pool that lived into the next read.
    const texts = ['{"a":"one"}', '{"b":"two, a little longer"}', '{"c":3}', '{"d":"four"}'];
    const all = Buffer.concat(texts.map(encodeFrame));
    const d = new FrameDecoder(LIMIT);
    const joined: Buffer[] = [];
    const frames: string[] = [];
    // Each read ends 5 bytes into the next frame.
    let at = 0;
    for (const text of texts) {
      const end = Math.min(all.length, at + HEADER_BYTES + Buffer.byteLength(text) + 5);
      const chunk = Buffer.from(all.subarray(at === 0 ? 0 : at, end));
      d.pushRanges(chunk, (buf, start, stop) => {
        frames.push(buf.toString('utf8', start, stop));
        if (buf !== chunk) joined.push(buf);
      });
      at = end;
    }
    expect(frames).toEqual(texts);
    expect(joined).toHaveLength(3);
    expect(new Set(joined).size).toBe(1);
    // Its own memory: not a view into a larger (shared) ArrayBuffer.
    expect(joined[0]!.byteOffset).toBe(0);
    expect(joined[0]!.buffer.byteLength).toBe(joined[0]!.length);
  });

  it('decodes random streams of frames smaller and larger than its own buffer, split anywhere', () => {
    // Frames of up to 10 KB: a partial frame starts in the decoder's buffer and moves to
    // buffers of its own once it outgrows it (4 KiB), and a frame larger than that is
    // joined outside it, with the reads into one reused buffer.
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed);
      const texts = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, s: 'ü'.repeat(random(4) === 0 ? random(5000) : random(300)) }));
      const frames = decodeInReusedReads(new FrameDecoder(64 * 1024), texts, (left) => Math.min(left, 1 + random(random(3) === 0 ? 6000 : 700)));
      expect(frames, `seed ${seed}`).toEqual(texts);
    }
  });
});

describe('encodeFrame', () => {
  it('prefixes the UTF-8 byte length, not the character length', () => {
    const text = '{"t":"café ☕ 😀"}';
    const frame = encodeFrame(text);
    const bytes = Buffer.byteLength(text, 'utf8');
    expect(bytes).toBeGreaterThan(text.length);
    expect(frame.readUInt32BE(0)).toBe(bytes);
    expect(frame.length).toBe(HEADER_BYTES + bytes);
    expect(frame.subarray(HEADER_BYTES).toString('utf8')).toBe(text);
  });

  it('round-trips through the decoder', () => {
    const values = [{ msg: 'Grüße, 世界 😀' }, [], null, 'ünïcödé', { nested: { a: [1, 2, { b: '€' }] } }];
    const d = new FrameDecoder(LIMIT);
    const { frames } = decodeAll(d, [Buffer.concat(values.map(encodeJsonFrame))]);
    expect(frames.map((f) => JSON.parse(f) as unknown)).toEqual(values);
  });

  it('encodes the empty string as a bare zero header', () => {
    expect([...encodeFrame('')]).toEqual([0, 0, 0, 0]);
  });
});
