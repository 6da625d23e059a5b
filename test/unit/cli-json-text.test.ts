/**
 * The CLI's JSON text: what `bridge pub`, `request` and `reply` send (the text as typed)
 * and how `sub`, `request` and `reply` show what they receive (one line, or laid out with
 * `--pretty`), every number and string as written.
 */
import { describe, expect, it } from 'vitest';
import { compactJson, jsonText, parsePayloadArg, payloadLine, prettyJson } from '../../bridge/payload.js';
import { RawJson } from '../../src/protocol/raw-json.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { JsonWriter, NUMBERS } from '../helpers/json-corpus.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('compactJson and prettyJson', () => {
  it('take out the whitespace between tokens only, and lay the text out as JSON.stringify(value, null, 2) does', () => {
    let laidOutAlike = 0;
    for (const seed of SEEDS) {
      const json = new JsonWriter(new Rng(seed));
      for (let n = 0; n < 300; n++) {
        const text = json.value(4);
        const value: unknown = JSON.parse(text);
        const compact = compactJson(text);
        expect(JSON.parse(compact), text).toEqual(value);
        expect(compactJson(compact)).toBe(compact);
        expect(JSON.parse(prettyJson(text)), text).toEqual(value);
        // Where the text is spelled as JSON.stringify spells it, the layouts must match too.
        if (JSON.stringify(value) === compact) {
          laidOutAlike++;
          expect(prettyJson(text), text).toBe(JSON.stringify(value, null, 2));
        }
      }
    }
    expect(laidOutAlike).toBeGreaterThan(200);
  });

  it('keep numbers, escapes and the spaces inside strings as written', () => {
    const text = ' { "n" : 1.0e5 ,\n\t"big":12345678901234567890, "z" : [ -0 , 1E+5, 1e400 ], "s" : "a b\\u00e9 \\" {x}" , "e" : { } , "a":[ ] }\n';
    expect(compactJson(text)).toBe('{"n":1.0e5,"big":12345678901234567890,"z":[-0,1E+5,1e400],"s":"a b\\u00e9 \\" {x}","e":{},"a":[]}');
    expect(prettyJson(text)).toBe(
      [
        '{',
        '  "n": 1.0e5,',
        '  "big": 12345678901234567890,',
        '  "z": [',
        '    -0,',
        '    1E+5,',
        '    1e400',
        '  ],',
        '  "s": "a b\\u00e9 \\" {x}",',
        '  "e": {},',
        '  "a": []',
        '}',
      ].join('\n'),
    );
    for (const n of NUMBERS) expect(compactJson(` ${n} `)).toBe(n);
  });
});

describe('payload arguments and payload lines', () => {
  it('a JSON argument is sent as typed (a RawJson of its text); null is the value; --string is the text', () => {
    const sent = parsePayloadArg(' {"f":1e400, "n":-0}\n');
    expect(sent).toBeInstanceOf(RawJson);
    expect(String(sent)).toBe('{"f":1e400, "n":-0}');
    expect(parsePayloadArg('null')).toBeNull();
    expect(parsePayloadArg(undefined)).toBeNull();
    expect(parsePayloadArg('1e400', { asString: true })).toBe('1e400');
    expect(jsonText(' [1.0] ')?.toString()).toBe('[1.0]');
  });

  it("a delivery's line is its payload text, compacted, when the client kept it; else its value's JSON", () => {
    expect(payloadLine({ payload: null, payloadText: '{ "n" : 1e400 }' })).toBe('{"n":1e400}');
    expect(payloadLine({ payload: { n: 1 } })).toBe('{"n":1}');
  });
});
