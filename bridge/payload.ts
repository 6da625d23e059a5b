/**
 * Payload arguments of `bridge pub`, `request` and `reply`: JSON, or with `--string` the
 * text itself as a JSON string. Text that is not JSON is an error that shows where it
 * broke, never silently a string: `bridge pub t {job:1}` (PowerShell ate the quotes)
 * would otherwise publish the string "{job:1}" and the subscriber would fail far away.
 */
import { at, excerpt, jsonErrorPosition, locateJsonError } from '../src/protocol/json-break.js';
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
 * `asString` the text as a string; otherwise the JSON value.
 * @throws CliError when the text is not JSON: where it broke, the line with a caret, and
 *   that `--string` sends it as text
 */
export function parsePayloadArg(text: string | undefined, { asString = false, what = 'the payload', hint }: PayloadOptions = {}): unknown {
  if (text === undefined) return null;
  if (asString) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(jsonErrorMessage(text, what, hint ?? 'To send it as text, add --string (-s).'));
  }
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
