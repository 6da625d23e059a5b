/**
 * The one-pass call reader (src/protocol/call-scan.ts) against the general path it
 * short-cuts: whenever `scanCall` (or `scanBatch`) answers, its call (each call) must
 * equal what the dispatcher's general path makes of the same bytes (decodeFrameText, JSON.parse, the depth limit,
 * classify), with the raw params unwrapped; and what the general path answers differently
 * (or could, for a frame the scan would read wrongly) must make it return null.
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/broker/handlers/index.js';
import { scanBatch, scanCall, type RawParamsOf } from '../../src/protocol/call-scan.js';
import { MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';
import { classify, type RpcCall } from '../../src/protocol/jsonrpc.js';
import { RawJson } from '../../src/protocol/raw-json.js';
import { decodeFrameText } from '../../src/protocol/text.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { mutate } from '../helpers/byte-damage.js';
import { JsonWriter } from '../helpers/json-corpus.js';

/** The broker's own table (payload, result), plus a made-up method with several raw params. */
const rawOf: RawParamsOf = (method) => (method === 'x.multi' ? ['a', 'b', 'payload'] : METHODS.get(method)?.rawParams);

/** Bytes around the frame: each would complete a frame cut short, if read past `end`. */
const PREFIXES = ['', '{', 'xx', '{"jsonrpc":"2.0",', '\u0000\u0000\u0000\u0010'];
const SUFFIXES = ['', '}', '"}', ',"id":1}', '0"}}', ']', ' ', '.0"}', 'null}}'];

function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce<number>((m, x) => Math.max(m, depthOf(x)), 0);
  if (v !== null && typeof v === 'object') return 1 + Object.values(v).reduce<number>((m, x) => Math.max(m, depthOf(x)), 0);
  return 0;
}

/** What the dispatcher's general path makes of `body`: the call it handles, or null for anything else. */
function generalPath(body: Buffer): RpcCall | null {
  if (body.length === 0) return null;
  let value: unknown;
  try {
    value = JSON.parse(decodeFrameText(body));
  } catch {
    return null;
  }
  if (Array.isArray(value) || depthOf(value) > MAX_JSON_DEPTH) return null;
  const c = classify(value);
  return c.kind === 'call' ? c : null;
}

interface Outcome {
  scanned: RpcCall | null;
  reference: RpcCall | null;
}

/**
 * Scan `text` (inside a larger buffer when `rng` is given) and check the property: a
 * non-null scan equals the general path's call, raw params unwrapped, RawJson only for
 * the params `rawOf` names and never for a literal null.
 */
function check(body: Buffer, rng?: Rng): Outcome {
  const prefix = Buffer.from(rng ? rng.pick(PREFIXES) : '', 'utf8');
  const suffix = Buffer.from(rng ? rng.pick(SUFFIXES) : '', 'utf8');
  const buf = Buffer.concat([prefix, body, suffix]);
  const scanned = scanCall(buf, prefix.length, prefix.length + body.length, rawOf);
  const reference = generalPath(body);
  const what = show(body);
  if (scanned !== null) {
    expect(reference, `general path refuses what the scan took: ${what}`).not.toBeNull();
    expect(isUtf8(body), what).toBe(true);
    const call = unwrap(scanned, what);
    // toEqual tells -0 from 0; the key lists catch an `undefined` member on one side.
    // (Not toStrictEqual: it compares `.constructor`, which a "constructor" param replaces.)
    expect(call, what).toEqual(reference);
    expect(Object.keys(call).sort(), what).toEqual(Object.keys(reference!).sort());
    if (call.params !== undefined) expect(Object.keys(call.params), what).toEqual(Object.keys(reference!.params!));
  }
  return { scanned, reference };
}

function unwrap(call: RpcCall, what: string): RpcCall {
  if (call.params === undefined || Array.isArray(call.params)) return call;
  const raw = rawOf(call.method) ?? [];
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(call.params)) {
    if (v instanceof RawJson) {
      expect(raw, `${k} is raw in ${what}`).toContain(k);
      const text = v.toString();
      expect(text, `raw ${k} is the value's text, no whitespace around it: ${what}`).toBe(text.trim());
      expect(text).not.toBe('null');
      expect(v.length).toBe(Buffer.byteLength(text));
      params[k] = v.value;
    } else {
      if (raw.includes(k)) expect(v, `${k} should be raw unless null in ${what}`).toBeNull();
      params[k] = v;
    }
  }
  return { ...call, params };
}

function show(body: Buffer): string {
  return isUtf8(body) ? JSON.stringify(body.toString('utf8')) : `hex:${body.toString('hex')}`;
}

// ---------------------------------------------------------------- frame generation

const METHOD_NAMES = ['publish', 'reply', 'request', 'subscribe', 'ping', 'ack', 'connect', 'x.multi', 'nope', '', 'é.method', 'a'.repeat(70)];
const PARAM_KEYS = ['topic', 'payload', 'qos', 'ttl', 'retain', 'patterns', 'result', 'error', 'reply_to', 'message_id', 'a', 'b', 'client_id', 'constructor', 'toString', 'hasOwnProperty', '', 'é', '日本', 'k'.repeat(80)];
const TOPICS = ['a', 'a.b', 'jobs.created', 'é.ü', '日本.語', 'x'.repeat(65), 'x'.repeat(64)];
/** Ids the fast path reads, written as they may arrive; the general path reads them alike. */
const PLAIN_IDS = ['1', '0', '-0', '-7', '9007199254740991', '-9007199254740991', '1.0', '1e2', '1E+2', '2.50e1', 'null', '"abc"', '""', '"é😀"', '"\\u0041\\n"'];
/** Numbers around the 15 digits a double holds exactly; those of 17 and more digits round differently when summed digit by digit. */
const EDGE_NUMBERS = ['123456789012345', '-999999999999999', '1234567890123456', '9007199254740993', '38745820895822188', '-1528204278260763042', '0', '-0', '1e2', '12.5', '-1.0e-3'];
const BAD_IDS = ['1.5', '9007199254740992', '-9007199254740992', '1e400', 'true', 'false', '{}', '[1]', '{"a":1}', '[]', '0.1e1x'];

interface Member {
  key: string;
  value: string;
}

class FrameWriter {
  private readonly json: JsonWriter;
  constructor(private readonly rng: Rng) {
    this.json = new JsonWriter(rng);
  }

  ws(): string {
    return this.json.ws();
  }

  object(members: Member[]): string {
    const parts = members.map((m) => `${this.ws()}${m.key}${this.ws()}:${this.ws()}${m.value}${this.ws()}`);
    return `{${parts.join(',') || this.ws()}}`;
  }

  paramValue(key: string): string {
    const r = this.rng;
    if (key === 'topic' && r.chance(0.7)) return JSON.stringify(r.pick(TOPICS));
    if (r.chance(0.15)) return 'null';
    if (r.chance(0.1)) return r.pick(EDGE_NUMBERS);
    return this.json.value(r.int(0, 4));
  }

  /** A call the fast path must read: unique plain keys, a plain method, an echoable id. */
  plain(): { text: string; method: string } {
    const r = this.rng;
    const method = r.pick(METHOD_NAMES);
    const top: Member[] = [
      { key: '"jsonrpc"', value: '"2.0"' },
      { key: '"method"', value: JSON.stringify(method) },
    ];
    if (r.chance(0.7)) top.push({ key: '"id"', value: r.pick(PLAIN_IDS) });
    if (r.chance(0.85)) {
      const keys = r.shuffle([...PARAM_KEYS]).slice(0, r.int(0, 16));
      top.push({ key: '"params"', value: this.object(keys.map((k) => ({ key: JSON.stringify(k), value: this.paramValue(k) }))) });
    }
    return { text: `${this.object(r.shuffle(top))}${this.ws()}`, method };
  }

  /** A frame with one or more things the fast path must leave to the general path. */
  unusual(): string {
    const r = this.rng;
    const top: Member[] = [
      { key: '"jsonrpc"', value: '"2.0"' },
      { key: '"method"', value: JSON.stringify(r.pick(METHOD_NAMES)) },
    ];
    const params: Member[] = r.shuffle([...PARAM_KEYS]).slice(0, r.int(0, 6)).map((k) => ({ key: JSON.stringify(k), value: this.paramValue(k) }));
    const faults = r.int(1, 2);
    for (let f = 0; f < faults; f++) {
      switch (r.int(0, 15)) {
        case 0:
          top.push({ key: '"id"', value: r.pick(BAD_IDS) });
          break;
        case 1: // an escaped key, at the top or in params
          if (r.chance(0.5)) top[r.int(0, top.length - 1)]!.key = r.pick(['"\\u006aSONrpc"', '"j\\u0073onrpc"', '"m\\u0065thod"', '"\\u0069d"']);
          else params.push({ key: r.pick(['"\\u0074opic"', '"pay\\u006coad"', '"\\n"', '"a\\"b"']), value: this.paramValue('topic') });
          break;
        case 2: // a duplicate key, at the top or in params
          if (r.chance(0.5)) top.push({ ...r.pick(top), value: r.pick(['"2.0"', '"ping"', '"publish"', '1']) });
          else if (params.length > 0) params.push({ ...r.pick(params), value: this.paramValue('topic') });
          else params.push({ key: '"a"', value: '1' }, { key: '"a"', value: '2' });
          break;
        case 3:
          params.push({ key: '"__proto__"', value: r.pick(['{"qos":1}', 'null', '1', '[]']) });
          break;
        case 4:
          if (top[0]) top[0].value = r.pick(['"1.0"', '2.0', '"2.00"', '"2\\u002e0"', 'null', '"2.0 "', '" 2.0"']);
          break;
        case 5:
          if (top[1]) top[1].value = r.pick(['1', 'null', '["publish"]', '{"m":1}', 'true', '"pub\\u006cish"', '"\\u0070ing"']);
          break;
        case 6:
          top.push({ key: r.pick(['"result"', '"error"', '"foo"', '"Method"', '""']), value: this.json.value(1) });
          break;
        case 7:
          top.push({ key: '"params"', value: r.pick(['[]', '[1,2]', '["a.b",1]', 'null', '"x"', '3', 'true']) });
          break;
        case 8: // more than 16 params
          for (let k = 0; k < 17; k++) params.push({ key: JSON.stringify(`p${k}`), value: String(k) });
          break;
        case 9: // jsonrpc or method missing
          top.splice(r.int(0, 1), 1);
          break;
        default:
          break; // the frame-level faults below
      }
    }
    if (params.length > 0 || r.chance(0.5)) top.push({ key: '"params"', value: this.object(params) });
    let text = this.object(r.shuffle(top));
    switch (r.int(0, 9)) {
      case 0:
        text += r.pick(['x', '}', ',', '{}', ' 1', '\u0000', '"']);
        break;
      case 1:
        text = `\ufeff${text}`;
        break;
      case 2:
        text = `${r.pick([' ', '\n', '\t'])}${text}`;
        break;
      case 3:
        text = `[${text}]`;
        break;
      case 4:
        text = r.pick(['{}', '{ }', '[]', '""', '1', 'null', '']);
        break;
      default:
        break;
    }
    return text;
  }
}

/** Latin-1 text as Windows-1252 bytes: an AutoHotkey v1 client's "ANSI" frame. */
function cp1252(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

// ---------------------------------------------------------------- tests

describe('scanCall equals classify(JSON.parse(...)) whenever it answers', () => {
  it('reads every plain call of a 5,000-frame corpus, at random offsets in a larger buffer (seeded)', () => {
    const rng = new Rng(15_101);
    const w = new FrameWriter(rng);
    let withParams = 0;
    let raw = 0;
    for (let n = 0; n < 5000; n++) {
      const { text } = w.plain();
      const body = Buffer.from(text, 'utf8');
      const { scanned, reference } = check(body, rng);
      expect(reference, `generated an invalid frame: ${text}`).not.toBeNull();
      expect(scanned, `plain call left to the general path: ${text}`).not.toBeNull();
      if (scanned?.params !== undefined) withParams++;
      if (scanned?.params !== undefined && Object.values(scanned.params).some((v) => v instanceof RawJson)) raw++;
    }
    expect(withParams).toBeGreaterThan(3500);
    expect(raw).toBeGreaterThan(500);
  });

  it('never answers differently on 5,000 unusual frames and 10,000 byte mutations of plain ones (seeded)', () => {
    const rng = new Rng(15_102);
    const w = new FrameWriter(rng);
    let unusualNull = 0;
    let mutatedScanned = 0;
    let mutatedNull = 0;
    for (let n = 0; n < 5000; n++) {
      const body = Buffer.from(w.unusual(), 'utf8');
      if (check(body, rng).scanned === null) unusualNull++;
    }
    for (let n = 0; n < 10_000; n++) {
      const body = mutate(rng, Buffer.from(w.plain().text, 'utf8'));
      if (check(body, rng).scanned === null) mutatedNull++;
      else mutatedScanned++;
    }
    // Most unusual frames have a fault the scan must see (the generator sometimes adds none).
    expect(unusualNull).toBeGreaterThan(3500);
    expect(mutatedNull).toBeGreaterThan(5000);
    expect(mutatedScanned).toBeGreaterThan(300);
  });

  it('keeps RawJson for exactly the params rawOf names, and a literal null as null', () => {
    const text = '{"jsonrpc":"2.0","method":"x.multi","params":{"a":{"k":[1, 2]},"b":null,"payload":"s","c":{"k":1}},"id":1}';
    const buf = Buffer.from(`junk${text}junk`);
    const call = scanCall(buf, 4, 4 + text.length, rawOf)!;
    const p = call.params as Record<string, unknown>;
    expect(p.a).toBeInstanceOf(RawJson);
    expect((p.a as RawJson).toString()).toBe('{"k":[1, 2]}');
    expect((p.a as RawJson).isBorrowed).toBe(true);
    expect(p.b).toBeNull();
    expect(p.payload).toBeInstanceOf(RawJson);
    expect(p.c).toEqual({ k: 1 });
    // publish: the payload is raw, nothing else is.
    const pubText = Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":[1],"qos":1}}');
    const published = scanCall(pubText, 0, pubText.length, rawOf)!.params as Record<string, unknown>;
    expect(published.payload).toBeInstanceOf(RawJson);
    expect(published.topic).toBe('t');
    expect(published.qos).toBe(1);
    const nullPayload = Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":null}}');
    expect((scanCall(nullPayload, 0, nullPayload.length, rawOf)!.params as Record<string, unknown>).payload).toBeNull();
    const nullResult = Buffer.from('{"jsonrpc":"2.0","method":"reply","params":{"reply_to":"r","result": null }}');
    expect((scanCall(nullResult, 0, nullResult.length, rawOf)!.params as Record<string, unknown>).result).toBeNull();
  });

  it('accepts params nested to the depth limit and leaves one level more to the general path', () => {
    // The frame is level 1 and params level 2, so a param may nest 62 levels itself.
    const frame = (levels: number): Buffer =>
      Buffer.from(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":${'['.repeat(levels)}1${']'.repeat(levels)}}}`);
    const atLimit = check(frame(MAX_JSON_DEPTH - 2));
    expect(atLimit.reference).not.toBeNull();
    expect(atLimit.scanned).not.toBeNull();
    const past = check(frame(MAX_JSON_DEPTH - 1));
    expect(past.reference).toBeNull();
    expect(past.scanned).toBeNull();
  });
});

describe('scanCall leaves to the general path', () => {
  const P = '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":1},"id":1}';
  const cases: [string, string | Buffer][] = [
    ['a batch', `[${P}]`],
    ['a batch of one with whitespace', ` [ ${P} ] `],
    ['positional params', '{"jsonrpc":"2.0","method":"publish","params":["t.a",1],"id":1}'],
    ['an escaped top-level key', '{"jsonrpc":"2.0","m\\u0065thod":"ping","id":1}'],
    ['an escaped params key', '{"jsonrpc":"2.0","method":"publish","params":{"\\u0074opic":"t.a","payload":1},"id":1}'],
    ['an escaped method name', '{"jsonrpc":"2.0","method":"p\\u0069ng","id":1}'],
    ['a duplicate method', '{"jsonrpc":"2.0","method":"ping","method":"nope","id":1}'],
    ['a duplicate id', '{"jsonrpc":"2.0","method":"ping","id":1,"id":2}'],
    ['a duplicate id, first null', '{"jsonrpc":"2.0","method":"ping","id":null,"id":2}'],
    ['a duplicate jsonrpc', '{"jsonrpc":"2.0","jsonrpc":"1.0","method":"ping","id":1}'],
    ['duplicate params', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a"},"params":{"topic":"t.b"},"id":1}'],
    ['a duplicate param', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":1,"topic":"t.b"},"id":1}'],
    ['a duplicate raw param', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":1,"payload":2},"id":1}'],
    ['a duplicate param written once escaped', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","\\u0074opic":"t.b"},"id":1}'],
    ['a "__proto__" param', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":1,"__proto__":{"qos":1}},"id":1}'],
    ['a "__proto__" param that is null', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","__proto__":null}}'],
    ['jsonrpc "1.0"', '{"jsonrpc":"1.0","method":"ping","id":1}'],
    ['jsonrpc 2.0 as a number', '{"jsonrpc":2.0,"method":"ping","id":1}'],
    ['jsonrpc "2.00"', '{"jsonrpc":"2.00","method":"ping","id":1}'],
    ['jsonrpc missing', '{"method":"ping","id":1}'],
    ['method missing', '{"jsonrpc":"2.0","id":1}'],
    ['a numeric method', '{"jsonrpc":"2.0","method":1,"id":1}'],
    ['a null method', '{"jsonrpc":"2.0","method":null,"id":1}'],
    ['an array method', '{"jsonrpc":"2.0","method":["ping"],"id":1}'],
    ['an object id', '{"jsonrpc":"2.0","method":"ping","id":{"a":1}}'],
    ['an array id', '{"jsonrpc":"2.0","method":"ping","id":[1]}'],
    ['a boolean id', '{"jsonrpc":"2.0","method":"ping","id":true}'],
    ['a fractional id', '{"jsonrpc":"2.0","method":"ping","id":1.5}'],
    ['an unsafe integer id', '{"jsonrpc":"2.0","method":"ping","id":9007199254740992}'],
    ['an id of 1e400', '{"jsonrpc":"2.0","method":"ping","id":1e400}'],
    ['params null', '{"jsonrpc":"2.0","method":"ping","params":null,"id":1}'],
    ['params a string', '{"jsonrpc":"2.0","method":"ping","params":"x","id":1}'],
    ['a result member', '{"jsonrpc":"2.0","method":"ping","result":1,"id":1}'],
    ['an unknown member', '{"jsonrpc":"2.0","method":"ping","extra":1,"id":1}'],
    ['trailing garbage', `${P}x`],
    ['a second object', `${P}{}`],
    ['a trailing comma', `${P},`],
    ['a trailing NUL', `${P}\u0000`],
    ['a BOM', `\ufeff${P}`],
    ['leading whitespace', ` ${P}`],
    ['an empty object', '{}'],
    ['an empty object with whitespace', '{ \n }'],
    ['an empty frame', ''],
    ['a scalar', '"ping"'],
    ['17 params', `{"jsonrpc":"2.0","method":"publish","params":{${Array.from({ length: 16 }, (_, k) => `"p${k}":${k}`).join(',')},"topic":"t.a"},"id":1}`],
    ['invalid JSON in a param', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":[1,]},"id":1}'],
    ['a control character in a string', '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":"a\u0001b"},"id":1}'],
    ['windows-1252 "é" in the topic', cp1252('{"jsonrpc":"2.0","method":"publish","params":{"topic":"caf\u00e9","payload":1},"id":1}')],
    ['windows-1252 "é" in the payload', cp1252('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":"caf\u00e9"},"id":1}')],
    ['windows-1252 "é" in the method', cp1252('{"jsonrpc":"2.0","method":"caf\u00e9","id":1}')],
    ['windows-1252 "é" in an id', cp1252('{"jsonrpc":"2.0","method":"ping","id":"caf\u00e9"}')],
    ['windows-1252 "é" in a key', cp1252('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","caf\u00e9":1},"id":1}')],
    ['an overlong UTF-8 "/" in the payload', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"},"id":1}')])],
    ['a UTF-8 surrogate in the topic', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","payload":1},"id":1}')])],
  ];

  for (const [what, text] of cases) {
    it(`${what}`, () => {
      const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      // Inside a larger buffer too, with bytes after it that would "repair" it.
      for (const suffix of ['', '}', '"}', ',"id":1}']) {
        const buf = Buffer.concat([Buffer.from('{"a":'), body, Buffer.from(suffix)]);
        expect(scanCall(buf, 5, 5 + body.length, rawOf), show(body)).toBeNull();
      }
    });
  }

  it('a frame cut anywhere (the rest of the buffer holding the missing bytes)', () => {
    const body = Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":{"k":"\\u00e9 \u00e9","n":[1e5,-0.5,true,null]},"qos":1},"id":"x"}');
    expect(scanCall(body, 0, body.length, rawOf)).not.toBeNull();
    for (let end = 0; end < body.length; end++) {
      expect(scanCall(body, 0, end, rawOf), body.subarray(0, end).toString()).toBeNull();
    }
  });

  it('while the general path still reads the windows-1252 frames as calls (they are not refused, only not short-cut)', () => {
    const body = cp1252('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":"caf\u00e9"},"id":1}');
    expect(generalPath(body)).toEqual({ kind: 'call', method: 'publish', id: 1, params: { topic: 't.a', payload: 'caf\u00e9' } });
  });
});

/** What the general path makes of a batch: its calls when every element is one, else null. */
function generalBatch(body: Buffer): RpcCall[] | null {
  let value: unknown;
  try {
    value = JSON.parse(decodeFrameText(body));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length === 0 || depthOf(value) > MAX_JSON_DEPTH) return null;
  const calls = value.map((v) => classify(v));
  return calls.every((c) => c.kind === 'call') ? (calls as RpcCall[]) : null;
}

/** Scan `body` as a batch inside a larger buffer; a non-null answer equals the general path's, call by call. */
function checkBatch(body: Buffer, rng: Rng): { scanned: RpcCall[] | null; reference: RpcCall[] | null } {
  const prefix = Buffer.from(rng.pick(PREFIXES), 'utf8');
  const suffix = Buffer.from(rng.pick([...SUFFIXES, ']', ',{}]', '}]']), 'utf8');
  const buf = Buffer.concat([prefix, body, suffix]);
  const scanned = scanBatch(buf, prefix.length, prefix.length + body.length, rawOf);
  const reference = generalBatch(body);
  const what = show(body);
  if (scanned !== null) {
    expect(reference, `general path refuses the batch the scan took: ${what}`).not.toBeNull();
    expect(scanned.length, what).toBe(reference!.length);
    scanned.forEach((call, i) => expect(unwrap(call, what), `element ${i} of ${what}`).toEqual(reference![i]));
  }
  return { scanned, reference };
}

describe('scanBatch equals the general path call by call whenever it answers', () => {
  it('reads 1,000 batches of 1-20 plain calls, whitespace anywhere JSON allows it (seeded)', () => {
    const rng = new Rng(15_201);
    const w = new FrameWriter(rng);
    let elements = 0;
    for (let n = 0; n < 1000; n++) {
      const calls = Array.from({ length: rng.int(1, 20) }, () => `${w.ws()}${w.plain().text}`);
      const body = Buffer.from(`${w.ws()}[${calls.join(',')}${w.ws()}]${w.ws()}`.trimStart(), 'utf8');
      const { scanned, reference } = checkBatch(body, rng);
      expect(reference, `generated an invalid batch: ${show(body)}`).not.toBeNull();
      expect(scanned, `plain batch left to the general path: ${show(body)}`).not.toBeNull();
      elements += scanned?.length ?? 0;
    }
    expect(elements).toBeGreaterThan(7500);
  });

  it('never answers differently when one element is unusual, or the batch is damaged byte by byte (seeded)', () => {
    const rng = new Rng(15_202);
    const w = new FrameWriter(rng);
    let refused = 0;
    let damagedTaken = 0;
    for (let n = 0; n < 3000; n++) {
      const calls = Array.from({ length: rng.int(1, 6) }, () => w.plain().text);
      calls.splice(rng.int(0, calls.length), 0, w.unusual());
      if (checkBatch(Buffer.from(`[${calls.join(',')}]`, 'utf8'), rng).scanned === null) refused++;
    }
    for (let n = 0; n < 6000; n++) {
      const calls = Array.from({ length: rng.int(1, 4) }, () => w.plain().text);
      if (checkBatch(mutate(rng, Buffer.from(`[${calls.join(',')}]`, 'utf8')), rng).scanned !== null) damagedTaken++;
    }
    expect(refused).toBeGreaterThan(2000);
    expect(damagedTaken).toBeGreaterThan(100);
  });

  it('counts the array of a batch toward the depth limit', () => {
    // Array level 1, call 2, params 3: a param may nest 61 levels itself.
    const batch = (levels: number): Buffer =>
      Buffer.from(`[{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":${'['.repeat(levels)}1${']'.repeat(levels)}}}]`);
    const rng = new Rng(15_203);
    const atLimit = checkBatch(batch(MAX_JSON_DEPTH - 3), rng);
    expect(atLimit.reference).not.toBeNull();
    expect(atLimit.scanned).not.toBeNull();
    const past = checkBatch(batch(MAX_JSON_DEPTH - 2), rng);
    expect(past.reference).toBeNull();
    expect(past.scanned).toBeNull();
  });

  const P = '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.a","payload":1},"id":1}';
  const N = '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t.b","payload":{"k":[2]}}}';
  it('reads a batch of requests and notifications in order, payloads raw', () => {
    const body = Buffer.from(` [ ${P} ,\n${N}\t] `.trimStart());
    const calls = scanBatch(body, 0, body.length, rawOf)!;
    expect(calls.map((c) => [c.method, c.id])).toEqual([['publish', 1], ['publish', undefined]]);
    const payload = (calls[1]!.params as Record<string, unknown>).payload as RawJson;
    expect(payload).toBeInstanceOf(RawJson);
    expect(payload.toString()).toBe('{"k":[2]}');
  });

  const cases: [string, string][] = [
    ['an empty batch', '[]'],
    ['an empty batch with whitespace', '[ \n ]'],
    ['a single call', P],
    ['a trailing comma', `[${P},]`],
    ['a leading comma', `[,${P}]`],
    ['two calls without a comma', `[${P} ${P}]`],
    ['an unclosed batch', `[${P},${N}`],
    ['garbage after the batch', `[${P}]x`],
    ['a second batch', `[${P}][${P}]`],
    ['a nested batch', `[[${P}]]`],
    ['a scalar element', `[${P},1]`],
    ['an empty object element', `[${P},{}]`],
    ['a response element', `[${P},{"jsonrpc":"2.0","result":1,"id":2}]`],
    ['positional params in one element', `[${P},{"jsonrpc":"2.0","method":"publish","params":["t.a",1],"id":2}]`],
    ['a BOM', `\ufeff[${P}]`],
  ];
  for (const [what, text] of cases) {
    it(`leaves to the general path: ${what}`, () => {
      const body = Buffer.from(text, 'utf8');
      for (const suffix of ['', ']', '}]', `,${P}]`]) {
        const buf = Buffer.concat([Buffer.from('{"a":'), body, Buffer.from(suffix)]);
        expect(scanBatch(buf, 5, 5 + body.length, rawOf), text).toBeNull();
      }
    });
  }

  it('a batch cut anywhere', () => {
    const body = Buffer.from(`[${P},${N}]`);
    expect(scanBatch(body, 0, body.length, rawOf)).not.toBeNull();
    for (let end = 0; end < body.length; end++) expect(scanBatch(body, 0, end, rawOf), body.subarray(0, end).toString()).toBeNull();
  });
});
