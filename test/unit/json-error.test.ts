import { describe, expect, it } from 'vitest';
import { describeJsonBreak, findJsonBreak } from '../../bridge/json-error.js';

const where = (text: string): string | null => {
  const b = findJsonBreak(text);
  return b && describeJsonBreak(b);
};

describe('findJsonBreak', () => {
  it('finds nothing wrong in valid JSON', () => {
    for (const text of ['{}', '[]', ' {"a": [1, -2.5e+3, true, false, null, "x\\n\\u00e9\\"", {}]}\r\n', '"s"', '0', '-0.1', '[[[]]]']) {
      expect(findJsonBreak(text), text).toBeNull();
    }
  });

  it('says where a hand-edited file breaks, by line and column, and what was expected', () => {
    expect(where('{\n  "A": "x",\n}')).toBe('line 3, column 1: expected a property name in double quotes, found "}"');
    expect(where("{'A': 'x'}")).toBe(`line 1, column 2: expected a property name in double quotes, found "'"`);
    expect(where('{"A" "x"}')).toBe('line 1, column 6: expected ":" after the property name, found """');
    expect(where('{"A": "x" "B": "y"}')).toBe('line 1, column 11: expected "," or "}", found """');
    expect(where('[1, 2,]')).toBe('line 1, column 7: expected a value (a "string", a number, true, false, null, {...} or [...]), found "]"');
    expect(where('{"A": "C:\\temp\\new"}')).toBeNull(); // \t and \n are escapes: valid, if not what was meant
    expect(where('{"A": "C:\\queue"}')).toMatch(/^line 1, column 11: expected an escape such as .* \(a Windows path needs \\\\ or \/\), found "q"$/);
    expect(where('{"A": "x')).toBe('line 1, column 9: expected a closing " for the string, found the end of the file');
    expect(where('{"A": "a\tb"}')).toBe('line 1, column 9: expected no control character inside a string (write \\n, \\t, ...), found "\\u0009"');
    expect(where('{} {}')).toBe('line 1, column 4: expected the end of the file (one JSON value only), found "{"');
    expect(where('')).toBe('line 1, column 1: expected a value (a "string", a number, true, false, null, {...} or [...]), found the end of the file');
    expect(where('{"A": tru}')).toMatch(/^line 1, column 7: expected a value/);
  });

  it('agrees with JSON.parse on what is JSON, for many generated texts', () => {
    // Deterministic pseudo-random texts over JSON's own alphabet.
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '-', '.', 'e', '+', 't', 'r', 'u', 'e', 'n', 'l', 'a', ' ', '\n', '"a"', '1', 'true', 'null', '\t'];
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let valid = 0;
    for (let k = 0; k < 20_000; k++) {
      let text = '';
      const len = 1 + next(12);
      for (let j = 0; j < len; j++) text += alphabet[next(alphabet.length)];
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      if (parses) valid++;
      expect(findJsonBreak(text) === null, JSON.stringify(text)).toBe(parses);
    }
    expect(valid).toBeGreaterThan(100); // the generator does reach valid JSON
  });
});
