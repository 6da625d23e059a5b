/**
 * valueSpan finds, in JSON text, the value a path leads to, as `JSON.parse` reads the
 * text: the last of repeated names, names written with escapes. Checked against
 * `JSON.parse` on the cases that differ, and on random documents of the JSON corpus.
 */
import { describe, expect, it } from 'vitest';
import { valueSpan, type JsonStep } from '../../src/protocol/value-span.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { JsonWriter } from '../helpers/json-corpus.js';

/** The text of the value at `path` in `text`, or null. */
function at(text: string, path: JsonStep[]): string | null {
  const b = Buffer.from(text, 'utf8');
  const span = valueSpan(b, 0, b.length, path);
  return span === null ? null : b.toString('utf8', span[0], span[1]);
}

/** What JSON.parse gives at `path`, or undefined. */
function parsedAt(value: unknown, path: JsonStep[]): unknown {
  let v = value;
  for (const step of path) {
    if (typeof step === 'number' ? !Array.isArray(v) || step >= v.length : typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, step)) return undefined;
    v = (v as Record<string | number, unknown>)[step];
  }
  return v;
}

describe('valueSpan', () => {
  it('reads the value as written, where JSON.parse would lose it', () => {
    const text = '{ "params" : [ "t" , [ 1e400 , -0 , 1.0 , 12345678901234567890 ] ] }';
    expect(at(text, ['params', 1])).toBe('[ 1e400 , -0 , 1.0 , 12345678901234567890 ]');
    expect(at(text, ['params', 1, 0])).toBe('1e400');
    expect(at(text, ['params', 1, 3])).toBe('12345678901234567890');
  });

  it('takes the last of repeated names, and names written with escapes, as JSON.parse does', () => {
    expect(at('{"a":1,"b":2,"a":{"x":3}}', ['a'])).toBe('{"x":3}');
    expect(at('{"p\\u0061yload":"esc","\\"q\\"":5}', ['payload'])).toBe('"esc"');
    expect(at('{"p\\u0061yload":"esc","\\"q\\"":5}', ['"q"'])).toBe('5');
    expect(at('{"日本":[true]}', ['日本', 0])).toBe('true');
  });

  it('is null where the path leads nowhere, or through text that is not JSON', () => {
    expect(at('{"a":1}', ['b'])).toBeNull();
    expect(at('[1,2]', [2])).toBeNull();
    expect(at('[]', [0])).toBeNull();
    expect(at('{}', ['a'])).toBeNull();
    expect(at('{"a":1}', [0])).toBeNull();
    expect(at('[1]', ['a'])).toBeNull();
    expect(at('{"a":1,}', ['a'])).toBeNull();
    expect(at('{"a":[1,}', ['a'])).toBeNull();
    expect(at('{"a" 1}', ['a'])).toBeNull();
    expect(at('', [])).toBeNull();
  });

  it('finds what JSON.parse finds, over random documents and every path into them', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const text = new JsonWriter(new Rng(seed)).value(4);
      const parsed = JSON.parse(text) as unknown;
      const paths: JsonStep[][] = [[]];
      // Every path one and two steps in, and some that lead nowhere.
      const stepsOf = (v: unknown): JsonStep[] => (Array.isArray(v) ? [...v.keys(), v.length] : typeof v === 'object' && v !== null ? [...Object.keys(v), 'absent'] : [0]);
      for (const a of stepsOf(parsed)) {
        paths.push([a]);
        for (const b of stepsOf(parsedAt(parsed, [a]))) paths.push([a, b]);
      }
      for (const path of paths) {
        const expected = parsedAt(parsed, path);
        const found = at(text, path);
        if (expected === undefined) expect(found, `seed ${seed} ${JSON.stringify(path)}`).toBeNull();
        else expect(JSON.parse(found!), `seed ${seed} ${JSON.stringify(path)}`).toEqual(expected);
      }
    }
  });
});
