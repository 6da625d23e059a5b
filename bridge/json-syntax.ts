/**
 * Where a JSON text breaks, as line and column, for a config file that JSON.parse refused.
 * JSON.parse's own message is V8's wording, which differs between Node versions and names
 * no position at all for a truncated file; a small scanner of the JSON grammar does.
 */

/** The first place `text` stops being JSON. Lines and columns count from 1. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  /** What is there: `"}"`, `end of file`. */
  found: string;
  /** A likely cause users make by hand (a trailing comma, a comment), if it looks like one. */
  hint?: string;
}

class Break extends Error {
  constructor(
    readonly offset: number,
    readonly hint?: string,
  ) {
    super('JSON syntax error');
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);
/** Deeper than this, the scanner gives up rather than recurse further (JSON.parse already refused the text). */
const MAX_DEPTH = 1000;

class Scanner {
  private i = 0;

  constructor(private readonly text: string) {}

  run(): void {
    this.ws();
    this.value(0);
    this.ws();
    if (this.i < this.text.length) throw new Break(this.i);
  }

  private ws(): void {
    while (this.i < this.text.length && WS.has(this.text[this.i]!)) this.i++;
  }

  private fail(): never {
    const c = this.text[this.i];
    if (c === '/') throw new Break(this.i, 'JSON allows no comments; remove it');
    throw new Break(this.i);
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) throw new Break(this.i);
    const c = this.text[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    if (c === "'") throw new Break(this.i, 'use double quotes: JSON strings take no single quotes');
    this.fail();
  }

  private object(depth: number): void {
    this.i++; // {
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] === '}') throw new Break(this.i, 'remove the comma before it: JSON allows no trailing comma');
      if (this.text[this.i] !== '"') {
        if (this.text[this.i] === "'") throw new Break(this.i, 'use double quotes: JSON strings take no single quotes');
        if (/[A-Za-z_$]/.test(this.text[this.i] ?? '')) throw new Break(this.i, 'put the name in double quotes');
        this.fail();
      }
      this.string();
      this.ws();
      if (this.text[this.i] !== ':') this.fail();
      this.i++;
      this.ws();
      this.value(depth + 1);
      this.ws();
      const c = this.text[this.i];
      if (c === '}') {
        this.i++;
        return;
      }
      if (c !== ',') {
        if (c === '"') throw new Break(this.i, 'a comma is missing before it');
        this.fail();
      }
      this.i++;
    }
  }

  private array(depth: number): void {
    this.i++; // [
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] === ']') throw new Break(this.i, 'remove the comma before it: JSON allows no trailing comma');
      this.value(depth + 1);
      this.ws();
      const c = this.text[this.i];
      if (c === ']') {
        this.i++;
        return;
      }
      if (c !== ',') {
        if (c === '"' || c === '{' || c === '[') throw new Break(this.i, 'a comma is missing before it');
        this.fail();
      }
      this.i++;
    }
  }

  private string(): void {
    this.i++; // "
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined) throw new Break(this.i);
      if (c === '"') {
        this.i++;
        return;
      }
      if (c < ' ') throw new Break(this.i, c === '\n' ? 'a string is not closed on its line' : 'escape control characters in strings');
      if (c === '\\') {
        const e = this.text[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) throw new Break(this.i, 'a \\u escape takes 4 hex digits');
          this.i += 6;
          continue;
        }
        // A Windows path with single backslashes is the usual cause.
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Break(this.i, 'write each backslash in a path as \\\\, or use /');
        this.i += 2;
        continue;
      }
      this.i++;
    }
  }

  private number(): void {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.i));
    if (!m) this.fail();
    this.i += m[0].length;
  }
}

/**
 * Where `text` stops being JSON, or null when it is valid JSON (JSON.parse must have
 * refused it for another reason).
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  try {
    new Scanner(text).run();
    return null;
  } catch (err) {
    if (!(err instanceof Break)) throw err;
    const before = text.slice(0, err.offset);
    const line = before.split('\n').length;
    const column = err.offset - (before.lastIndexOf('\n') + 1) + 1;
    const ch = text[err.offset];
    const found = ch === undefined ? 'end of file' : JSON.stringify(ch);
    return { line, column, found, ...(err.hint ? { hint: err.hint } : {}) };
  }
}
