/**
 * Where a text stops being JSON, for messages about text people type or edit by hand
 * (a payload argument, a config file). JSON.parse's own message is V8's wording, differs
 * between Node versions and names no position at all for some errors (a cut-off file);
 * this scanner walks the grammar (RFC 8259) itself, iteratively, so any depth is fine.
 */

/** Where and why a text is not JSON. `line` and `column` count from 1. */
export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_$][\w$-]*/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

/** Controls (C0, DEL, C1) and the bidi embeddings, overrides and isolates. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const INVISIBLES = new RegExp(INVISIBLE.source, 'g');

function describeChar(c: string): string {
  if (c === '\n') return 'a line break';
  if (c === '\t') return 'a tab';
  // Written out as JSON escapes it: the raw character would act on the terminal showing
  // the message (an ESC starting a sequence, a bidi override reversing the line).
  if (INVISIBLE.test(c)) return `"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}"`;
  return `"${c}"`;
}

/**
 * Find the first place `text` breaks the JSON grammar (RFC 8259), or `null` when it is
 * valid JSON. `JSON.parse` does the parsing; this only explains its failures, with the
 * same position on every Node version (V8's messages vary and sometimes give none).
 */
export function locateJsonError(text: string): JsonSyntaxError | null {
  const n = text.length;
  let i = 0;
  const stack: ('[' | '{')[] = [];
  // value: a value must come; first: a value or the container's close (right after the
  // open); key / firstKey: the same for object keys; after: a value just ended.
  let state: 'value' | 'first' | 'key' | 'firstKey' | 'after' = 'value';
  const fail = (reason: string): JsonSyntaxError => at(text, i, reason);

  const scanString = (): string | null => {
    i++; // the opening quote
    for (;;) {
      if (i >= n) return 'unterminated string (no closing ")';
      const c = text[i]!;
      if (c === '"') {
        i++;
        return null;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === undefined) {
          i++;
          return 'unterminated string (no closing ")';
        }
        if (e === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return 'invalid \\u escape (needs 4 hex digits)';
          i += 6;
          continue;
        }
        // A Windows path with single backslashes is the usual cause.
        if (!'"\\/bfnrt'.includes(e)) return `invalid escape "\\${e}" in a string (write each backslash in a path as \\\\, or use /)`;
        i += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) return `${describeChar(c)} inside a string (write it as \\n or \\t)`;
      i++;
    }
  };

  for (;;) {
    while (i < n && WS.has(text[i]!)) i++;
    const c = text[i];
    const top = stack.at(-1);
    const close = top === '[' ? ']' : '}';
    if (state === 'after') {
      if (top === undefined) return i < n ? fail(`unexpected ${describeChar(c!)} after the end of the JSON value`) : null;
      if (c === undefined) return fail(`unexpected end of input: expected "," or "${close}"`);
      if (c === ',') {
        i++;
        state = top === '[' ? 'value' : 'key';
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        return fail(`expected "," or "${close}", found ${describeChar(c)}`);
      }
      continue;
    }
    if (state === 'key' || state === 'firstKey') {
      if (c === undefined) return fail('unexpected end of input: expected a property name');
      if (c === '}' && state === 'firstKey') {
        i++;
        stack.pop();
        state = 'after';
        continue;
      }
      if (c === '}') return fail('a comma before "}" (trailing commas are not JSON)');
      if (c !== '"') return fail(`expected a property name in double quotes, found ${describeChar(c)}`);
      const err = scanString();
      if (err) return fail(err);
      while (i < n && WS.has(text[i]!)) i++;
      if (text[i] !== ':') return fail(`expected ":" after the property name${i < n ? `, found ${describeChar(text[i]!)}` : ''}`);
      i++;
      state = 'value';
      continue;
    }
    // A value.
    if (c === undefined) return fail(top === undefined ? 'no JSON value (the text is empty)' : 'unexpected end of input: expected a value');
    if (c === ']' && state === 'first') {
      i++;
      stack.pop();
      state = 'after';
      continue;
    }
    if (c === ']' && top === '[') return fail('a comma before "]" (trailing commas are not JSON)');
    if (c === ']' || c === '}') return fail(`expected a value, found "${c}"`);
    if (c === '{' || c === '[') {
      stack.push(c);
      i++;
      state = c === '{' ? 'firstKey' : 'first';
      continue;
    }
    state = 'after';
    if (c === '"') {
      const err = scanString();
      if (err) return fail(err);
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) return fail('invalid number');
      i += m[0].length;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(text)?.[0];
    if (word === 'true' || word === 'false' || word === 'null') {
      i += word.length;
      continue;
    }
    if (word !== undefined) return fail(`unexpected word "${word}" (text must be a "double-quoted" JSON string)`);
    if (c === "'") return fail('JSON strings use double quotes, not \'single\' ones');
    if (c === '/') return fail('unexpected "/": JSON allows no comments');
    return fail(`unexpected ${describeChar(c)}`);
  }
}

export function at(text: string, offset: number, reason: string): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1, reason };
}

const EXCERPT_WIDTH = 72;

/**
 * The line of `text` where `err` is, and a caret under the spot, each indented by two
 * spaces; a long line is cut to a window around the spot.
 */
export function excerpt(text: string, err: JsonSyntaxError): string {
  const lines = text.split('\n');
  let line = (lines[err.line - 1] ?? '').replace(/\r$/, '').replace(INVISIBLES, ' ');
  let caret = err.column - 1;
  if (line.length > EXCERPT_WIDTH) {
    const start = Math.max(0, Math.min(caret - Math.floor(EXCERPT_WIDTH / 2), line.length - EXCERPT_WIDTH));
    const end = start + EXCERPT_WIDTH;
    line = (start > 0 ? '...' : '') + line.slice(start, end) + (end < line.length ? '...' : '');
    caret = caret - start + (start > 0 ? 3 : 0);
  }
  return `  ${line}\n  ${' '.repeat(Math.max(0, caret))}^`;
}

/** `line 3, column 12` for multi-line text, `column 12` for one line. */
export function jsonErrorPosition(text: string, err: JsonSyntaxError): string {
  return text.includes('\n') ? `line ${err.line}, column ${err.column}` : `column ${err.column}`;
}
