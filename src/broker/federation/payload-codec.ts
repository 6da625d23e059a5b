/**
 * Payloads on an engine's wire: the JSON text of the value. What arrives is parsed back;
 * bytes that are not JSON (a PLC's or a `nats pub`'s plain text) arrive as a string, and
 * an empty body as null.
 */
import { RawJson } from '../../protocol/raw-json.js';

const decoder = new TextDecoder();

/** The JSON text of `value` (`undefined`, which JSON cannot say, becomes an empty body). */
export function encodePayload(value: unknown): string {
  if (value instanceof RawJson) return value.toString();
  return JSON.stringify(value) ?? '';
}

export function decodePayload(data: Uint8Array): unknown {
  const text = decoder.decode(data);
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // a foreign publisher's plain text
  }
}
