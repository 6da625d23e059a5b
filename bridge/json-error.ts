/**
 * Where a JSON text breaks, as line and column and what was expected there, for messages
 * about files users edit by hand. `JSON.parse` says where only for some errors, and only
 * as a character position inside prose; this scanner walks the grammar itself.
 */

/** Where and why a text stops being JSON. */
export interface JsonBreak {
  /** 0-based character offset of the first character no JSON text could have there. */
  offset: number;
  /** 1-based line of that character. */
  line: number;
  /** 1-based column of that character. */
  column: number;
  /** What would have been valid there, e.g. `a property name in double quotes`. */
  expected: string;
  /** The offending character (log-safe), or `end of file`. */
  found: string;
}

class Break {
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {}
}

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** Where `text` stops being JSON, or `null` when it is valid JSON. */
export function findJsonBreak(text: string): JsonBreak | null {
  let i = 0;
  const fail = (expected: string): never => {
    throw new Break(i, expected);
  };
  const ws = (): void => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const str = (): void => {
    i++; // the opening quote
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('a closing " for the string');
      if (c === '"') {
        i++;
        return;
      }
      if (c! < ' ') fail('no control character inside a string (write \\n, \\t, ...)');
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && ESCAPES.has(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          fail('an escape such as \\" \\\\ \\n or \\u00e9 (a Windows path needs \\\\ or /)');
        }
      } else {
        i++;
      }
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a property name in double quotes');
        str();
        ws();
        if (text[i] !== ':') fail('":" after the property name');
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') return str();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if ((c === '-' || (c !== undefined && c >= '0' && c <= '9')) && NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    fail('a value (a "string", a number, true, false, null, {...} or [...])');
  };
  try {
    value();
    ws();
    if (i < text.length) fail('the end of the file (one JSON value only)');
    return null;
  } catch (err) {
    if (!(err instanceof Break)) throw err;
    return locate(text, err);
  }
}

function locate(text: string, b: Break): JsonBreak {
  const before = text.slice(0, b.offset);
  const line = before.split('\n').length;
  const column = b.offset - (before.lastIndexOf('\n') + 1) + 1;
  const ch = text[b.offset];
  const found = ch === undefined ? 'end of file' : /[\u0000-\u001f\u007f]/.test(ch) ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
  return { offset: b.offset, line, column, expected: b.expected, found };
}

/** `line 3, column 12: expected ..., found "x"` for a message. */
export function describeJsonBreak(b: JsonBreak): string {
  const found = b.found === 'end of file' ? 'the end of the file' : `"${b.found}"`;
  return `line ${b.line}, column ${b.column}: expected ${b.expected}, found ${found}`;
}
