/**
 * Payload arguments of `bridge pub`, `request` and `reply`: JSON, or with `--string` the
 * text itself as a JSON string. Text that is not JSON is an error that shows where it
 * broke, never silently a string: `bridge pub t {job:1}` (PowerShell ate the quotes)
 * would otherwise publish the string "{job:1}" and the subscriber would fail far away.
 * JSON goes out as it was written (see {@link jsonText}).
 */
import { at, excerpt, jsonErrorPosition, locateJsonError } from '../src/protocol/json-break.js';
import { RawJson } from '../src/protocol/raw-json.js';
import type { Message } from '../src/client/index.js';
import { CliError } from './cli-error.js';


/** Options of {@link parsePayloadArg}. */
export interface PayloadOptions {
  /** `--string`: the text is the payload, as a JSON string. */
  asString?: boolean;
  /** What the text is, for the message: "the payload", "the answer", "line 3 of stdin". */
  what?: string;
  /** The flag that sends text as a string, for the hint. */
  hint?: string;
}

/**
 * The payload of a `PAYLOAD` argument: `undefined` (no argument) is `null`; with
 * `asString` the text as a string; otherwise the JSON value, kept as its text.
 * @throws CliError when the text is not JSON: where it broke, the line with a caret, and
 *   that `--string` sends it as text
 */
export function parsePayloadArg(text: string | undefined, { asString = false, what = 'the payload', hint }: PayloadOptions = {}): unknown {
  if (text === undefined) return null;
  if (asString) return text;
  try {
    JSON.parse(text);
  } catch {
    throw new CliError(jsonErrorMessage(text, what, hint ?? 'To send it as text, add --string (-s).'));
  }
  return jsonText(text);
}

/**
 * Text `JSON.parse` read, as the value the client sends: kept as the text (whitespace
 * around it aside), so `1e400`, `-0`, `1.0` and digits past a double's precision go out as
 * typed rather than as `null`, `0`, `1` and a rounded number; `null` is the value itself.
 */
export function jsonText(text: string): RawJson | null {
  const trimmed = text.trim();
  if (trimmed === 'null') return null;
  const bytes = Buffer.from(trimmed, 'utf8');
  return new RawJson(bytes, 0, bytes.length, false);
}

/** The message of a text that is not JSON (see {@link parsePayloadArg}). */
export function jsonErrorMessage(text: string, what: string, hint: string, platform: NodeJS.Platform = process.platform): string {
  const err = locateJsonError(text) ?? at(text, 0, 'not valid JSON');
  if (text.trim() === '') return `${what} is empty, which is not JSON. ${hint} Leave the argument out for a null payload.`;
  const bare = /^[^\s"'{}[\],:]+$/.test(text.trim()) ? ` As a JSON string it would be '${JSON.stringify(text.trim())}'.` : '';
  // PowerShell 5.1, Windows' default shell, drops the double quotes inside a native
  // command's argument: '{"job_id":"1"}' arrives as {job_id:1}.
  const shell =
    platform === 'win32' && /^\s*[{[]/.test(text) && !text.includes('"')
      ? `\nIf you typed double quotes, your shell removed them (PowerShell 5.1 does): pipe the JSON in instead, e.g. '{"job_id":"1"}' | bridge pub TOPIC -`
      : '';
  return `${what} is not valid JSON: ${err.reason} at ${jsonErrorPosition(text, err)}\n${excerpt(text, err)}\n${hint}${bare}${shell}`;
}

/**
 * A delivery's payload as one line of JSON: the text the publisher wrote, its layout
 * whitespace taken out (so one message stays one line) and every number, string and
 * escape as written; the parsed value's JSON when the text was not kept.
 */
export function payloadLine(message: Pick<Message, 'payload' | 'payloadText'>): string {
  return message.payloadText === undefined ? JSON.stringify(message.payload) : compactJson(message.payloadText);
}

/** The value a CLI sends on: a delivery's payload as its text when it was kept. */
export function payloadToSend(message: Pick<Message, 'payload' | 'payloadText'>): unknown {
  return message.payloadText === undefined ? message.payload : jsonText(message.payloadText);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON text without the whitespace between its tokens (strings keep theirs). */
export function compactJson(text: string): string {
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * JSON text laid out as `JSON.stringify(value, null, 2)` lays out its value, with every
 * number, string and escape as written.
 */
export function prettyJson(text: string): string {
  const compact = compactJson(text);
  let out = '';
  let depth = 0;
  let inString = false;
  const newline = (): string => '\n' + '  '.repeat(depth);
  for (let i = 0; i < compact.length; i++) {
    const ch = compact[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += compact[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      if (compact[i + 1] === close) {
        out += ch + close;
        i++;
      } else {
        depth++;
        out += ch + newline();
      }
    } else if (ch === '}' || ch === ']') {
      depth--;
      out += newline() + ch;
    } else if (ch === ',') {
      out += ',' + newline();
    } else if (ch === ':') {
      out += ': ';
    } else {
      out += ch;
    }
  }
  return out;
}
