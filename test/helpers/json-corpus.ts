/**
 * Seeded JSON text for the scanner tests: every kind of value, written the ways a client
 * may write it (whitespace between tokens, every escape, exponents, multibyte text), so
 * that a byte scanner can be compared with `JSON.parse` on text `JSON.stringify` would
 * never produce.
 */
import type { Rng } from './fuzz/prng.js';

export const WS = [' ', '\n', '\r', '\t', '  ', '\r\n'];
export const SIMPLE_ESCAPES = ['\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t'];
export const CHARS = ['a', 'Z', '0', ' ', '~', '\u007f', 'é', 'ß', '€', '日本', '😀', '\u2028', '\ufeff', '\u{10ffff}', '\ud7ff', '\ue000', '{', '[', ':', ','];
export const NUMBERS = ['0', '-0', '1', '-1', '42', '1e5', '1E5', '1e+5', '1E+5', '1e-5', '0.5', '-0.5', '0e0', '0.0e-0', '123.456e78', '1e400', '-1e-400', '9007199254740993', '3.14159'];

/** Writes random JSON text; `value(depth)` nests at most `depth` containers. */
export class JsonWriter {
  constructor(private readonly rng: Rng) {}

  ws(): string {
    return this.rng.chance(0.25) ? this.rng.pick(WS) : '';
  }

  string(): string {
    let s = '"';
    for (let n = this.rng.int(0, 8); n > 0; n--) {
      const kind = this.rng.int(0, 9);
      if (kind === 0) s += this.rng.pick(SIMPLE_ESCAPES);
      else if (kind === 1) s += `\\u${this.hex4()}`;
      else if (kind <= 4) s += this.rng.pick(CHARS);
      else s += String.fromCharCode(this.rng.int(0x20, 0x7e)).replace(/["\\]/, 'q');
    }
    return `${s}"`;
  }

  hex4(): string {
    const h = this.rng.int(0, 0xffff).toString(16).padStart(4, '0');
    return this.rng.chance(0.5) ? h.toUpperCase() : h;
  }

  number(): string {
    if (this.rng.chance(0.5)) return this.rng.pick(NUMBERS);
    let s = this.rng.chance(0.3) ? '-' : '';
    s += this.rng.chance(0.2) ? '0' : String(this.rng.int(1, 99999));
    if (this.rng.chance(0.3)) s += `.${this.rng.int(0, 9999)}`;
    if (this.rng.chance(0.3)) s += `${this.rng.pick(['e', 'E'])}${this.rng.pick(['', '+', '-'])}${this.rng.int(0, 400)}`;
    return s;
  }

  value(depth: number): string {
    const kind = depth <= 0 ? this.rng.int(0, 3) : this.rng.int(0, 5);
    switch (kind) {
      case 0:
        return this.string();
      case 1:
        return this.number();
      case 2:
        return this.rng.pick(['true', 'false', 'null']);
      case 3:
        return this.rng.chance(0.5) ? this.number() : this.string();
      case 4: {
        const items: string[] = [];
        for (let n = this.rng.int(0, 4); n > 0; n--) items.push(`${this.ws()}${this.value(depth - 1)}${this.ws()}`);
        return `[${items.join(',') || this.ws()}]`;
      }
      default: {
        const members: string[] = [];
        for (let n = this.rng.int(0, 4); n > 0; n--) members.push(`${this.ws()}${this.string()}${this.ws()}:${this.ws()}${this.value(depth - 1)}${this.ws()}`);
        return `{${members.join(',') || this.ws()}}`;
      }
    }
  }

  document(): string {
    return `${this.ws()}${this.value(this.rng.int(0, 5))}${this.ws()}`;
  }
}

