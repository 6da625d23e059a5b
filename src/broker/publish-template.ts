/**
 * A connection's publish template: the bytes before the payload of the last plain publish
 * notification it sent. A publisher sends the same envelope around every payload
 * (`{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":` ... `}}`), so a
 * frame that starts with exactly those bytes and ends with `}}` is the same call with a
 * new payload: only the payload needs reading, and validating. This is what lets a
 * publish cost less than parsing it (NATS reads a PUB line the same way).
 *
 * Learned only from a frame that the full scan accepted (call-scan.ts) as a publish
 * notification whose params are exactly `topic` then `payload`; any other frame, and any
 * frame whose payload is not one valid JSON value, takes the full path.
 */
import { INVALID, skipValue, skipWhitespace } from '../protocol/json-scan.js';
import { MAX_JSON_DEPTH } from '../protocol/json-depth.js';
import type { RpcCall } from '../protocol/jsonrpc.js';
import { RawJson } from '../protocol/raw-json.js';
import { FramePrefix } from './frame-prefix.js';

const CLOSE_OBJECT = 0x7d;
/** Longer envelopes (a very long topic) are not kept. */
const MAX_PREFIX_BYTES = 512;

export class PublishTemplate {
  private constructor(
    private readonly prefix: FramePrefix,
    /** The topic every frame matching this template publishes to. */
    readonly topic: string,
  ) {}

  /**
   * The template of `call`, found in `buf` by the full scan, or `null` when it is not a
   * plain publish notification of `topic` then `payload` closed by exactly `}}`.
   */
  static learn(call: RpcCall, buf: Buffer, start: number, end: number): PublishTemplate | null {
    if (call.method !== 'publish' || call.id !== undefined || call.params === undefined || Array.isArray(call.params)) return null;
    const params = call.params;
    const keys = Object.keys(params);
    if (keys.length !== 2 || keys[0] !== 'topic' || keys[1] !== 'payload') return null;
    const payload = params.payload;
    const topic = params.topic;
    if (!(payload instanceof RawJson) || !payload.isBorrowed || typeof topic !== 'string') return null;
    const at = payload.sourceStart;
    if (payload.sourceEnd !== end - 2 || buf[end - 2] !== CLOSE_OBJECT || buf[end - 1] !== CLOSE_OBJECT) return null;
    if (at - start > MAX_PREFIX_BYTES) return null;
    return new PublishTemplate(new FramePrefix(Buffer.from(buf.subarray(start, at))), topic);
  }

  /**
   * The payload of the frame `buf[start..end)` when it matches this template and its
   * payload is one valid JSON value, borrowing `buf`; `null` otherwise.
   */
  payloadOf(buf: Buffer, start: number, end: number): RawJson | null {
    const prefix = this.prefix;
    const n = prefix.length;
    const payloadEnd = end - 2;
    if (payloadEnd - start <= n || buf[payloadEnd] !== CLOSE_OBJECT || buf[end - 1] !== CLOSE_OBJECT) return null;
    if (!prefix.matches(buf, start)) return null;
    // Whitespace before the value is the envelope's, not the payload's, as on the scan.
    const payloadStart = skipWhitespace(buf, start + n, payloadEnd);
    // The frame is level 1 and params level 2, so the payload may open MAX - 2 levels.
    const after = skipValue(buf, payloadStart, payloadEnd, MAX_JSON_DEPTH - 2);
    if (after === INVALID || skipWhitespace(buf, after, payloadEnd) !== payloadEnd) return null;
    return new RawJson(buf, payloadStart, after, true);
  }
}
