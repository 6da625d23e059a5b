/**
 * BatchPublishReader (src/broker/batch-publish-template.ts): the publishes of a batch
 * read through a learned envelope must be exactly the calls the full scan makes of the
 * same bytes, batch after batch on one connection, whatever the elements look like and
 * however the batch is damaged; and only what the scan accepted as a plain publish
 * request teaches an envelope. The scan itself is held to the general path
 * (`JSON.parse`) by call-scan.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { BatchPublishReader, type TemplatedPublishCall } from '../../src/broker/batch-publish-template.js';
import { METHODS } from '../../src/broker/handlers/index.js';
import { scanBatch, type RawParamsOf } from '../../src/protocol/call-scan.js';
import { MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';
import type { RpcCall } from '../../src/protocol/jsonrpc.js';
import { RawJson } from '../../src/protocol/raw-json.js';
import { mutate } from '../helpers/byte-damage.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { JsonWriter } from '../helpers/json-corpus.js';

const rawOf: RawParamsOf = (method) => METHODS.get(method)?.rawParams;
const TOPICS = ['jobs.activated', 'saw.done', 'cad.k', 'é.ü'];

/**
 * A call with its raw params as plain data (their text, whether they still borrow the
 * frame's bytes, and where in it), so that two readings of one buffer compare with toEqual.
 */
function plain(call: RpcCall): unknown {
  if (call.params === undefined || Array.isArray(call.params)) return call;
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(call.params)) params[k] = v instanceof RawJson ? { raw: v.toString(), borrowed: v.isBorrowed, at: [v.sourceStart, v.sourceEnd] } : v;
  return { ...call, params, keys: Object.keys(call.params) };
}

/** Counts the elements the reader took, to show that the comparison is not vacuous. */
class CountingReader extends BatchPublishReader {
  taken = 0;
  override read(body: Buffer, i: number, end: number): TemplatedPublishCall | null {
    const call = super.read(body, i, end);
    if (call !== null) this.taken++;
    return call;
  }
}

/** Scan `body`, placed after `pad` other bytes, with and without `reader`: the two must agree. */
function agree(body: Buffer, reader: BatchPublishReader, pad: number): RpcCall[] | null {
  const buf = Buffer.concat([Buffer.alloc(pad, 0x20), body, Buffer.from(']}')]);
  const start = pad;
  const end = pad + body.length;
  const read = scanBatch(buf, start, end, rawOf, reader);
  const scanned = scanBatch(buf, start, end, rawOf, null);
  const what = body.toString('latin1');
  if (scanned === null) expect(read, what).toBeNull();
  else expect(read?.map(plain), what).toEqual(scanned.map(plain));
  return read;
}

/** Publish requests written as clients write them, and some written otherwise. */
class PublishWriter {
  private readonly json: JsonWriter;
  /** The spelling and qos of this writer's client: a client writes all its calls alike. */
  private readonly style: number;
  private readonly qos: string;
  constructor(private readonly rng: Rng) {
    this.json = new JsonWriter(rng);
    this.style = rng.int(0, 1);
    this.qos = rng.pick(['', ',"qos":1', ',"qos":0']);
  }

  /** With `spelled`, a third of the ids are integers written other than as plain digits. */
  spelled = false;

  id(): string {
    const r = this.rng;
    if (this.spelled && r.chance(0.33)) return r.pick(['-0', '0.0', '0e0', '10e-1', '0.1e1', '-7', '1e2', '2.50e1', '1E+1', '-0.0e5']);
    if (r.chance(0.97)) return String(r.int(0, 2_000_000));
    return r.pick(['0', '7', '123456789012345', '1234567890123456', '9007199254740991', '01', '-3', '1.5', '1e2', '"s-1"', 'null', '00', '-0', '0.0', '0e0', '10e-1', '0.1e1']);
  }

  payload(): string {
    const r = this.rng;
    if (r.chance(0.05)) return 'null';
    if (r.chance(0.03)) return `${'['.repeat(MAX_JSON_DEPTH - 3)}1${']'.repeat(MAX_JSON_DEPTH - 3)}`;
    if (r.chance(0.003)) return `${'['.repeat(MAX_JSON_DEPTH - 2)}1${']'.repeat(MAX_JSON_DEPTH - 2)}`;
    return this.json.value(r.int(0, 3));
  }

  /** One element: mostly a client's plain publish request, in one of a few spellings. */
  element(): string {
    const r = this.rng;
    const topic = JSON.stringify(r.pick(TOPICS));
    const qos = r.chance(0.9) ? this.qos : r.pick(['', ',"qos":1', ',"qos":0']);
    const style = r.chance(0.85) ? this.style : r.int(0, 9);
    if (style === 0) return `{"jsonrpc":"2.0","method":"publish","params":{"topic":${topic},"payload":${this.payload()}${qos}},"id":${this.id()}}`;
    if (style === 1) return `{"jsonrpc": "2.0", "method": "publish", "params": {"topic": ${topic}, "payload": ${this.payload()}${qos.replace(':', ': ')}}, "id": ${this.id()}}`;
    // Written otherwise: whitespace anywhere, other params, a notification, the id first.
    const ws = (): string => this.json.ws();
    switch (r.int(0, 5)) {
      case 0:
        return `{"jsonrpc":"2.0","method":"publish","params":{"topic":${topic},"payload":${ws()}${this.payload()}${ws()}${qos}}${ws()},"id":${ws()}${this.id()}${ws()}}`;
      case 1:
        return `{"jsonrpc":"2.0","method":"publish","params":{"topic":${topic},"payload":${this.payload()},"ttl":5},"id":${this.id()}}`;
      case 2:
        return `{"jsonrpc":"2.0","method":"publish","params":{"topic":${topic},"payload":${this.payload()},"retain":true},"id":${this.id()}}`;
      case 3:
        return `{"jsonrpc":"2.0","method":"publish","params":{"topic":${topic},"payload":${this.payload()}}}`;
      case 4:
        return `{"jsonrpc":"2.0","id":${this.id()},"method":"publish","params":{"topic":${topic},"payload":${this.payload()}}}`;
      default:
        return `{"jsonrpc":"2.0","method":"publish","params":{"payload":${this.payload()},"topic":${topic}},"id":${this.id()}}`;
    }
  }

  batch(): Buffer {
    const n = this.rng.int(1, 30);
    return Buffer.from(`[${Array.from({ length: n }, () => this.element()).join(',')}]`, 'utf8');
  }
}

describe('BatchPublishReader', () => {
  it('reads 2,000 batches on one connection exactly as the scan does, and most of their elements itself (seeded)', () => {
    const rng = new Rng(16_101);
    let elements = 0;
    let taken = 0;
    // Ten connections, each a client of its own style.
    for (let c = 0; c < 10; c++) {
      const w = new PublishWriter(rng);
      const reader = new CountingReader();
      for (let n = 0; n < 200; n++) elements += agree(w.batch(), reader, rng.int(0, 7))?.length ?? 0;
      taken += reader.taken;
    }
    expect(elements).toBeGreaterThan(15_000);
    expect(taken).toBeGreaterThan(elements * 0.6);
  });

  it('agrees with the scan when ids are integers spelled with signs, points and exponents (seeded)', () => {
    const rng = new Rng(16_103);
    let taken = 0;
    for (let c = 0; c < 10; c++) {
      const w = new PublishWriter(rng);
      w.spelled = true;
      const reader = new CountingReader();
      for (let n = 0; n < 100; n++) agree(w.batch(), reader, rng.int(0, 7));
      taken += reader.taken;
    }
    expect(taken).toBeGreaterThan(5000);
  });

  it('agrees with the scan on batches damaged byte by byte (seeded)', () => {
    const rng = new Rng(16_102);
    const w = new PublishWriter(rng);
    const reader = new CountingReader();
    let refused = 0;
    for (let n = 0; n < 6000; n++) {
      const batch = w.batch();
      if (agree(rng.chance(0.2) ? batch : mutate(rng, batch), reader, rng.int(0, 7)) === null) refused++;
    }
    expect(refused).toBeGreaterThan(2000);
    expect(reader.taken).toBeGreaterThan(10_000);
  });

  const COMPACT = (topic: string, payload: string, id: string): string => `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${topic}","payload":${payload},"qos":1},"id":${id}}`;

  it('learns only from a plain publish request whose integer id closes it', () => {
    const teachers = [
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1}}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":"a"}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":-1}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":1.0}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":1e2}',
      // Integer ids whose text ends in their value's digits, after a sign, a point or an exponent.
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":-0}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":0.0}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":0e0}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":10e-1}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":0.1e1}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1},"id":1 }',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":null},"id":1}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1,"ttl":1},"id":1}',
      '{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":1,"qos":1,"retain":false},"id":1}',
      '{"jsonrpc":"2.0","method":"publish","params":{"payload":1,"topic":"t"},"id":1}',
      '{"jsonrpc":"2.0","id":1,"method":"publish","params":{"topic":"t","payload":1}}',
      '{"jsonrpc":"2.0","method":"request","params":{"topic":"t","payload":1},"id":1}',
      `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${'t'.repeat(600)}","payload":1},"id":1}`,
    ];
    for (const text of teachers) {
      const reader = new BatchPublishReader();
      expect(agree(Buffer.from(`[${text}]`), reader, 0), text).not.toBeNull();
      expect([text, reader.size]).toEqual([text, 0]);
    }
    const reader = new BatchPublishReader();
    agree(Buffer.from(`[${COMPACT('t', '{"a":1}', '12')}]`), reader, 0);
    expect(reader.size).toBe(1);
    // Learned from JSON whitespace before the id, too.
    const spaced = new BatchPublishReader();
    agree(Buffer.from(`[${COMPACT('t', '1', ' 12')}]`), spaced, 0);
    expect(spaced.size).toBe(1);
  });

  it('after an id spelled with a sign, a point or an exponent, reads the next elements as the scan does', () => {
    // [first id, next id, elements the reader took]: only a plain integer teaches, the last here.
    const cases: [string, string, number][] = [['-0', '-7', 0], ['0e0', '0e5', 0], ['0.1e1', '0.1e5', 0], ['0.0', '0.5', 0], ['10e-1', '10e-3', 0], ['-0', '7', 1]];
    for (const [first, next, taken] of cases) {
      const reader = new CountingReader();
      agree(Buffer.from(`[${COMPACT('t', '1', first)},${COMPACT('t', '2', next)},${COMPACT('t', '3', '8')}]`), reader, 1);
      expect([first, next, reader.taken]).toEqual([first, next, taken]);
    }
  });

  it('takes elements that differ from the learned one in their payload and id alone; leaves the others to the scan', () => {
    const reader = new CountingReader();
    agree(Buffer.from(`[${COMPACT('t', '1', '1')}]`), reader, 3);
    const taken = ['"x"', 'null', '[1,{"b":[]}]', ' 2', '{"queue_id":"f:0"}', '-0.5e3'].map((payload, k) => COMPACT('t', payload, String(k * 977)));
    const left = [
      COMPACT('u', '1', '2'),
      COMPACT('t', '1', '1234567890123456'),
      COMPACT('t', '1', '"2"'),
      COMPACT('t', '1', '2').replace('"qos":1', '"qos":0'),
      COMPACT('t', '1', '2').replace('},"id"', '} ,"id"'),
      COMPACT('t', '1 ', '2'),
    ];
    const read = agree(Buffer.from(`[${[...taken, ...left].join(',')}]`), reader, 5);
    expect(read?.map((c) => c.id)).toEqual([0, 977, 1954, 2931, 3908, 4885, 2, 1234567890123456, '2', 2, 2, 2]);
    expect(reader.taken).toBe(taken.length);
    // What the scan read taught the reader: the envelope of topic u, and t's anew, as the
    // last element spelled it (a space after the payload). One per envelope is kept: the
    // compact spelling, scanned again, replaces that one.
    expect(reader.size).toBe(2);
    reader.taken = 0;
    expect(agree(Buffer.from(`[${COMPACT('t', '5', '6')},${COMPACT('t', '5', '7')},${COMPACT('u', '5', '8')}]`), reader, 0)).not.toBeNull();
    expect([reader.size, reader.taken]).toEqual([2, 2]);
    // Not JSON-RPC the broker takes: a leading zero, the id given twice, a payload one level too deep.
    const deep = `${'['.repeat(MAX_JSON_DEPTH - 2)}1${']'.repeat(MAX_JSON_DEPTH - 2)}`;
    for (const bad of [COMPACT('t', '1', '01'), `${COMPACT('t', '1', '2').slice(0, -1)},"id":3}`, COMPACT('t', deep, '2'), COMPACT('t', '1', '2').slice(0, -1)]) {
      reader.taken = 0;
      expect(agree(Buffer.from(`[${taken[0]},${bad}]`), reader, 2), bad).toBeNull();
      expect(reader.taken).toBe(1);
    }
  });

  it('keeps the envelopes of the eight topics learned last', () => {
    const reader = new CountingReader();
    const topics = Array.from({ length: 9 }, (_, k) => `q.t${k}`);
    const batch = (ts: string[]): Buffer => Buffer.from(`[${ts.map((t) => COMPACT(t, '2', '2')).join(',')}]`);
    agree(batch(topics.slice(0, 8)), reader, 0);
    expect([reader.size, reader.taken]).toEqual([8, 0]);
    agree(batch(topics.slice(0, 8)), reader, 0);
    expect(reader.taken).toBe(8);
    // A ninth topic's envelope takes the place of the one learned first.
    reader.taken = 0;
    agree(batch([topics[8]!, topics[1]!, topics[0]!]), reader, 0);
    expect([reader.size, reader.taken]).toEqual([8, 1]);
  });
});
