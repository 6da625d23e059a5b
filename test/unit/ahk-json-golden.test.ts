/**
 * BridgeJson.ahk carries `; golden-json: <input> => <output>` lines: JSON a script receives,
 * and the text BridgeJson.Dump(BridgeJson.Load(input)) writes for it. AutoHotkey cannot run
 * here, so these tests hold each line to the bridge's side of the line protocol: the output
 * must read back (parseScriptLine, as the bridge reads an `@pub` line) as the input's value,
 * on one line without control characters, and the cases that went wrong before must stay
 * covered: integers past the int64 range and U+0000.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asciiJson, encodeCommand, parseScriptLine } from '../../bridge/supervisor/line-protocol.js';
import { golden } from '../helpers/ahk-golden-lines.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const json = readFileSync(join(ROOT, 'scripts', 'lib', 'BridgeJson.ahk'), 'utf8');


const cases = golden(json, 'golden-json').map((line) => {
  const parts = line.split(' => ');
  if (parts.length !== 2) throw new Error(`golden-json needs exactly one " => ": ${line}`);
  return { input: parts[0]!, output: parts[1]! };
});

/** What the bridge makes of the output when a script publishes it. */
function readBack(output: string): unknown {
  const parsed = parseScriptLine(`@pub json ${output}`, 'scripts.cad');
  if (parsed.kind !== 'publish') throw new Error(`not a publish: ${output}`);
  return parsed.payload;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * How AutoHotkey v2 writes a Float: FTOA in its source/util.cpp is printf "%.17g", then
 * ".0" when the text has neither "." nor "e". A model, to check the hand-written lines.
 */
function ahkFloatText(x: number): string {
  const [mantissa, expText] = x.toExponential(16).split('e') as [string, string];
  const exp = Number(expText);
  let text: string;
  if (exp < -4 || exp >= 17) {
    text = `${mantissa.replace(/\.?0+$/, '')}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else {
    text = x.toFixed(16 - exp).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  }
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** What Dump(Load(literal)) writes for one JSON number literal. */
function ahkNumberText(literal: string): string {
  if (/^-?\d+$/.test(literal)) {
    const n = BigInt(literal);
    if (n >= INT64_MIN && n <= INT64_MAX) return n.toString();
  }
  return ahkFloatText(Number(literal));
}

/** Every string (keys too) inside a JSON value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]);
  return [];
}

describe('BridgeJson.ahk golden-json lines', () => {
  it('cover the int64 edges, integers past them, U+0000 and non-ASCII text', () => {
    const inputs = cases.map((c) => c.input);
    for (const big of ['9223372036854775807', '-9223372036854775808', '9223372036854775808', '18446744073709551616', '-9223372036854775809']) {
      expect(inputs, big).toContain(big);
    }
    // 2^63 as the bridge and the broker (JavaScript) actually pass it on.
    expect(inputs).toContain(asciiJson(2 ** 63));
    expect(inputs.some((i) => i.includes('\\u0000'))).toBe(true);
    expect(cases.some((c) => /[^\x00-\x7f]/.test(c.output))).toBe(true);
  });

  it.each(cases)('$input reads back as the same value', ({ input, output }) => {
    expect(() => JSON.parse(output)).not.toThrow();
    // For numbers, JSON.parse gives the double nearest to the digits on both sides.
    expect(readBack(output)).toEqual(JSON.parse(input));
  });

  it.each(cases)('$input is one line, without control characters', ({ output }) => {
    expect(output).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it.each(cases)('$input is ASCII but for the text of the value itself', ({ input, output }) => {
    // Dump writes non-ASCII characters as they are (the line is written in UTF-8); every
    // other character, escapes included, is ASCII.
    const text = strings(JSON.parse(input)).join('');
    for (const c of output.replace(/[\x20-\x7e]/g, '')) expect(text, `stray ${JSON.stringify(c)}`).toContain(c);
  });

  it.each(cases.filter((c) => !/^[-\d.eE+,[\]]+$/.test(c.input)))('$input is written as the bridge sends it', ({ input }) => {
    // Not the numbers: they are the point of those lines, whatever the sender.
    expect(encodeCommand('json', JSON.parse(input))).toBe(`json - ${input}\n`);
  });

  const numeric = cases.filter((c) => /^\[?[-\d.eE+,]+\]?$/.test(c.input));

  it('has number lines', () => expect(numeric.length).toBeGreaterThanOrEqual(6));

  it.each(numeric)('$input: each number as AutoHotkey writes it', ({ input, output }) => {
    const ins = input.replace(/^\[|\]$/g, '').split(',');
    const outs = output.replace(/^\[|\]$/g, '').split(',');
    expect(outs.length).toBe(ins.length);
    ins.forEach((literal, i) => {
      const out = outs[i]!;
      expect(out).toMatch(NUMBER);
      expect(out).toBe(ahkNumberText(literal));
      if (/^-?\d+$/.test(literal)) {
        const n = BigInt(literal);
        // Past int64 it must be a Float: never a different (wrapped) integer.
        if (n < INT64_MIN || n > INT64_MAX) expect(out).toMatch(/[.e]/);
        else expect(out).toBe(literal);
      }
    });
  });
});

describe('the model of AutoHotkey float text', () => {
  // Values printf("%.17g") gives on any C library with correct rounding.
  it.each([
    [0.5, '0.5'],
    [0.1, '0.10000000000000001'],
    [1000, '1000.0'],
    [1e16, '10000000000000000.0'],
    [1e-5, '1.0000000000000001e-05'],
    [2 ** 63, '9.2233720368547758e+18'],
    [-(2 ** 63), '-9.2233720368547758e+18'],
    [2 ** 64, '1.8446744073709552e+19'],
  ])('%d is %s', (x, text) => {
    expect(ahkFloatText(x)).toBe(text);
    expect(Number(text)).toBe(x);
  });
});

// Source checks, not behaviour (no AutoHotkey runs here). AutoHotkey v2 copies a string into
// every by-value parameter (UserFunc::Call -> Var::Assign), so a parser helper that took the
// text by value copied the whole message on each call: quadratic, seconds for 300 KB.
describe('BridgeJson.ahk source: Load never copies the text per call', () => {
  const helpers = ['_Skip', '_Value', '_String', '_Hex4'];
  const code = json.split('\n').filter((line) => !/^\s*;/.test(line)).join('\n');

  it.each(helpers)('%s is defined with the text by reference (&t)', (name) => {
    const defs = [...code.matchAll(new RegExp(`^\\s*static ${name}\\(([^)]*)\\)`, 'gm'))].map((m) => m[1]);
    expect(defs).toHaveLength(1);
    expect(defs[0]).toMatch(/^&t\b/);
  });

  it.each(helpers)('every call of %s passes the text by reference', (name) => {
    const uses = [...code.matchAll(new RegExp(`this\\.${name}\\(([^,)]*)`, 'g'))].map((m) => m[1]);
    expect(uses.length).toBeGreaterThan(0);
    for (const arg of uses) expect(arg).toMatch(/^&(t|text)$/);
  });

  it('a string body is cut at the next quote or backslash found by one search, not by InStr to the end', () => {
    const body = /static _String\([^)]*\) \{([\s\S]*?)\n {4}\}/.exec(code)?.[1] ?? '';
    expect(body).toContain(`RegExMatch(t, '["\\\\]'`);
    expect(body).not.toMatch(/InStr\(t, "\\"/);
  });
});

// Written as it is, an unpaired surrogate cannot be encoded in UTF-8: the reader would get
// U+FFFD. Quote escapes it; a pair stays one character.
describe('BridgeJson.ahk: unpaired surrogates', () => {
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

  it('a golden line has unpaired surrogates (high, low, after an escape, at the end) and a pair', () => {
    const c = cases.find((x) => lone.test(JSON.parse(x.input) as string));
    expect(c).toBeDefined();
    const value = JSON.parse(c!.input) as string;
    expect(value).toMatch(/[\ud800-\udbff][\udc00-\udfff]/);
    expect(value).toMatch(/"[\udc00-\udfff]/);
    expect(value).toMatch(/[\ud800-\udbff]$/);
    // The output holds no unpaired surrogate itself: each is a \uXXXX escape.
    expect(c!.output).not.toMatch(lone);
    expect(c!.output).toMatch(/\\ud[89ab][0-9a-f]{2}/);
    expect(c!.output).toMatch(/\\ud[c-f][0-9a-f]{2}/);
    // So the line survives UTF-8 as it is.
    expect(Buffer.from(c!.output, 'utf8').toString('utf8')).toBe(c!.output);
  });

  it('Quote source: a failed WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS) sends the string to _Unpaired', () => {
    const quote = /static Quote\(s\) \{([\s\S]*?)\n {4}\}/.exec(json)?.[1] ?? '';
    expect(quote).toMatch(/!DllCall\("kernel32\\WideCharToMultiByte", "UInt", 65001, "UInt", 0x80/);
    expect(quote).toContain('this._Unpaired(s)');
    expect(json).toMatch(/static _Unpaired\(s\) \{[\s\S]*?Format\("\\u\{:04x\}", u\)/);
  });
});
