/**
 * A frame the fast scan leaves to `JSON.parse` (positional params, escaped or repeated
 * keys, a BOM, a legacy code page, an element of such a batch) still has its raw params,
 * a publish's payload and a reply's result, kept as the text they were written in: parsed
 * and serialised again they would lose what JSON.parse cannot hold (`1e400` became
 * `null`, which as a retained payload clears the topic; `12345678901234567890` lost its
 * last digits).
 */
import { RawJson } from '../protocol/raw-json.js';
import { valueSpan, type JsonStep } from '../protocol/value-span.js';

/** A method's params in positional order, and those it keeps raw. */
export interface RawParamsSpec {
  readonly params: readonly string[];
  readonly rawParams?: readonly string[];
}

/** `n`, the first byte of `null`, the only JSON value that starts with it. */
const NULL_FIRST_BYTE = 0x6e;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * In `value`, `JSON.parse(text)` of a frame (one call or a batch), put each call's raw
 * params back as the text they were written in, taken from `text`.
 * @param specOf the method's spec, when there is such a method
 */
export function restoreRawParams(value: unknown, text: string, specOf: (method: string) => RawParamsSpec | undefined): void {
  let utf8: Buffer | null = null;
  const restore = (call: unknown, at: readonly JsonStep[]): void => {
    if (!isObject(call) || typeof call.method !== 'string') return;
    const spec = specOf(call.method);
    const params = call.params;
    if (spec?.rawParams === undefined || (!isObject(params) && !Array.isArray(params))) return;
    for (const name of spec.rawParams) {
      const step = Array.isArray(params) ? spec.params.indexOf(name) : name;
      if (Array.isArray(params) ? (step as number) < 0 || (step as number) >= params.length : !Object.hasOwn(params, name)) continue;
      // The text as UTF-8: the bytes of a UTF-8 frame (its BOM dropped), and a legacy
      // code page's text as it is delivered.
      utf8 ??= Buffer.from(text, 'utf8');
      const span = valueSpan(utf8, 0, utf8.length, [...at, 'params', step]);
      // null stays a value, as the fast scan leaves it: "no payload" and "no result" test for it.
      if (span === null || utf8[span[0]] === NULL_FIRST_BYTE) continue;
      // Borrowed: kept past the frame, it copies its own bytes out of the frame's.
      (params as Record<string | number, unknown>)[step] = new RawJson(utf8, span[0], span[1], true);
    }
  };
  if (Array.isArray(value)) value.forEach((call, i) => restore(call, [i]));
  else restore(value, []);
}
