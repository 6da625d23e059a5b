/** Payloads as the page shows them: the value itself, or its JSON text cut at a bound. */
import { jsonValue, RawJson } from '../../src/protocol/raw-json.js';

/** Characters of JSON a payload may take before it is cut. */
export const PREVIEW_CHARS = 2000;

export interface PayloadPreview {
  payload: unknown;
  truncated: boolean;
}

export function previewPayload(payload: unknown): PayloadPreview {
  if (payload === null || typeof payload === 'number' || typeof payload === 'boolean') return { payload, truncated: false };
  // A payload still in its received bytes is cut as text, without parsing a large one.
  const text = payload instanceof RawJson ? payload.toString() : (JSON.stringify(payload) ?? 'null');
  if (text.length <= PREVIEW_CHARS) return { payload: jsonValue(payload), truncated: false };
  return { payload: text.slice(0, PREVIEW_CHARS), truncated: true };
}
