/**
 * Where a value sits in a JSON text, found over its bytes. The broker's general reading
 * of a frame (positional params, escaped or repeated keys, a BOM, a legacy code page)
 * parses it into values with `JSON.parse`; with this it still keeps a publish's payload
 * as the text it was written in, as the fast scan does (call-scan.ts), where a value
 * serialised again would lose what JSON.parse cannot hold (`1e400`, `-0`, `1.0`, digits
 * past a double's precision) or merge repeated keys.
 */
import { MAX_JSON_DEPTH } from './json-depth.js';
import { INVALID, lastStringHadEscape, skipString, skipValue, skipWhitespace } from './json-scan.js';

const QUOTE = 0x22;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** A step into a JSON value: a member's name in an object, or an index in an array. */
export type JsonStep = string | number;

/**
 * The span `[start, end)` of the value `path` leads to in the JSON text `b[from, to)`; for
 * a name, that of the last member of that name, the one `JSON.parse` keeps. Null when
 * there is none, or the text on the way is not JSON.
 */
export function valueSpan(b: Uint8Array, from: number, to: number, path: readonly JsonStep[]): [number, number] | null {
  let at = skipWhitespace(b, from, to);
  // Each step checks what it passes through; the whole text is not read first, since both
  // callers hand over text JSON.parse has read (a journal's recovery reads every record).
  let end = path.length === 0 ? skipValue(b, at, to, MAX_JSON_DEPTH) : INVALID;
  for (let depth = 0; depth < path.length; depth++) {
    const step = path[depth]!;
    const found = typeof step === 'number' ? element(b, at, to, step, MAX_JSON_DEPTH - depth - 1) : member(b, at, to, step, MAX_JSON_DEPTH - depth - 1);
    if (found === null) return null;
    [at, end] = found;
  }
  return end === INVALID ? null : [at, end];
}

/** The span of element `index` of the array at `b[at]`. */
function element(b: Uint8Array, at: number, to: number, index: number, depth: number): [number, number] | null {
  if (b[at] !== OPEN_ARRAY) return null;
  let i = skipWhitespace(b, at + 1, to);
  if (b[i] === CLOSE_ARRAY) return null;
  for (let n = 0; ; n++) {
    const start = skipWhitespace(b, i, to);
    const end = skipValue(b, start, to, depth);
    if (end === INVALID) return null;
    if (n === index) return [start, end];
    i = skipWhitespace(b, end, to);
    if (b[i] !== COMMA) return null;
    i++;
  }
}

/** The span of the last member named `name` of the object at `b[at]`. */
function member(b: Uint8Array, at: number, to: number, name: string, depth: number): [number, number] | null {
  if (b[at] !== OPEN_OBJECT) return null;
  let i = skipWhitespace(b, at + 1, to);
  if (b[i] === CLOSE_OBJECT) return null;
  let found: [number, number] | null = null;
  for (;;) {
    if (b[i] !== QUOTE) return null;
    const keyEnd = skipString(b, i, to);
    if (keyEnd === INVALID) return null;
    const key = lastStringHadEscape ? (JSON.parse(Buffer.from(b.buffer, b.byteOffset + i, keyEnd - i).toString('utf8')) as string) : Buffer.from(b.buffer, b.byteOffset + i + 1, keyEnd - i - 2).toString('utf8');
    i = skipWhitespace(b, keyEnd, to);
    if (b[i] !== COLON) return null;
    const start = skipWhitespace(b, i + 1, to);
    const end = skipValue(b, start, to, depth);
    if (end === INVALID) return null;
    if (key === name) found = [start, end];
    i = skipWhitespace(b, end, to);
    if (b[i] === CLOSE_OBJECT) return found;
    if (b[i] !== COMMA) return null;
    i = skipWhitespace(b, i + 1, to);
  }
}
