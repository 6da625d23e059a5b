import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';

const depth = (text: string, max = MAX_JSON_DEPTH): boolean => exceedsJsonDepth(Buffer.from(text), max);
const arrays = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const objects = (n: number): string => '{"k":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);

describe('exceedsJsonDepth', () => {
  it('allows 64 levels and refuses 65, for arrays, objects and a mix', () => {
    expect(depth(arrays(64))).toBe(false);
    expect(depth(arrays(65))).toBe(true);
    expect(depth(objects(64))).toBe(false);
    expect(depth(objects(65))).toBe(true);
    const mixed = (n: number): string => '[{"a":'.repeat(n / 2) + '1' + '}]'.repeat(n / 2);
    expect(depth(mixed(64))).toBe(false);
    expect(depth(mixed(66))).toBe(true);
  });

  it('counts nesting, not brackets: many siblings are shallow', () => {
    expect(depth('[' + Array.from({ length: 1000 }, () => '[{}]').join(',') + ']')).toBe(false);
  });

  it('ignores brackets inside strings, across escaped quotes and escaped backslashes', () => {
    expect(depth(JSON.stringify(['['.repeat(100)]))).toBe(false);
    expect(depth(JSON.stringify({ s: '\\"' + '{'.repeat(100) }))).toBe(false);
    // An escaped backslash ends right before the closing quote: what follows is structure.
    expect(depth(JSON.stringify(['\\']) .slice(0, -1) + ',' + arrays(64) + ']')).toBe(true);
  });

  it('measures text that is not JSON: unclosed brackets are refused for their depth', () => {
    expect(depth('['.repeat(65))).toBe(true);
    expect(depth('['.repeat(64))).toBe(false);
  });

  it('works on the bytes of a legacy code page and of multi-byte UTF-8 alike', () => {
    const cp1252 = Buffer.concat([Buffer.from('["'), Buffer.from([0xe4, 0x5b, 0x7b]), Buffer.from('"]')]);
    expect(exceedsJsonDepth(cp1252, 1)).toBe(false);
    expect(depth(JSON.stringify(['äöü€'.repeat(50)]), 1)).toBe(false);
  });
});
