import { describe, expect, it } from 'vitest';
import { excerpt, locateJsonError } from '../../src/protocol/json-break.js';
import { Rng } from '../helpers/fuzz/prng.js';

describe('locateJsonError on hand-edited files', () => {
  it.each([
    ['{"a": 1,}', { line: 1, column: 9 }, 'trailing commas are not JSON'],
    ['[1, 2,\n]', { line: 2, column: 1 }, 'trailing commas are not JSON'],
    ['{\n  // a comment\n  "a": 1\n}', { line: 2, column: 3 }, 'expected a property name in double quotes, found "/"'],
    ['[\n  // a comment\n  1\n]', { line: 2, column: 3 }, 'JSON allows no comments'],
    ["{'a': 1}", { line: 1, column: 2 }, 'expected a property name in double quotes'],
    ['{"path": "C:\\Program Files"}', { line: 1, column: 13 }, 'write each backslash in a path as \\\\, or use /'],
    ['{"a": [1, 2', { line: 1, column: 12 }, 'unexpected end of input'],
    ['{"a": tru}', { line: 1, column: 7 }, 'unexpected word "tru"'],
    ['{"a": 01}', { line: 1, column: 8 }, 'expected "," or "}", found "1"'],
    ['{"a": 1} x', { line: 1, column: 10 }, 'after the end of the JSON value'],
    ['\r\n\r\n  "x\ny"', { line: 3, column: 5 }, 'a line break inside a string'],
    ['{\n  "scripts": [\n    { "path": "a.ahk" }\n    { "path": "b.ahk" }\n  ]\n}\n', { line: 4, column: 5 }, 'expected "," or "]", found "{"'],
  ])('%j breaks at %j: %s', (text, where, reason) => {
    expect(() => JSON.parse(text)).toThrow();
    const err = locateJsonError(text);
    expect(err).toMatchObject(where);
    expect(err!.reason).toContain(reason);
  });

  it('shows the line with a caret under the spot', () => {
    const text = '{\n  "a": 1,\n}';
    expect(excerpt(text, locateJsonError(text)!)).toBe('  }\n  ^');
  });

  it('writes a control character or a bidi override out as its escape, in the reason and the excerpt', () => {
    // Raw, an ESC would start a terminal sequence in the message, and an override
    // would show the rest of the line reversed.
    for (const [text, reason, line] of [
      ['\u001b[31mred', 'unexpected "\\u001b"', '   [31mred'],
      ['{"a": \u202e1}', 'unexpected "\\u202e"', '  {"a":  1}'],
      ['{"a\u009b": x}', 'unexpected word "x"', '  {"a ": x}'],
      ['"a\u0007b"', '"\\u0007" inside a string', '  "a b"'],
    ] as const) {
      const err = locateJsonError(text);
      expect(err, text).not.toBeNull();
      expect(err!.reason, text).toContain(reason);
      expect(excerpt(text, err!).split('\n')[0], text).toBe(line);
    }
  });

  it('agrees with JSON.parse on what is JSON, for many generated texts', () => {
    // Texts over JSON's own alphabet, so that a good share of them are valid.
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '-', '.', 'e', '+', 't', 'r', 'u', 'e', 'n', 'l', 'a', ' ', '\n', '"a"', '1', 'true', 'null', '\t', '/'];
    const rng = new Rng(12_345);
    let valid = 0;
    for (let k = 0; k < 20_000; k++) {
      let text = '';
      const len = rng.int(1, 12);
      for (let j = 0; j < len; j++) text += rng.pick(alphabet);
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      if (parses) valid++;
      expect(locateJsonError(text) === null, JSON.stringify(text)).toBe(parses);
    }
    expect(valid).toBeGreaterThan(100); // the generator does reach valid JSON
  });
});
