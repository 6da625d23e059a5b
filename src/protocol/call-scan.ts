/**
 * The broker's fast reading of a frame: a JSON-RPC call object is walked once over its
 * bytes, which validates it and finds the method, the id and each param's span, and only
 * the params a handler reads are turned into values. Params that pass through the broker
 * (a publish's payload, a reply's result) stay {@link RawJson}, the bytes they came in.
 *
 * The scan accepts only what it can answer exactly as `JSON.parse` followed by
 * `classify` would: an object with `"jsonrpc":"2.0"`, a string `method`, an optional
 * echoable `id` and optional `params` by name, alone or as every element of a batch (a
 * client that publishes many messages at once sends them as one batch frame). Anything
 * else (an empty batch, positional params, escapes in keys, duplicate keys, invalid
 * JSON, other top-level members) returns `null`, and the caller takes the general path,
 * which also produces every error answer.
 */
import { INVALID, lastStringHadEscape, skipString, skipValue, skipWhitespace, spells } from './json-scan.js';
import { MAX_JSON_DEPTH } from './json-depth.js';
import type { RpcCall, RpcId } from './jsonrpc.js';
import { RawJson } from './raw-json.js';
import { StringInterner } from './string-interner.js';

const QUOTE = 0x22;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Params with more members than this take the general path (and no scratch grows). */
const MAX_PARAMS = 16;

/** Method names, param names and topics repeat in nearly every frame. */
const names = new StringInterner();

/** Which params of `method` to keep as raw JSON; the others become values. */
export type RawParamsOf = (method: string) => readonly string[] | undefined;

// Member spans of the params object, filled by one scan and read before it returns.
const keyStart = new Int32Array(MAX_PARAMS);
const keyEnd = new Int32Array(MAX_PARAMS);
const valueStart = new Int32Array(MAX_PARAMS);
const valueEnd = new Int32Array(MAX_PARAMS);
const keyEscaped = new Uint8Array(MAX_PARAMS);

/**
 * The call in `body[start..end)`, or `null` when the frame needs the general path. Raw
 * params borrow `body`'s bytes ({@link RawJson.own} before keeping them).
 */
export function scanCall(body: Buffer, start: number, end: number, rawParamsOf: RawParamsOf): RpcCall | null {
  const call = scanCallObject(body, start, end, rawParamsOf, 0);
  return call !== null && skipWhitespace(body, callEnd, end) === end ? call : null;
}

/**
 * A shorter reading of some of a batch's elements, tried on each before the scan (the
 * broker's batch publish templates). What it reads must be exactly the call the scan
 * would make of the same bytes; anything else it leaves to the scan.
 */
export interface BatchElementReader {
  /** The call at `body[i]`, the offset past it in {@link end}; null to leave the element to the scan. */
  read(body: Buffer, i: number, end: number): RpcCall | null;
  /** The offset past the call {@link read} returned last. */
  readonly end: number;
  /** The scan read `call` from `body[start..end)`: the reader may learn from it. */
  scanned(call: RpcCall, body: Buffer, start: number, end: number): void;
}

/**
 * The calls of the batch in `body[start..end)`, in order, or `null` when any element (or
 * the batch itself) needs the general path. Nothing is handled before every element is
 * read, so a batch is never half taken by this path and half by the other.
 */
export function scanBatch(body: Buffer, start: number, end: number, rawParamsOf: RawParamsOf, reader: BatchElementReader | null = null): RpcCall[] | null {
  if (end === start || body[start] !== OPEN_ARRAY) return null;
  let i = skipWhitespace(body, start + 1, end);
  if (i >= end || body[i] === CLOSE_ARRAY) return null; // empty: the general path answers it
  const calls: RpcCall[] = [];
  for (;;) {
    let call = reader === null ? null : reader.read(body, i, end);
    let after: number;
    if (call !== null) {
      after = reader!.end;
    } else {
      call = scanCallObject(body, i, end, rawParamsOf, 1);
      if (call === null) return null;
      after = callEnd;
      reader?.scanned(call, body, i, after);
    }
    calls.push(call);
    i = skipWhitespace(body, after, end);
    if (i >= end) return null;
    if (body[i] === CLOSE_ARRAY) break;
    if (body[i] !== COMMA) return null;
    i = skipWhitespace(body, i + 1, end);
  }
  return skipWhitespace(body, i + 1, end) === end ? calls : null;
}

/** Set by {@link scanCallObject}: the offset past the call object it read. */
let callEnd = 0;

/**
 * The call object at `body[start]`, its end left in {@link callEnd}; `outer` is how many
 * arrays enclose it (1 in a batch), which the depth limit counts.
 */
function scanCallObject(body: Buffer, start: number, end: number, rawParamsOf: RawParamsOf, outer: number): RpcCall | null {
  if (end === start || body[start] !== OPEN_OBJECT) return null;
  let method: string | undefined;
  let id: RpcId | undefined;
  let sawVersion = false;
  let sawParams = false;
  let paramCount = 0;
  let i = skipWhitespace(body, start + 1, end);
  if (i < end && body[i] === CLOSE_OBJECT) return null;
  for (;;) {
    if (i >= end || body[i] !== QUOTE) return null;
    const k0 = i + 1;
    i = skipString(body, i, end);
    if (i === INVALID || lastStringHadEscape) return null;
    const k1 = i - 1;
    i = skipWhitespace(body, i, end);
    if (i >= end || body[i] !== COLON) return null;
    i = skipWhitespace(body, i + 1, end);
    const v0 = i;
    const keyLength = k1 - k0;
    if (keyLength === 6 && spells(body, k0, 'method')) {
      if (method !== undefined || body[i] !== QUOTE) return null;
      i = skipString(body, i, end);
      if (i === INVALID || lastStringHadEscape) return null;
      method = names.decode(body, v0 + 1, i - 1);
    } else if (keyLength === 6 && spells(body, k0, 'params')) {
      if (sawParams || body[i] !== OPEN_OBJECT) return null;
      sawParams = true;
      paramCount = scanParams(body, i, end, outer);
      if (paramCount < 0) return null;
      i = paramsEnd;
    } else if (keyLength === 7 && spells(body, k0, 'jsonrpc')) {
      if (sawVersion || !spells(body, i, '"2.0"')) return null;
      sawVersion = true;
      i += 5;
    } else if (keyLength === 2 && spells(body, k0, 'id')) {
      if (id !== undefined) return null;
      i = skipValue(body, i, end, 0);
      if (i === INVALID) return null;
      const parsed = idValue(body, v0, i);
      if (parsed === undefined) return null;
      id = parsed;
    } else {
      return null;
    }
    i = skipWhitespace(body, i, end);
    if (i >= end) return null;
    if (body[i] === CLOSE_OBJECT) break;
    if (body[i] !== COMMA) return null;
    i = skipWhitespace(body, i + 1, end);
  }
  if (!sawVersion || method === undefined) return null;
  callEnd = i + 1;
  if (!sawParams) return { kind: 'call', method, id, params: undefined };
  const params = materialise(body, paramCount, rawParamsOf(method));
  return params === undefined ? null : { kind: 'call', method, id, params };
}

/** Set by {@link scanParams}: the offset past the params object. */
let paramsEnd = 0;

/** Record the members of the params object at `i` (inside `outer` arrays); returns their count, or -1. */
function scanParams(b: Buffer, i: number, end: number, outer: number): number {
  let n = 0;
  i = skipWhitespace(b, i + 1, end);
  if (i < end && b[i] === CLOSE_OBJECT) {
    paramsEnd = i + 1;
    return 0;
  }
  for (;;) {
    if (n === MAX_PARAMS || i >= end || b[i] !== QUOTE) return -1;
    keyStart[n] = i + 1;
    i = skipString(b, i, end);
    if (i === INVALID) return -1;
    keyEnd[n] = i - 1;
    keyEscaped[n] = lastStringHadEscape ? 1 : 0;
    i = skipWhitespace(b, i, end);
    if (i >= end || b[i] !== COLON) return -1;
    i = skipWhitespace(b, i + 1, end);
    valueStart[n] = i;
    // The call is level 1 (2 in a batch) and params one more, so a value may open
    // MAX - 2 (MAX - 3) more levels.
    i = skipValue(b, i, end, MAX_JSON_DEPTH - 2 - outer);
    if (i === INVALID) return -1;
    valueEnd[n] = i;
    n++;
    i = skipWhitespace(b, i, end);
    if (i >= end) return -1;
    if (b[i] === CLOSE_OBJECT) {
      paramsEnd = i + 1;
      return n;
    }
    if (b[i] !== COMMA) return -1;
    i = skipWhitespace(b, i + 1, end);
  }
}

/** The params object, or `undefined` when a key needs the general path (see below). */
function materialise(b: Buffer, count: number, raw: readonly string[] | undefined): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = {};
  for (let n = 0; n < count; n++) {
    // Escaped keys and `__proto__` (an own property for JSON.parse, the prototype for an
    // assignment) are left to the general path, which the caller takes on `undefined`.
    if (keyEscaped[n] === 1) return undefined;
    const key = names.decode(b, keyStart[n]!, keyEnd[n]!);
    if (key === '__proto__' || Object.hasOwn(params, key)) return undefined;
    params[key] = memberValue(b, valueStart[n]!, valueEnd[n]!, raw !== undefined && raw.includes(key), key === 'topic');
  }
  return params;
}

function memberValue(b: Buffer, start: number, end: number, keepRaw: boolean, intern: boolean): unknown {
  const c = b[start]!;
  if (c === 0x6e) return null; // null stays a value: "no payload" and "no result" test for it
  if (keepRaw) return new RawJson(b, start, end, true);
  if (c === QUOTE) {
    skipString(b, start, end);
    if (!lastStringHadEscape) return intern ? names.decode(b, start + 1, end - 1) : b.toString('utf8', start + 1, end - 1);
  } else if (c === 0x74) {
    return true;
  } else if (c === 0x66) {
    return false;
  } else if (c !== OPEN_OBJECT && c !== 0x5b) {
    return numberValue(b, start, end);
  }
  return JSON.parse(b.toString('utf8', start, end));
}

/** An id the broker echoes: a string, null or a safe integer; `undefined` otherwise. */
function idValue(b: Buffer, start: number, end: number): RpcId | undefined {
  const c = b[start]!;
  if (c === 0x6e) return null;
  if (c === QUOTE) {
    skipString(b, start, end);
    return lastStringHadEscape ? (JSON.parse(b.toString('utf8', start, end)) as string) : b.toString('utf8', start + 1, end - 1);
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const n = numberValue(b, start, end);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** Integers of up to 15 digits are exact in a double, so their digits can be summed. */
const EXACT_DIGITS = 15;

/**
 * The value of the JSON number `b[start..end)` (validated already). Integers, which are
 * what ids, QoS and counts are, are read from their digits: `Number` of the text cost a
 * string per value.
 */
function numberValue(b: Buffer, start: number, end: number): number {
  const negative = b[start] === 0x2d;
  let i = negative ? start + 1 : start;
  if (end - i <= EXACT_DIGITS) {
    let value = 0;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
    }
    if (i === end) return negative ? -value : value;
  }
  return Number(b.toString('latin1', start, end));
}

