/** Payloads as the page shows them: the value itself, or its JSON text cut at a bound. */

/** Characters of JSON a payload may take before it is cut. */
export const PREVIEW_CHARS = 2000;

export interface PayloadPreview {
  payload: unknown;
  truncated: boolean;
}

export function previewPayload(payload: unknown): PayloadPreview {
  if (payload === null || typeof payload === 'number' || typeof payload === 'boolean') return { payload, truncated: false };
  if (typeof payload === 'string' && payload.length <= PREVIEW_CHARS) return { payload, truncated: false };
  const text = JSON.stringify(payload) ?? 'null';
  if (text.length <= PREVIEW_CHARS) return { payload, truncated: false };
  return { payload: text.slice(0, PREVIEW_CHARS), truncated: true };
}
