/**
 * JSON text for the fuzz test: a writer that can emit literals JSON.stringify cannot
 * (`1e400`, `9007199254740993`, `-0`), and the contract's view of a frame body (how the
 * broker must decode it and how deep it nests), implemented here from the contract rather
 * than imported from src/ so the oracle does not share the broker's bugs.
 */
import iconv from 'iconv-lite';
import { asWindowsReads } from '../windows-1252-reference.js';
import type { Rng } from './prng.js';

/** A literal that is written out verbatim, e.g. `new Raw('1e400')`. */
export class Raw {
  constructor(readonly text: string) {}
}

export interface WriteStyle {
  /** Shuffle object keys (JSON-RPC members have no order). */
  shuffleKeys?: boolean;
  /** Put random JSON whitespace between tokens. */
  whitespace?: boolean;
}

const WS = [' ', '\t', '\n', '\r', '  '];

/** Serialise `value`, in which `Raw` leaves are written as they are. */
export function writeJson(value: unknown, rng?: Rng, style: WriteStyle = {}): string {
  const ws = (): string => (style.whitespace && rng && rng.chance(0.3) ? rng.pick(WS) : '');
  const write = (v: unknown): string => {
    if (v instanceof Raw) return v.text;
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('writeJson: use Raw for non-finite numbers');
      return JSON.stringify(v);
    }
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => `${write(x)}${ws()}`).join(`,${ws()}`)}]`;
    if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      if (style.shuffleKeys && rng) rng.shuffle(keys);
      const parts = keys.map((k) => `${JSON.stringify(k)}${ws()}:${ws()}${write((v as Record<string, unknown>)[k])}${ws()}`);
      return `{${ws()}${parts.join(`,${ws()}`)}}`;
    }
    throw new Error(`writeJson: cannot write ${typeof v}`);
  };
  return `${ws()}${write(value)}${ws()}`;
}

/** Prefix `body` with its 4-byte big-endian length. */
export function frameOf(body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text the broker must see for `body`: UTF-8 when it is valid UTF-8 (one leading BOM
 * dropped, as docs/protocol.md decides), otherwise the legacy code page (Windows-1252).
 */
export function decodeBody(body: Buffer): string {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    // The five bytes Windows-1252 leaves undefined read as Windows reads them (U+0081...).
    return asWindowsReads(iconv.decode(body, 'windows-1252'), body, 'windows-1252');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** True when `text` survives a round trip through Windows-1252 and the bytes are not UTF-8. */
export function cp1252Body(text: string): Buffer | null {
  const bytes = iconv.encode(text, 'windows-1252');
  if (iconv.decode(bytes, 'windows-1252') !== text) return null;
  try {
    UTF8.decode(bytes);
    return null; // valid UTF-8 too, so the broker would (rightly) read it as UTF-8
  } catch {
    return bytes;
  }
}

export interface DepthScan {
  /** Deepest nesting of arrays and objects outside strings, the top level being 1. */
  max: number;
  /**
   * The text closed more brackets than it opened at some point. Scanners that measure
   * depth may reasonably differ on such (invalid) text, so the oracle allows either
   * answer for it.
   */
  wentNegative: boolean;
}

/**
 * Nesting depth as the contract counts it, on the bytes: brackets, quote and backslash
 * are single bytes in UTF-8 and Windows-1252 and never part of a multi-byte sequence.
 */
export function scanDepth(body: Buffer): DepthScan {
  let depth = 0;
  let max = 0;
  let wentNegative = false;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) {
      inString = true;
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) max = depth;
    } else if (b === 0x5d || b === 0x7d) {
      if (--depth < 0) wentNegative = true;
    }
  }
  return { max, wentNegative };
}

/** A readable, bounded rendering of a frame body for failure messages. */
export function showBody(body: Buffer, limit = 300): string {
  let text: string | null = null;
  try {
    text = UTF8.decode(body);
  } catch {
    // not UTF-8: shown as hex below
  }
  if (text !== null) {
    const shown = JSON.stringify(text.length > limit ? text.slice(0, limit) : text);
    return text.length > limit ? `${shown}... (${body.length} bytes)` : shown;
  }
  const hex = body.subarray(0, Math.floor(limit / 2)).toString('hex');
  return `hex:${hex}${body.length > limit / 2 ? `... (${body.length} bytes, not UTF-8)` : ' (not UTF-8)'}`;
}
