/**
 * Payloads on an engine's wire: the JSON text of the value. What arrives is kept as that
 * text ({@link RawJson}), so a payload crosses the link as the bytes its publisher sent,
 * as it crosses a broker: `1e400`, `-0`, `1.0` and integers past 2^53 stay as written,
 * where a parse and a serialisation would make them `null`, `0`, `1` and a rounded
 * number. Bytes that are not JSON (a PLC's or a `nats pub`'s plain text) arrive as a
 * string, and an empty body as null.
 */
import { MAX_JSON_DEPTH } from '../../protocol/json-depth.js';
import { INVALID, skipValue, skipWhitespace, spells } from '../../protocol/json-scan.js';
import { jsonValue, RawJson } from '../../protocol/raw-json.js';

const decoder = new TextDecoder();

/**
 * Levels a payload may nest: a frame may nest {@link MAX_JSON_DEPTH}, and a payload sits
 * two levels inside its frame (the frame's object and its params). Deeper JSON would be
 * refused from a local publisher, and a value parsed from it could not be serialised
 * again: a delivery of it would throw.
 */
export const MAX_PAYLOAD_DEPTH = MAX_JSON_DEPTH - 2;

/** Characters a JSON string writes as an escape (a lone surrogate too: `\\udXXX`, six bytes). */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * How many bytes of UTF-8 JSON text `value` is, which is what its delivery carries:
 * a kept text's own length; a string (a foreign publisher's plain text) its bytes and
 * quotes, serialised only when it holds something JSON escapes (a control byte is one
 * byte, and six as `\\u0001`); anything else serialised.
 */
export function payloadBytes(value: unknown): number {
  if (value instanceof RawJson) return value.length;
  if (typeof value === 'string' && !ESCAPED.test(value)) return Buffer.byteLength(value) + 2;
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

/** The JSON text of `value` (`undefined`, which JSON cannot say, becomes an empty body). */
export function encodePayload(value: unknown): string {
  if (value instanceof RawJson) return value.toString();
  return JSON.stringify(value) ?? '';
}

/**
 * The payload `data` carries: its JSON text kept as it is (surrounding whitespace aside),
 * or, for bytes that are not JSON the broker takes, the text as a string. That includes
 * JSON nested deeper than {@link MAX_PAYLOAD_DEPTH}: a foreign publisher cannot be told
 * no, and as a string it reaches subscribers whole and harmless. Bytes that are not UTF-8
 * are read with U+FFFD in their place, as before, and then kept as text like any other.
 */
export function decodePayload(data: Uint8Array): unknown {
  if (data.length === 0) return null;
  const json = jsonText(data);
  if (json !== NOT_JSON) return json;
  const text = decoder.decode(data);
  if (text === '') return null;
  // Not UTF-8: the text read with replacement characters may be JSON all the same.
  const read = jsonText(Buffer.from(text, 'utf8'));
  return read === NOT_JSON ? text : read;
}

const NOT_JSON = Symbol('not JSON');

/**
 * `data` as kept JSON text when it is exactly one JSON value the broker takes, else
 * {@link NOT_JSON}. `null` is the value itself, as a local publish's is: it is what
 * clears a retained topic.
 */
function jsonText(data: Uint8Array): RawJson | null | typeof NOT_JSON {
  const start = skipWhitespace(data, 0, data.length);
  const end = skipValue(data, start, data.length, MAX_PAYLOAD_DEPTH);
  if (end === INVALID || skipWhitespace(data, end, data.length) !== data.length) return NOT_JSON;
  if (end - start === 4 && spells(data, start, 'null')) return null;
  // A copy of its own: an engine client may hand a view of the buffer it reads into.
  const bytes = Buffer.from(data.subarray(start, end));
  return new RawJson(bytes, 0, bytes.length, false);
}

/** The text of a remote error's message, which travels as a payload (a JSON string, mostly). */
export function decodeErrorMessage(data: Uint8Array): string {
  return String(jsonValue(decodePayload(data)));
}
