/**
 * A connection's batch publish templates: how the `publish` requests inside its batch
 * frames are written, so that the elements of a batch after the first are read from their
 * payload and id alone. A client publishing a backlog (`bridge tail`, `publishBatch`)
 * writes every call of a batch the same way,
 * `{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":` P `,"qos":1},"id":` N `}`,
 * and the full scan of each (its keys, its params object, the topic string looked up
 * again) cost the broker more per line than routing the message.
 *
 * A template is learned only from an element the full scan accepted (call-scan.ts) as a
 * `publish` request whose params are exactly `topic`, `payload` and, optionally, `qos`, in
 * that order, and whose last member is its integer id. Its envelope is then the bytes
 * before the payload and the bytes between the payload and the id's digits. An element
 * with the same bytes around a valid JSON payload and a plain integer id is that call with
 * another payload and id: it is read without the scan, into the call the scan would make.
 * Anything else (whitespace elsewhere than before the payload, another topic, a string
 * id, a payload that is not JSON) is left to the scan, which also refuses what is invalid.
 */
import { INVALID, skipValue, skipWhitespace } from '../protocol/json-scan.js';
import type { BatchElementReader } from '../protocol/call-scan.js';
import { MAX_JSON_DEPTH } from '../protocol/json-depth.js';
import type { RpcCall } from '../protocol/jsonrpc.js';
import { RawJson } from '../protocol/raw-json.js';
import { FramePrefix } from './frame-prefix.js';

const CLOSE_OBJECT = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_N = 0x6e;
/** Longer envelopes (a very long topic) are not kept. */
const MAX_PREFIX_BYTES = 512;
const MAX_MIDDLE_BYTES = 64;
/** Ids of up to this many digits are exact in a double; longer ones take the scan. */
const MAX_ID_DIGITS = 15;
/**
 * Templates kept per connection, the latest learned first: a queue file's lines go to a
 * few topics, and a batch of them mixes those. Past this the oldest is dropped.
 */
const MAX_TEMPLATES = 8;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= ZERO && c <= NINE;
/** What may come right before a member's value: its colon, or JSON whitespace after it. */
const mayPrecedeValue = (c: number | undefined): boolean => c === 0x3a || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The params of a publish read through a template: the scan's, member for member. A type,
 * not an interface, so that it is the params of an `RpcCall` too.
 */
export type TemplatedPublishParams = {
  topic: string;
  payload: RawJson | null;
  qos?: 0 | 1;
};

/**
 * A batch's publish request read through a template: the very call the scan would make of
 * its bytes, and known to be a plain publish (a topic, a payload, a qos of 0 or 1 or none,
 * an integer id), so the dispatcher can publish it without the checks a call of unknown
 * shape needs.
 */
export class TemplatedPublishCall implements RpcCall {
  readonly kind = 'call';
  readonly method = 'publish';
  constructor(
    readonly id: number,
    readonly params: TemplatedPublishParams,
  ) {}
}

class Template {
  constructor(
    readonly prefix: FramePrefix,
    readonly middle: FramePrefix,
    readonly topic: string,
    /** The call's qos param, or undefined when it had none. */
    readonly qos: 0 | 1 | undefined,
  ) {}
}

/**
 * One connection's batch publish templates, as `scanBatch` tries them on each element of
 * the connection's batch frames: learned from what the scan read ({@link scanned}), used
 * on what follows ({@link read}).
 */
export class BatchPublishReader implements BatchElementReader {
  private readonly templates: Template[] = [];
  /** The offset past the element {@link read} took last (see BatchElementReader). */
  end = 0;

  /** Templates held (for tests). */
  get size(): number {
    return this.templates.length;
  }

  read(body: Buffer, i: number, end: number): TemplatedPublishCall | null {
    const templates = this.templates;
    for (let t = 0; t < templates.length; t++) {
      const template = templates[t]!;
      const prefix = template.prefix;
      if (end - i <= prefix.length || !prefix.matches(body, i)) continue;
      return this.readAfterPrefix(template, body, i + prefix.length, end);
    }
    return null;
  }

  /** The rest of an element whose envelope matched `template` up to its payload. */
  private readAfterPrefix(template: Template, body: Buffer, at: number, end: number): TemplatedPublishCall | null {
    // As the scan reads params: whitespace before the value is not part of it.
    const payloadStart = skipWhitespace(body, at, end);
    // A batch is level 1, the call 2 and params 3, so the payload may open MAX - 3 levels.
    const payloadEnd = skipValue(body, payloadStart, end, MAX_JSON_DEPTH - 3);
    if (payloadEnd === INVALID) return null;
    const middle = template.middle;
    const digitsStart = payloadEnd + middle.length;
    if (digitsStart >= end || !middle.matches(body, payloadEnd)) return null;
    let k = digitsStart;
    let id = 0;
    for (; k < end && isDigit(body[k]); k++) {
      if (k - digitsStart === MAX_ID_DIGITS) return null;
      id = id * 10 + (body[k]! - ZERO);
    }
    // JSON writes no leading zero, and the id is the call's last member.
    if (k === digitsStart || (body[digitsStart] === ZERO && k - digitsStart > 1) || k >= end || body[k] !== CLOSE_OBJECT) return null;
    this.end = k + 1;
    // The scan keeps a null payload as a value, not as raw JSON (the contract's "no payload").
    const payload = body[payloadStart] === LOWER_N ? null : new RawJson(body, payloadStart, payloadEnd, true);
    const params: TemplatedPublishParams = template.qos === undefined ? { topic: template.topic, payload } : { topic: template.topic, payload, qos: template.qos };
    return new TemplatedPublishCall(id, params);
  }

  scanned(call: RpcCall, body: Buffer, start: number, end: number): void {
    const template = learn(call, body, start, end);
    if (template === null) return;
    // One per envelope: a newer one of the same prefix (its qos or spacing changed) replaces
    // it, which read() would otherwise find first and give up on.
    const same = this.templates.findIndex((t) => t.prefix.equals(template.prefix));
    if (same >= 0) this.templates.splice(same, 1);
    this.templates.unshift(template);
    if (this.templates.length > MAX_TEMPLATES) this.templates.pop();
  }
}

/** The template of the batch element `call`, read by the scan from `body[start..end)`, or null when it makes none. */
function learn(call: RpcCall, body: Buffer, start: number, end: number): Template | null {
  const id = call.id;
  const params = call.params;
  if (call.method !== 'publish' || typeof id !== 'number' || !Number.isInteger(id) || id < 0 || params === undefined || Array.isArray(params)) return null;
  const keys = Object.keys(params);
  if (keys.length < 2 || keys.length > 3 || keys[0] !== 'topic' || keys[1] !== 'payload' || (keys.length === 3 && keys[2] !== 'qos')) return null;
  const { topic, payload, qos } = params;
  if (typeof topic !== 'string' || !(payload instanceof RawJson) || !payload.isBorrowed) return null;
  if (keys.length === 3 && qos !== 0 && qos !== 1) return null;
  // The id's digits close the call: nothing but them between the middle and the last `}`,
  // and they are the whole number (`-0`, `0.0`, `0e0` or `10e-1` end in their value's
  // digits too, and their sign, point or exponent must not become part of the middle).
  const digits = String(id);
  const digitsStart = end - 1 - digits.length;
  if (body[end - 1] !== CLOSE_OBJECT || digits.length > MAX_ID_DIGITS || body.toString('latin1', digitsStart, end - 1) !== digits) return null;
  if (!mayPrecedeValue(body[digitsStart - 1])) return null;
  const payloadStart = payload.sourceStart;
  const payloadEnd = payload.sourceEnd;
  if (payloadStart - start > MAX_PREFIX_BYTES || digitsStart - payloadEnd > MAX_MIDDLE_BYTES || digitsStart <= payloadEnd) return null;
  return new Template(
    new FramePrefix(Buffer.from(body.subarray(start, payloadStart))),
    new FramePrefix(Buffer.from(body.subarray(payloadEnd, digitsStart))),
    topic,
    keys.length === 3 ? (qos as 0 | 1) : undefined,
  );
}
