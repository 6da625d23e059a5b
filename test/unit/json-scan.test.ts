/**
 * The validating byte scanner (src/protocol/json-scan.ts) against `JSON.parse` and
 * `buffer.isUtf8`: on a seeded corpus of valid JSON and mutations of it, on the number
 * grammar, on every one- and two-byte sequence inside a string, and at the depth limit.
 * Every text is scanned inside a larger buffer, between bytes that would make a scanner
 * that reads past `end` accept it, so the bounds are checked as well as the grammar.
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { INVALID, lastStringHadEscape, skipString, skipValue, skipWhitespace } from '../../src/protocol/json-scan.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { JsonWriter, SIMPLE_ESCAPES } from '../helpers/json-corpus.js';

/** Deep enough that the corpus never reaches it; the depth tests use their own limits. */
const CORPUS_DEPTH = 64;

/** Bytes placed right after the text: each continues some cut-off JSON into a valid one. */
const SUFFIXES = ['"', '0', '"}', ']', '}', 'e5', '0000"', 'rue', 'ull', '\u00a9"', ' ', '1"]}', '"0"}'].map((s) => Buffer.from(s, 'utf8'));
const PREFIXES = ['', '[', '{"a":', '"', 'x'].map((s) => Buffer.from(s, 'utf8'));

/** What JSON.parse says about `text` as UTF-8 bytes: valid JSON, and its nesting depth. */
function oracle(text: Uint8Array): { valid: boolean; depth: number } {
  const bytes = Buffer.from(text);
  if (!isUtf8(bytes)) return { valid: false, depth: 0 };
  try {
    return { valid: true, depth: depthOf(JSON.parse(bytes.toString('utf8'))) };
  } catch {
    return { valid: false, depth: 0 };
  }
}

function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce<number>((m, x) => Math.max(m, depthOf(x)), 0);
  if (v !== null && typeof v === 'object') return 1 + Object.values(v).reduce<number>((m, x) => Math.max(m, depthOf(x)), 0);
  return 0;
}

/** Where a scan of the whole text must stop: after the value, before trailing whitespace. */
function valueEnd(text: Uint8Array): number {
  let n = text.length;
  while (n > 0 && (text[n - 1] === 0x20 || text[n - 1] === 0x0a || text[n - 1] === 0x0d || text[n - 1] === 0x09)) n--;
  return n;
}

/**
 * The scanner's verdict on `text`, scanned inside a buffer with `prefix` before and
 * `suffix` after it; also checks a valid scan stops exactly where the value ends.
 */
function scannerAccepts(text: Uint8Array, depth: number, prefix: Buffer = PREFIXES[0]!, suffix: Buffer = SUFFIXES[0]!): boolean {
  const buf = Buffer.concat([prefix, text, suffix]);
  const start = prefix.length;
  const end = start + text.length;
  const r = skipValue(buf, start, end, depth);
  if (r === INVALID) return false;
  expect(r).toBeGreaterThan(start);
  expect(r).toBeLessThanOrEqual(end);
  if (skipWhitespace(buf, r, end) !== end) return false;
  expect(r - start, `stop offset in ${show(text)}`).toBe(valueEnd(text));
  return true;
}

function show(text: Uint8Array): string {
  const b = Buffer.from(text);
  return isUtf8(b) ? JSON.stringify(b.toString('utf8')) : `hex:${b.toString('hex')}`;
}

/** Check scanner and oracle agree on `text`; returns the verdict. */
function agree(text: Uint8Array, rng?: Rng): boolean {
  const want = oracle(text);
  const expected = want.valid && want.depth <= CORPUS_DEPTH;
  const prefix = rng ? rng.pick(PREFIXES) : PREFIXES[0]!;
  const suffix = rng ? rng.pick(SUFFIXES) : SUFFIXES[0]!;
  expect(scannerAccepts(text, CORPUS_DEPTH, prefix, suffix), `skipValue on ${show(text)} (suffix ${JSON.stringify(suffix.toString())})`).toBe(expected);
  return expected;
}

// ---------------------------------------------------------------- corpus generation

/** Byte-level damage a sender's bug or a cut connection could do. */
function mutate(rng: Rng, text: Buffer): Buffer {
  const at = rng.int(0, text.length);
  const strings = quotePositions(text);
  switch (rng.int(0, 7)) {
    case 0: // truncate
      return text.subarray(0, rng.int(0, Math.max(0, text.length - 1)));
    case 1: // insert a random byte
      return Buffer.concat([text.subarray(0, at), Buffer.from([rng.int(0, 255)]), text.subarray(at)]);
    case 2: // replace a byte
      if (text.length === 0) return text;
      return Buffer.concat([text.subarray(0, Math.min(at, text.length - 1)), Buffer.from([rng.int(0, 255)]), text.subarray(Math.min(at, text.length - 1) + 1)]);
    case 3: // delete a byte
      return Buffer.concat([text.subarray(0, at), text.subarray(at + 1)]);
    case 4: // a control character inside a string
    case 5: {
      // a lone backslash (or one before a byte that may not follow it) inside a string
      if (strings.length === 0) return Buffer.concat([text, Buffer.from([0x5c])]);
      const q = rng.pick(strings) + 1;
      const insert = rng.int(0, 7) === 4 ? [rng.int(0, 0x1f)] : [0x5c, rng.pick([0x61, 0x75, 0x20, 0x22, 0x5c, 0x78, 0x30, 0x55])];
      return Buffer.concat([text.subarray(0, q), Buffer.from(insert), text.subarray(q)]);
    }
    case 6: // a cut \u escape
      return Buffer.concat([text.subarray(0, at), Buffer.from(rng.pick(['\\u', '\\u0', '\\u00', '\\u00e', '\\u00eg'])), text.subarray(at)]);
    default: // an invalid UTF-8 sequence
      return Buffer.concat([text.subarray(0, at), Buffer.from(rng.pick([[0x80], [0xc0, 0xaf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xe9]])), text.subarray(at)]);
  }
}

function quotePositions(text: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) if (text[i] === 0x22) out.push(i);
  return out;
}

// ---------------------------------------------------------------- tests

describe('skipValue agrees with JSON.parse', () => {
  it('on 6,000 generated documents and 12,000 mutations of them (seeded)', () => {
    const rng = new Rng(15_001);
    const writer = new JsonWriter(rng);
    let valid = 0;
    let mutatedValid = 0;
    let mutatedInvalid = 0;
    for (let n = 0; n < 6000; n++) {
      const doc = Buffer.from(writer.document(), 'utf8');
      expect(agree(doc, rng), `generated ${show(doc)}`).toBe(true);
      valid++;
      for (let m = 0; m < 2; m++) {
        let mutated = mutate(rng, doc);
        if (rng.chance(0.3)) mutated = mutate(rng, mutated);
        if (agree(mutated, rng)) mutatedValid++;
        else mutatedInvalid++;
      }
    }
    // The corpus exercises both verdicts in quantity (a scanner that said "valid" or
    // "invalid" to everything fails above; this guards the corpus itself).
    expect(valid).toBe(6000);
    expect(mutatedInvalid).toBeGreaterThan(6000);
    expect(mutatedValid).toBeGreaterThan(500);
  });

  it('on the number grammar', () => {
    const valid = ['0', '-0', '1', '-1', '10', '1e5', '1E5', '1e+5', '1E+5', '1e-5', '1E-05', '0.5', '-0.5', '0e0', '0.0e-0', '1e400', '-1e400', '123.456e-789', '9007199254740993'];
    const invalid = ['01', '-01', '00', '1.', '.5', '-.5', '+1', '1e', '1E', '1e+', '1e-', '-', '--1', '0x1', '1.e5', '1.5.', '1e5.5', '1e5e5', 'Infinity', '-Infinity', 'NaN', '1 2', '0-', '1-1', '- 1', '1_000', '１'];
    for (const t of valid) expect(agree(Buffer.from(t)), t).toBe(true);
    for (const t of invalid) expect(agree(Buffer.from(t)), t).toBe(false);
    // The same inside containers, where what follows a number is a comma or a bracket.
    for (const t of valid) expect(agree(Buffer.from(`[${t},${t}]`)), t).toBe(true);
    for (const t of invalid) expect(agree(Buffer.from(`{"n":${t}}`)), t).toBe(false);
  });

  it('on literals, whitespace and structure', () => {
    const valid = ['true', 'false', 'null', ' \t\r\n null \t\r\n', '[]', '{}', '[ ]', '{ }', '[[],{}]', '{"":""}', '{"a":{"a":{"a":[]}}}', '[1,"2",true,null,{}]', '""', '"\\u0000"', '"\\uD800"', '"\\uDFFF\\uD800"'];
    const invalid = ['', ' ', 'tru', 'True', 'nul', 'nulll', 'falsey', '[', ']', '{', '[1,]', '[,1]', '[1 2]', '{"a"}', '{"a":}', '{"a" 1}', '{"a":1,}', '{,}', '{1:1}', "{'a':1}", "'a'", '{"a":1}}', '[1]]', '\u000b1', '\f1', '\u00a01', '\ufeff1', '1 /*c*/', '"a"b"'];
    for (const t of valid) expect(agree(Buffer.from(t)), t).toBe(true);
    for (const t of invalid) expect(agree(Buffer.from(t)), JSON.stringify(t)).toBe(false);
  });

  it('on strings: every simple escape, \\u escapes, control characters and lone backslashes', () => {
    for (const e of SIMPLE_ESCAPES) expect(agree(Buffer.from(`"x${e}y"`)), e).toBe(true);
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      // Every byte after a backslash, and every byte on its own.
      agree(Buffer.from(`"\\${ch}"`, 'latin1'));
      agree(Buffer.from(`"a${ch}b"`, 'latin1'));
    }
    for (const t of ['"\\u00e9"', '"\\u00E9"', '"\\uFFFF"', '"\\u0041\\u0042"']) expect(agree(Buffer.from(t)), t).toBe(true);
    for (const t of ['"\\u"', '"\\u0"', '"\\u00"', '"\\u00e"', '"\\u00eg"', '"\\U00e9"', '"\\x41"', '"\\', '"\\"', '"abc', '"\\u00e9']) expect(agree(Buffer.from(t)), t).toBe(false);
  });

  it('on a byte that ends a plain run at every offset of runs up to 20 bytes, and on runs cut at every length', () => {
    // Plain runs are passed several bytes per step: each offset within and past a step.
    const enders = [[0x00], [0x1f], [0x22], [0x5c], [0x5c, 0x6e], [0x7f], [0x80], [0xc3, 0xa9], [0xff]];
    let accepted = 0;
    for (let n = 1; n <= 20; n++) {
      for (let k = 0; k < n; k++) {
        for (const ender of enders) {
          const body = [...Buffer.alloc(k, 0x61), ...ender, ...Buffer.alloc(n - k - 1, 0x63)];
          if (agree(Buffer.from([0x22, ...body, 0x22]))) accepted++;
        }
      }
      // Cut before its closing quote; the buffer goes on with bytes that would close it.
      for (const suffix of SUFFIXES) expect(scannerAccepts(Buffer.from([0x22, ...Buffer.alloc(n, 0x61)]), CORPUS_DEPTH, PREFIXES[0]!, suffix), `cut at ${n}`).toBe(false);
    }
    // 0x7f, é and \n are fine anywhere in a string (a lone backslash escapes "c" or the
    // closing quote): 3 of the 9 enders at each of 210 offsets.
    expect(accepted).toBe(3 * 210);
  });
});

describe('skipString', () => {
  it('reports whether the string it skipped had an escape', () => {
    const cases: [string, boolean][] = [
      ['"plain"', false],
      ['"caf\u00e9 \u65e5\u672c"', false],
      ['"a\\"b"', true],
      ['"\\u00e9"', true],
      ['"end\\\\"', true],
      ['""', false],
    ];
    for (const [text, escaped] of cases) {
      const b = Buffer.from(`${text}"\\n"`);
      const end = Buffer.byteLength(text);
      expect(skipString(b, 0, end), text).toBe(end);
      expect(lastStringHadEscape, text).toBe(escaped);
    }
  });
});

describe('UTF-8 inside strings: accepted exactly when buffer.isUtf8 accepts the bytes', () => {
  const inString = (bytes: number[]): Buffer => Buffer.from([0x22, ...bytes, 0x22]);
  const verdict = (bytes: number[]): boolean => scannerAccepts(inString(bytes), CORPUS_DEPTH, PREFIXES[0]!, Buffer.from([0x80, 0x80, 0x80, 0x22]));

  it('accepts multibyte characters of every length, at the edges of each range', () => {
    const texts = ['\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}', 'é', '€', '日本語', '😀👍🏽', '\ufeff', '\u2028\u2029'];
    for (const t of texts) {
      const bytes = [...Buffer.from(t, 'utf8')];
      expect(isUtf8(Buffer.from(bytes))).toBe(true);
      expect(verdict(bytes), t).toBe(true);
      expect(agree(inString(bytes)), t).toBe(true);
    }
  });

  it('refuses stray continuations, overlong forms, surrogates, code points past U+10FFFF and cut sequences', () => {
    const bad = [
      [0x80],
      [0xbf],
      [0x61, 0x80, 0x62],
      [0xc0, 0xaf],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xe0, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf0, 0x80, 0x80, 0x80],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xfe],
      [0xff],
      [0xc3],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
      [0xc3, 0x41],
      [0xe2, 0x41, 0x82],
      [0xe9], // windows-1252 "é"
    ];
    for (const bytes of bad) {
      expect(isUtf8(Buffer.from(bytes)), Buffer.from(bytes).toString('hex')).toBe(false);
      expect(verdict(bytes), Buffer.from(bytes).toString('hex')).toBe(false);
      expect(agree(inString(bytes)), Buffer.from(bytes).toString('hex')).toBe(false);
    }
  });

  it('agrees with isUtf8 on every one- and two-byte sequence of bytes 0x80 and above', () => {
    for (let a = 0x80; a < 0x100; a++) {
      expect(verdict([a]), a.toString(16)).toBe(isUtf8(Buffer.from([a])));
      for (let b = 0x00; b < 0x100; b++) {
        if (b === 0x22 || b === 0x5c || b < 0x20) continue; // quote, backslash, control: not about UTF-8
        const bytes = [a, b];
        expect(verdict(bytes), Buffer.from(bytes).toString('hex')).toBe(isUtf8(Buffer.from(bytes)));
      }
    }
  });

  it('agrees with isUtf8 on 40,000 random three- and four-byte sequences starting with a lead byte (seeded)', () => {
    const rng = new Rng(15_002);
    let accepted = 0;
    for (let n = 0; n < 40_000; n++) {
      const lead = rng.int(0xe0, 0xf7);
      const len = lead >= 0xf0 ? 4 : 3;
      const bytes = [lead];
      // Mostly continuation bytes, so that the valid ones and the edges come up often.
      for (let k = 1; k < len; k++) bytes.push(rng.chance(0.9) ? rng.int(0x80, 0xbf) : rng.pick([0x20, 0x41, 0x7f, 0xc0, 0xff]));
      const want = isUtf8(Buffer.from(bytes));
      if (want) accepted++;
      expect(verdict(bytes), Buffer.from(bytes).toString('hex')).toBe(want);
    }
    expect(accepted).toBeGreaterThan(5000);
  });
});

describe('depth', () => {
  const arrays = (levels: number): Buffer => Buffer.from('['.repeat(levels) + '1' + ']'.repeat(levels));
  const objects = (levels: number): Buffer => Buffer.from('{"k":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1));
  const mixed = (levels: number): Buffer => {
    let s = '0';
    for (let l = 0; l < levels; l++) s = l % 2 === 0 ? `[1,${s}]` : `{"a":[],"b":${s}}`;
    return Buffer.from(s);
  };

  it('accepts a value nested exactly at the limit and refuses one level deeper', () => {
    for (const limit of [1, 2, 5, 62, 64]) {
      for (const build of [arrays, objects, mixed]) {
        expect(scannerAccepts(build(limit), limit), `${build.name} ${limit}`).toBe(true);
        expect(scannerAccepts(build(limit + 1), limit), `${build.name} ${limit + 1}`).toBe(false);
        if (limit < 2) continue;
        // Breadth is not depth: many containers side by side at the limit.
        const wide = Buffer.from(`[${Array.from({ length: 10 }, () => build(limit - 1).toString()).join(',')}]`);
        expect(scannerAccepts(wide, limit), `wide ${build.name} ${limit}`).toBe(true);
      }
    }
  });

  it('at depth 0 takes scalars only', () => {
    for (const t of ['1', '"s"', 'true', 'null']) expect(scannerAccepts(Buffer.from(t), 0), t).toBe(true);
    for (const t of ['[]', '{}']) expect(scannerAccepts(Buffer.from(t), 0), t).toBe(false);
  });

  it('refuses 100,000 unclosed brackets without overflowing the stack', () => {
    expect(scannerAccepts(Buffer.from('['.repeat(100_000)), 64)).toBe(false);
    expect(scannerAccepts(arrays(100_000), 64)).toBe(false);
  });
});
