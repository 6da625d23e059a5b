/**
 * Bytes of a queue file -> lines, each with the exact byte range it came from.
 *
 * Lines are split on the encoded newline in BYTES before anything is decoded, which keeps
 * every offset exact (positions are persisted in bytes) and makes a character or a UTF-16
 * code unit split across two reads a non-issue: only complete lines are ever decoded.
 * Splitting on the byte 0x0A is safe for UTF-8 and for the ANSI / DBCS code pages, whose
 * multi-byte sequences never contain it; UTF-16/32 search for the newline code unit at
 * code-unit-aligned positions only.
 *
 * Encoding, as AutoHotkey writes it: a BOM (UTF-8 `EF BB BF`, UTF-16LE `FF FE`, and
 * UTF-16BE `FE FF` for completeness) at the start of the file decides and is stripped;
 * without one the configured code page applies (default Windows-1252, AutoHotkey's CP0 on
 * Western systems). A BOM at the start of any later line also switches: that is what a
 * truncated-and-rewritten or concatenated file looks like in the byte stream.
 */
import { encodingKey, nodeEncodingOf, type NodeEncoding } from '../src/protocol/encoding-names.js';
import { iconvLite } from '../src/protocol/text.js';
import { decodeWindows1252, isWindows1252 } from '../src/protocol/windows-1252.js';

/** AutoHotkey's default (CP0) on Western Windows; override for other ANSI code pages. */
export const DEFAULT_QUEUE_ENCODING = 'windows-1252';

/** A line longer than this (in bytes) is cut; the tailer dead-letters the pieces. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** Where the decoder stands between two lines; persisted with the byte offset. */
export interface DecoderState {
  /** Encoding of the text at this position. */
  readonly encoding: string;
  /** `bom`: a BOM in the file chose it; `default`: the configured code page did. */
  readonly source: 'bom' | 'default';
  /** True inside an overlong line that was cut at `maxLineBytes` (the rest is still to come). */
  readonly midLine: boolean;
}

/** One line with the bytes it came from. */
export interface DecodedLine {
  /** The text without BOM and without CR/LF. */
  readonly text: string;
  /** File offset of the line's first byte (its BOM, when it starts with one). */
  readonly start: number;
  /** File offset just past the line's terminator: where the next line starts. */
  readonly end: number;
  /**
   * Set when the line did not end with a newline: `flush` (taken after the flush timeout
   * or at the end of a rotated file), `overflow` (a piece of a line longer than
   * `maxLineBytes`), `continuation` (the last piece of such a line).
   */
  readonly cut?: 'flush' | 'overflow' | 'continuation';
  /** Decoder state after this line: persist it with `end`. */
  readonly state: DecoderState;
  /** The text's bytes, in the line's encoding: `bytes[textStart, textEnd)`. */
  readonly bytes?: Buffer;
  readonly textStart?: number;
  readonly textEnd?: number;
  /**
   * How `bytes` read without decoding: `utf8` when they are UTF-8, `ascii` when their
   * bytes below 0x80 are ASCII and the others a code page's characters; unset when
   * neither (UTF-16, or a code page that gives ASCII bytes other characters).
   */
  readonly bytesAre?: 'utf8' | 'ascii';
}

/** A line whose bytes can be read as ASCII, and as UTF-8 where {@link DecodedLine.bytesAre} says so. */
export type ReadableBytesLine = DecodedLine & Required<Pick<DecodedLine, 'bytes' | 'textStart' | 'textEnd' | 'bytesAre'>>;

/** Whether `line`'s bytes can be read without decoding them (see {@link DecodedLine.bytesAre}). */
export const hasReadableBytes = (line: DecodedLine): line is ReadableBytesLine => line.bytesAre !== undefined;

interface EncodingInfo {
  name: string;
  /** What its bytes are without decoding (see {@link DecodedLine.bytesAre}). */
  bytesAre: DecodedLine['bytesAre'];
  /** Bytes per code unit of the newline (1 for ASCII-compatible encodings). */
  unit: number;
  nl: Buffer;
  cr: Buffer;
  decode: (buf: Buffer, start: number, end: number) => string;
}

// "UTF-16" in AutoHotkey means little endian; iconv-lite's `utf16` would guess per line.
const ALIASES: Record<string, string> = { utf16: 'utf-16le', utf32: 'utf-32le', utf8: 'utf-8' };

const infoCache = new Map<string, EncodingInfo>();

const ASCII = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i));
const NON_ASCII = /[^\x00-\x7f]/;

const BYTE_NL = Buffer.from([0x0a]);
const BYTE_CR = Buffer.from([0x0d]);

/**
 * The encodings decoded without iconv-lite: Node's own decoders, and Windows-1252 (the
 * default) by its table. A queue in one of these never loads iconv-lite's tables (about
 * 6.5 MB of the tail's memory); on a large backlog iconv-lite's per-call set-up was also
 * most of the decoding time.
 */
const NODE_DECODING: Readonly<Record<NodeEncoding, Omit<EncodingInfo, 'name'>>> = {
  utf8: { bytesAre: 'utf8', unit: 1, nl: BYTE_NL, cr: BYTE_CR, decode: (b, s, e) => b.toString('utf8', s, e) },
  utf16le: { bytesAre: undefined, unit: 2, nl: Buffer.from([0x0a, 0]), cr: Buffer.from([0x0d, 0]), decode: (b, s, e) => b.toString('utf16le', s, e) },
  latin1: { bytesAre: 'ascii', unit: 1, nl: BYTE_NL, cr: BYTE_CR, decode: (b, s, e) => b.toString('latin1', s, e) },
};

/** Whether iconv-lite's `name` decodes the bytes below 0x80 as ASCII. */
function decodesAsciiAsAscii(name: string): boolean {
  return iconvLite().decode(Buffer.from(ASCII, 'latin1'), name, { stripBOM: false }) === ASCII;
}

/**
 * `slow`, preceded by a fast path for lines of ASCII bytes, for an encoding that decodes
 * those as ASCII (the Windows ANSI code pages; not, say, ISO 646-JP, where 0x5C is ¥):
 * Node decodes them natively, and iconv-lite's per-call set-up is paid only by lines with
 * other bytes.
 */
function asciiFastPath(slow: EncodingInfo['decode']): EncodingInfo['decode'] {
  return (b, s, e) => {
    const text = b.toString('latin1', s, e);
    return NON_ASCII.test(text) ? slow(b, s, e) : text;
  };
}

/** An encoding only iconv-lite decodes; loads iconv-lite. */
function iconvInfo(requested: string, name: string): EncodingInfo {
  const iconv = iconvLite();
  if (!iconv.encodingExists(name)) throw new RangeError(`unknown encoding "${requested}"`);
  const nl = iconv.encode('\n', name);
  const cr = iconv.encode('\r', name);
  if (![1, 2, 4].includes(nl.length) || cr.length !== nl.length) {
    throw new RangeError(`encoding "${requested}" has no fixed-width newline; it cannot be split into lines`);
  }
  const slow: EncodingInfo['decode'] = (b, s, e) => iconv.decode(b.subarray(s, e), name, { stripBOM: false });
  const ascii = nl.length === 1 && decodesAsciiAsAscii(name);
  return { name, bytesAre: ascii ? 'ascii' : undefined, unit: nl.length, nl, cr, decode: ascii ? asciiFastPath(slow) : slow };
}

function encodingInfo(requested: string): EncodingInfo {
  const cached = infoCache.get(requested);
  if (cached) return cached;
  const key = encodingKey(requested);
  const name = ALIASES[key] ?? requested;
  const native = nodeEncodingOf(key);
  const info: EncodingInfo = native
    ? { name, ...NODE_DECODING[native] }
    : isWindows1252(key)
      ? { name, bytesAre: 'ascii', unit: 1, nl: BYTE_NL, cr: BYTE_CR, decode: decodeWindows1252 }
      : iconvInfo(requested, name);
  infoCache.set(requested, info);
  return info;
}

/** Throws a RangeError when `encoding` cannot be used for a queue file. */
export function assertQueueEncoding(encoding: string): void {
  encodingInfo(encoding);
}

/** The newline bytes of `encoding` (`0A`, `0A 00`, ...). */
export function newlineBytes(encoding: string): Buffer {
  return encodingInfo(encoding).nl;
}

const BOMS: ReadonlyArray<{ bytes: Buffer; encoding: string }> = [
  { bytes: Buffer.from([0xef, 0xbb, 0xbf]), encoding: 'utf-8' },
  { bytes: Buffer.from([0xff, 0xfe]), encoding: 'utf-16le' },
  { bytes: Buffer.from([0xfe, 0xff]), encoding: 'utf-16be' },
];

/**
 * The BOM at `buf[pos]`, `'more'` when the bytes there are a BOM's beginning but the rest
 * has not arrived yet (AutoHotkey may write the BOM and the text in two calls), else null.
 */
function detectBom(buf: Buffer, pos: number, final: boolean): { encoding: string; length: number } | 'more' | null {
  const first = buf[pos];
  if (first !== 0xef && first !== 0xff && first !== 0xfe) return null; // the common case, fast
  const avail = buf.length - pos;
  for (const bom of BOMS) {
    const n = Math.min(avail, bom.bytes.length);
    if (buf.compare(bom.bytes, 0, n, pos, pos + n) !== 0) continue;
    if (n === bom.bytes.length) return { encoding: bom.encoding, length: n };
    if (!final) return 'more';
  }
  return null;
}

/**
 * Whether `buf[end - unit.length, end)` is `unit`, byte by byte: a line's CR is one to four
 * bytes, and a native `compare` per line was a sixtieth of the tail's CPU on a backlog.
 */
function endsWithUnit(buf: Buffer, end: number, unit: Buffer): boolean {
  const start = end - unit.length;
  for (let i = 0; i < unit.length; i++) if (buf[start + i] !== unit[i]) return false;
  return true;
}

function findNewline(buf: Buffer, from: number, info: EncodingInfo): number {
  if (info.unit === 1) return buf.indexOf(info.nl[0]!, from);
  for (let i = from; ; ) {
    const j = buf.indexOf(info.nl, i);
    if (j < 0 || (j - from) % info.unit === 0) return j;
    i = j + 1; // a match straddling two code units is not a newline
  }
}

/** Options of a {@link QueueDecoder}. */
export interface QueueDecoderOptions {
  /** Encoding when the file has no BOM (any name iconv-lite knows; default Windows-1252). */
  defaultEncoding?: string;
  /** Longest line in bytes before it is cut (default 1 MiB). */
  maxLineBytes?: number;
  /** File offset of the first byte that will be pushed (default 0). */
  offset?: number;
  /** Saved state at `offset` (default: the start of a file). */
  state?: DecoderState;
}

const EMPTY = Buffer.alloc(0);

/**
 * A line as the decoder makes it: its bytes kept, its text decoded when first asked for.
 * A publish read from the bytes (the common `NAME|{...}` line) never needs the text.
 */
class Line implements DecodedLine {
  private decoded: string | undefined;

  constructor(
    readonly bytes: Buffer,
    readonly textStart: number,
    readonly textEnd: number,
    private readonly decode: EncodingInfo['decode'],
    readonly bytesAre: DecodedLine['bytesAre'],
    readonly start: number,
    readonly end: number,
    readonly state: DecoderState,
    readonly cut: DecodedLine['cut'],
  ) {}

  get text(): string {
    return (this.decoded ??= this.decode(this.bytes, this.textStart, this.textEnd));
  }

  /** What a log or a test sees: the line, not the 32 KiB of the file it shares with others. */
  toJSON(): Omit<DecodedLine, 'bytes'> {
    return { text: this.text, start: this.start, end: this.end, cut: this.cut, state: this.state };
  }
}

/**
 * Splits a queue file's bytes, pushed in order in chunks of any size, into lines with
 * exact byte offsets. A partial last line waits in the decoder until its newline arrives
 * or {@link QueueDecoder.flush} takes it.
 */
export class QueueDecoder {
  private readonly defaultEncoding: string;
  private readonly maxLineBytes: number;
  private info: EncodingInfo;
  private state: DecoderState;
  private pending: Buffer = EMPTY;
  private pendingStart: number;
  private fed: number;

  constructor(options: QueueDecoderOptions = {}) {
    this.defaultEncoding = options.defaultEncoding ?? DEFAULT_QUEUE_ENCODING;
    this.maxLineBytes = Math.max(16, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    const saved = options.state;
    // A position whose encoding came from the configured default follows the current
    // configuration; one a BOM chose stays with the BOM.
    const encoding = saved?.source === 'bom' ? saved.encoding : this.defaultEncoding;
    this.info = encodingInfo(encoding);
    this.state = { encoding: this.info.name, source: saved?.source ?? 'default', midLine: saved?.midLine ?? false };
    this.pendingStart = this.fed = options.offset ?? 0;
  }

  /** File offset just past the last byte pushed. */
  get offset(): number {
    return this.fed;
  }

  /** File offset where the waiting partial line starts (= `offset` when none waits). */
  get lineStart(): number {
    return this.pendingStart;
  }

  /** Bytes of a partial line waiting for its newline. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** The current state (as after the last complete line, plus any BOM already seen). */
  get currentState(): DecoderState {
    return this.state;
  }

  /**
   * Feed the next bytes of the file; returns the lines they complete, in order. The lines
   * keep a copy of the bytes: the caller may reuse `chunk` at once.
   */
  push(chunk: Buffer): DecodedLine[] {
    this.fed += chunk.length;
    const buf = Buffer.concat([this.pending, chunk]);
    const base = this.pendingStart;
    const lines: DecodedLine[] = [];
    let pos = 0;
    while (pos < buf.length) {
      let contentStart = pos;
      if (!this.state.midLine) {
        const bom = detectBom(buf, pos, false);
        if (bom === 'more') break;
        if (bom) {
          this.switchTo(bom.encoding);
          contentStart += bom.length;
        }
      }
      const info = this.info;
      const nl = findNewline(buf, contentStart, info);
      // Overlong whether or not its end has come: a line's newline may arrive in the same
      // read as the bytes that take it past the limit.
      if (nl < 0 || nl - contentStart > this.maxLineBytes) {
        if (nl < 0 && buf.length - contentStart <= this.maxLineBytes) break;
        // Overlong: cut on a code-unit boundary so the rest stays aligned.
        const cutEnd = contentStart + Math.floor(this.maxLineBytes / info.unit) * info.unit;
        this.setMidLine(true);
        lines.push(new Line(buf, contentStart, cutEnd, info.decode, info.bytesAre, base + pos, base + cutEnd, this.state, 'overflow'));
        pos = cutEnd;
        continue;
      }
      const cut = this.state.midLine ? ('continuation' as const) : undefined;
      this.setMidLine(false);
      lines.push(this.line(buf, base, pos, contentStart, nl, nl + info.unit, cut));
      pos = nl + info.unit;
    }
    // Copy the partial tail: a subarray would pin the whole (possibly large) chunk after
    // its lines are gone.
    this.pending = pos >= buf.length ? EMPTY : Buffer.from(buf.subarray(pos));
    this.pendingStart = base + pos;
    return lines;
  }

  /**
   * Take a waiting partial line as a complete line (flush timeout, or the end of a file
   * that will not grow again). Returns nothing when no text waits: a lone BOM stays
   * pending, since it says nothing until the first line follows it.
   */
  flush(): DecodedLine[] {
    if (this.pending.length === 0) return [];
    const buf = this.pending;
    let contentStart = 0;
    if (!this.state.midLine) {
      const bom = detectBom(buf, 0, true);
      if (bom && bom !== 'more') {
        this.switchTo(bom.encoding);
        contentStart = bom.length;
      }
    }
    if (contentStart >= buf.length) return [];
    const cut = this.state.midLine ? ('continuation' as const) : ('flush' as const);
    this.setMidLine(false);
    const line = this.line(buf, this.pendingStart, 0, contentStart, buf.length, buf.length, cut);
    this.pending = EMPTY;
    this.pendingStart = this.fed;
    return [line];
  }

  private line(
    buf: Buffer,
    base: number,
    pos: number,
    contentStart: number,
    textEndIn: number,
    end: number,
    cut: DecodedLine['cut'],
  ): DecodedLine {
    const info = this.info;
    let textEnd = textEndIn;
    // CRLF from AutoHotkey v1 (and a final CR left by a flushed line): drop the CR unit.
    if (textEnd - contentStart >= info.unit && (textEnd - contentStart) % info.unit === 0 && endsWithUnit(buf, textEnd, info.cr)) {
      textEnd -= info.unit;
    }
    return new Line(buf, contentStart, textEnd, info.decode, info.bytesAre, base + pos, base + end, this.state, cut);
  }

  private switchTo(encoding: string): void {
    if (this.state.source === 'bom' && this.state.encoding === encoding) return;
    this.info = encodingInfo(encoding);
    this.state = { encoding: this.info.name, source: 'bom', midLine: this.state.midLine };
  }

  private setMidLine(midLine: boolean): void {
    if (this.state.midLine !== midLine) this.state = { ...this.state, midLine };
  }
}
