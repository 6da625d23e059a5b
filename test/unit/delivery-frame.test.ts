/**
 * The delivery frame writer (src/broker/delivery-frame.ts) must produce exactly the bytes
 * of `encodeFrame(JSON.stringify(...))` for the delivery notification, whichever way the
 * frame is built (a buffer of its own, or written at an offset into a larger one), for
 * every kind of payload, raw or not, with every flag, in any order of calls.
 */
import { describe, expect, it } from 'vitest';
import { buildDeliveryFrame, deliveryFrameSize, writeDeliveryFrame, type FrameFlags, type FrameSource } from '../../src/broker/delivery-frame.js';
import { createMessage, deliveryFrame } from '../../src/broker/message.js';
import { IdSpace } from '../../src/broker/message-id.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { jsonValue, RawJson } from '../../src/protocol/raw-json.js';
import { expectedDeliveryText } from '../helpers/delivery-text.js';

const TS = '2026-12-01T22:48:50.123Z';

/** What the frame must say, built the plain way. */
function expected(msg: FrameSource, flags: FrameFlags, payload: unknown = jsonValue(msg.payload)): Buffer {
  return encodeFrame(expectedDeliveryText(msg, flags, payload));
}

/** A RawJson borrowing `text` from the middle of a larger buffer, as the frame scanner makes them. */
function borrowed(text: string): { raw: RawJson; source: Buffer } {
  const bytes = Buffer.from(text, 'utf8');
  const source = Buffer.concat([Buffer.from('{"x":'), bytes, Buffer.from('}junk')]);
  return { raw: new RawJson(source, 5, 5 + bytes.length, true), source };
}

let seq = 0;
function source(payload: unknown, over: Partial<FrameSource> = {}): FrameSource {
  return { id: `id-${++seq}`, topic: 'a.b', payload, sender: 'pub', timestamp: TS, qos: 0, ...over };
}

/** Check both ways of writing `msg` against the plain serialisation. */
function expectFrame(msg: FrameSource, flags: FrameFlags, want: Buffer = expected(msg, flags)): void {
  const label = `${JSON.stringify(msg.payload)} ${JSON.stringify(flags)} ${msg.topic}`;
  expect(deliveryFrameSize(msg, flags), label).toBe(want.length);
  // At an offset in a larger buffer, between sentinels that must stay untouched.
  const target = Buffer.alloc(want.length + 40, 0xaa);
  const payloadAt = writeDeliveryFrame(msg, flags, target, 17);
  expect(target.subarray(17, 17 + want.length).toString('hex'), label).toBe(want.toString('hex'));
  expect(target.subarray(0, 17).every((b) => b === 0xaa)).toBe(true);
  expect(target.subarray(17 + want.length).every((b) => b === 0xaa)).toBe(true);
  const payloadText = msg.payload instanceof RawJson ? msg.payload.toString() : (JSON.stringify(msg.payload) ?? 'null');
  expect(target.toString('utf8', payloadAt, payloadAt + Buffer.byteLength(payloadText)), label).toBe(payloadText);
  // And as a buffer of its own.
  expect(buildDeliveryFrame(msg, flags).toString('hex'), label).toBe(want.toString('hex'));
}

const FLAG_SETS: FrameFlags[] = [{}, { retained: true }, { redelivered: true }, { retained: true, redelivered: true }, { retained: false, redelivered: false }];

const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  -2.5e-7,
  1e21,
  123456789012345680000,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
  '',
  'plain',
  'a"b\\c/d',
  'line\nbreak\ttab\r\b\f',
  '\u0000\u0001\u001f\u007f',
  'é ü ß',
  '日本語のテキスト',
  '😀👍🏽 emoji',
  '\u2028\u2029',
  '\ud800 lone \udfff',
  '\ufeff',
  [],
  {},
  [1, 'two', null, true, [[]], {}],
  { a: 1, b: { c: [1, 2, { d: 'é' }] }, '': 0, 'k"ey': '日本' },
  { nested: { deeper: { deepest: [{}] } } },
];

describe('delivery frames are the bytes JSON.stringify gives', () => {
  it('for value payloads of every JSON type, with every flag combination', () => {
    for (const v of VALUES) for (const flags of FLAG_SETS) expectFrame(source(v), flags);
  });

  it('for RawJson payloads (compact text, as a publisher that uses JSON.stringify sends it)', () => {
    for (const v of VALUES) {
      for (const flags of FLAG_SETS) {
        const { raw } = borrowed(JSON.stringify(v));
        expectFrame(source(raw), flags);
      }
    }
  });

  it('for a RawJson with unusual formatting: its bytes go out exactly as they came', () => {
    const text = '{ "a" : [ 1.0e5 , "\\u00e9" ] ,\n"b":-0 }';
    const { raw } = borrowed(text);
    const msg = source(raw);
    const want = expectedDeliveryText(msg, {}, 'PAYLOAD-HERE').replace('"PAYLOAD-HERE"', text);
    const frame = buildDeliveryFrame(msg, {});
    expect(frame.toString('hex')).toBe(encodeFrame(want).toString('hex'));
    expect(deliveryFrameSize(msg, {})).toBe(frame.length);
  });

  it('for a value payload that holds a RawJson (JSON.stringify uses its toJSON)', () => {
    const { raw } = borrowed('{"k":[1,2]}');
    const msg = source({ inner: raw, n: 1 });
    expectFrame(msg, {}, expected(msg, {}, { inner: { k: [1, 2] }, n: 1 }));
  });

  it('for non-ASCII topics and senders, and senders, ids and reply_to tokens that need escapes', () => {
    const cases: Partial<FrameSource>[] = [
      { topic: '日本.語' },
      { topic: 'emoji.😀.x' },
      { topic: 'é.ü.ß', sender: 'Müller 😀' },
      { sender: 'a"b' },
      { sender: 'back\\slash\nnewline' },
      { id: 'a"b' },
      { id: '\u0001' },
      { replyTo: 'tok-123' },
      { replyTo: 'a"b\\' },
      { replyTo: '' },
      { replyTo: 'jeton-é-日本-😀' },
      { qos: 1 },
      { qos: 1, replyTo: 'r', sender: '日本' },
    ];
    for (const over of cases) {
      for (const flags of FLAG_SETS) {
        expectFrame(source('p', over), flags);
        expectFrame(source(borrowed('"é"').raw, over), flags);
      }
    }
  });

  it('for messages made by createMessage, as the broker makes them', () => {
    const msg = createMessage({ topic: 'jobs.created', payload: { id: 7, name: 'é' }, sender: 'client-1', qos: 1, replyTo: 'token' });
    for (const flags of FLAG_SETS) expectFrame(msg, flags);
    expect(deliveryFrame(msg, {}).toString('hex')).toBe(expected(msg, {}).toString('hex'));
    expect(deliveryFrame(msg, { retained: true }).toString('hex')).toBe(expected(msg, { retained: true }).toString('hex'));
  });
});

describe('the writer keeps nothing of one frame in another', () => {
  it('two topics alternating, each with its own sender, payload and flags', () => {
    const msgs = [
      source('one', { topic: 't.one', sender: 's1' }),
      source(borrowed('[2]').raw, { topic: 't.two', sender: 's2', qos: 1 }),
      source({ three: 3 }, { topic: 't.one', sender: 's2', replyTo: 'r3' }),
      source(borrowed('"four"').raw, { topic: 't.two', sender: 's1' }),
    ];
    for (let round = 0; round < 3; round++) {
      for (const [i, msg] of msgs.entries()) expectFrame(msg, FLAG_SETS[(i + round) % FLAG_SETS.length]!);
    }
  });

  it('one sender across timestamps: the first frame of each, the next ones, and back to an earlier one', () => {
    // The middle segment is written as text for a timestamp's first frame and copied as
    // bytes for the next ones; a new timestamp must not reuse the old bytes.
    const stamps = ['2026-01-01T00:00:00.001+00:00', '2026-01-01T00:00:00.001+00:00', '2026-01-01T00:00:00.002+00:00', '2026-01-01T00:00:00.002+00:00', '2026-01-01T00:00:00.001+00:00', '2026-01-01T00:00:00.003+00:00'];
    for (const [i, timestamp] of stamps.entries()) {
      expectFrame(source(`m${i}`, { sender: 'séquence', timestamp, replyTo: i % 2 === 0 ? `r${i}` : undefined }), FLAG_SETS[i % FLAG_SETS.length]!);
    }
  });

  it('one sender whose middle segment grows and shrinks: its bytes rewritten in place or in a larger store', () => {
    // The middle's bytes are kept in the sender's store, reused from one timestamp to the
    // next: a longer middle (a longer timestamp, an id space's prefix, a longer store
    // than 128 bytes) must not be cut, a shorter one must not keep the old tail.
    const space = new IdSpace('0a1b2c3d-4e5f-4a6b-8c7d-');
    const sender = 'grower';
    const steps: { timestamp: string; drawn: boolean }[] = [
      { timestamp: '2026-01-01T00:00:00.001Z', drawn: false },
      { timestamp: '2026-01-01T00:00:00.001+00:00', drawn: true },
      { timestamp: '2026-01-01T00:00:00.002+00:00', drawn: false },
      { timestamp: `2026-01-01T00:00:00.003+00:00-${'long'.repeat(40)}`, drawn: true },
      { timestamp: '2026-01-01T00:00:00.004Z', drawn: false },
      { timestamp: `2026-01-01T00:00:00.005+00:00-${'é'.repeat(60)}`, drawn: false },
      { timestamp: '2026-01-01T00:00:00.006Z', drawn: true },
    ];
    let n = 0;
    for (const { timestamp, drawn } of steps) {
      // The first frame of a timestamp writes the text, the next ones copy the bytes.
      for (let k = 0; k < 3; k++) {
        const seqNo = ++n;
        const over: Partial<FrameSource> = drawn ? { id: space.format(seqNo), idSpace: space, idSeq: seqNo } : {};
        expectFrame(source(`m${seqNo}`, { sender, timestamp, ...over }), FLAG_SETS[seqNo % FLAG_SETS.length]!);
      }
    }
  });

  it('one sender and timestamp, its ids drawn from two spaces and written whole, in turns', () => {
    // For an id drawn here the middle segment ends with its space's prefix and the end
    // begins with the id's closing quote: an id of another space, or one written whole,
    // must get neither.
    const spaces = [new IdSpace('0a1b2c3d-4e5f-4a6b-8c7d-'), new IdSpace('fedcba98-7654-4321-b0fe-')];
    const drawn = (k: number, seq: number, over: Partial<FrameSource> = {}): FrameSource =>
      source(`from ${k}`, { id: spaces[k]!.format(seq), idSpace: spaces[k]!, idSeq: seq, sender: 'one', ...over });
    const msgs = [
      drawn(0, 5),
      drawn(0, 6),
      drawn(1, 7),
      drawn(1, 2 ** 30 - 1),
      source('whole', { sender: 'one' }),
      source('whole, like a drawn one', { id: spaces[0]!.format(8), sender: 'one' }),
      drawn(0, 0, { replyTo: 'r-1' }),
      source('whole, answerable', { sender: 'one', replyTo: 'r-2' }),
      drawn(1, 9, { qos: 1 }),
    ];
    for (let round = 0; round < 3; round++) {
      for (const [i, msg] of msgs.entries()) expectFrame(msg, FLAG_SETS[(i + round) % FLAG_SETS.length]!);
    }
  });

  it('senders and topics by the thousand, past what the caches keep, each one back after the others', () => {
    // The last topic and sender are looked at before the caches, which start over past
    // 1,024 entries and keep no key over 256 characters.
    const senders = Array.from({ length: 1100 }, (_, i) => (i % 100 === 7 ? `long-${'s'.repeat(300)}-${i}` : `sender-${i}`));
    for (const [i, sender] of senders.entries()) {
      const topic = i % 3 === 0 ? 't.shared' : `t.${i}`;
      const msg = source(`m${i}`, { sender, topic });
      expect(buildDeliveryFrame(msg, {}).toString('hex')).toBe(expected(msg, {}).toString('hex'));
      expect(buildDeliveryFrame(msg, {}).toString('hex')).toBe(expected(msg, {}).toString('hex')); // a second frame copies the bytes
    }
    for (const i of [0, 1, 7, 1099, 107, 2, 0]) expectFrame(source(`again ${i}`, { sender: senders[i]!, topic: `t.${i}` }), {});
  });

  it('a size asked for one message or flag set, then a frame written for another', () => {
    const a = source('aaaa', { topic: 't.a' });
    const b = source('bb', { topic: 't.b', replyTo: 'x' });
    const target = Buffer.alloc(1000);
    deliveryFrameSize(a, {});
    let n = expected(b, {}).length;
    writeDeliveryFrame(b, {}, target, 0);
    expect(target.subarray(0, n).toString('hex')).toBe(expected(b, {}).toString('hex'));
    deliveryFrameSize(b, {});
    n = expected(b, { retained: true }).length;
    writeDeliveryFrame(b, { retained: true }, target, 0);
    expect(target.subarray(0, n).toString('hex')).toBe(expected(b, { retained: true }).toString('hex'));
    deliveryFrameSize(a, { redelivered: true });
    expect(buildDeliveryFrame(a, {}).toString('hex')).toBe(expected(a, {}).toString('hex'));
  });

  it('past the topic cache limit, and for topics too long to cache', () => {
    for (let i = 0; i < 1100; i++) {
      const topic = i % 100 === 0 ? `long.${'x'.repeat(300)}.${i}` : `t.${i}`;
      const msg = source(i, { topic });
      expect(buildDeliveryFrame(msg, {}).toString('hex')).toBe(expected(msg, {}).toString('hex'));
    }
    // The first topics again, after the cache started over.
    for (let i = 0; i < 5; i++) expectFrame(source(i, { topic: `t.${i}` }), {});
  });
});

describe('a borrowed RawJson payload', () => {
  it('is rebased onto its copy in the frame buildDeliveryFrame makes, so the source buffer may be reused', () => {
    const text = '{"k":"日本","n":[1,2,3]}';
    const { raw, source: src } = borrowed(text);
    const msg = source(raw, { topic: 'rebase.t' });
    const frame = buildDeliveryFrame(msg, {});
    expect(raw.isBorrowed).toBe(false);
    const before = frame.toString('hex');
    src.fill(0x7b); // the socket's buffer, reused for other bytes
    expect(raw.toString()).toBe(text);
    expect(raw.value).toEqual({ k: '日本', n: [1, 2, 3] });
    expect(frame.toString('hex')).toBe(before);
    // Frames built later (other flags) still carry the payload intact.
    expect(buildDeliveryFrame(msg, { redelivered: true }).toString('hex')).toBe(expected(msg, { redelivered: true }).toString('hex'));
  });

  it('is copied, not rebased, by writeDeliveryFrame into a caller buffer, and then still reads from its source', () => {
    const { raw } = borrowed('[1]');
    const msg = source(raw);
    const target = Buffer.alloc(deliveryFrameSize(msg, {}));
    writeDeliveryFrame(msg, {}, target, 0);
    expect(target.toString('hex')).toBe(expected(msg, {}).toString('hex'));
    expect(raw.isBorrowed).toBe(true);
  });
});
