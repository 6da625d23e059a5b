/**
 * RawJson (src/protocol/raw-json.ts) and the places that keep a message past the frame
 * it came in (keepMessage): a raw payload borrows the bytes of the socket chunk it was
 * read from, so everything that keeps it must give it its own copy first. The tests
 * overwrite the source buffer, as a reused receive buffer would be, and read the payload
 * again. (Node does not reuse a socket's receive buffers today, so over TCP a payload
 * that was wrongly kept borrowed still reads right; only these tests can see the copy
 * missing.)
 */
import { describe, expect, it } from 'vitest';
import { createMessage, keepMessage, type BrokerMessage } from '../../src/broker/message.js';
import { TopicActivity } from '../../src/broker/monitor/topic-activity.js';
import { RetainedStore } from '../../src/broker/retained-store.js';
import { Session } from '../../src/broker/session.js';
import { scanCall } from '../../src/protocol/call-scan.js';
import { jsonValue, RawJson } from '../../src/protocol/raw-json.js';

const PAYLOAD = '{"k":"kept é 😀","n":[1,2.5,-0],"deep":{"a":[{}]}}';

/** A publish read by the fast path from `chunk`, as the broker reads one from a socket chunk. */
function publishFrom(chunk: Buffer, topic = 'keep.t', qos: 0 | 1 = 1): BrokerMessage {
  const text = `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${topic}","payload":${PAYLOAD},"qos":${qos}}}`;
  const n = chunk.write(text, 7, 'utf8');
  const call = scanCall(chunk, 7, 7 + n, (m) => (m === 'publish' ? ['payload'] : undefined))!;
  const params = call.params as Record<string, unknown>;
  expect(params.payload).toBeInstanceOf(RawJson);
  expect((params.payload as RawJson).isBorrowed).toBe(true);
  return createMessage({ topic, payload: params.payload, sender: 'pub', qos });
}

/** The socket chunk is reused for other bytes. */
const reuse = (chunk: Buffer): Buffer => chunk.fill(0x5d);

function expectIntact(payload: unknown): void {
  expect(payload).toBeInstanceOf(RawJson);
  const raw = payload as RawJson;
  expect(raw.isBorrowed).toBe(false);
  expect(raw.toString()).toBe(PAYLOAD);
  expect(raw.value).toEqual(JSON.parse(PAYLOAD));
}

describe('RawJson', () => {
  it('kept copies share 8 KiB chunks without overwriting each other; a large one gets its own buffer', () => {
    const src = Buffer.alloc(64 * 1024);
    const kept: { raw: RawJson; text: string }[] = [];
    // Each kept copy is also written into a frame, as a delivery's is, so that the copies
    // into the kept chunks and into the frames take turns (they keep views of their own).
    const frame = Buffer.alloc(4096);
    // Sizes that straddle chunk ends, and some past a quarter chunk.
    for (let i = 0; i < 600; i++) {
      const size = i % 50 === 49 ? 3000 + i : 2 + ((i * 37) % 300);
      const text = JSON.stringify('x'.repeat(size - 2).replace(/x/g, (_, k: number) => String.fromCharCode(97 + ((i + k) % 26))));
      const n = src.write(text, 100, 'latin1');
      const raw = new RawJson(src, 100, 100 + n, true).own();
      kept.push({ raw, text });
      frame.fill(0xee, 7 + n, 7 + n + 4);
      expect(raw.copyTo(frame, 7)).toBe(n);
      expect(frame.toString('latin1', 7, 7 + n), `copy ${i}`).toBe(text);
      expect(frame.readUInt32BE(7 + n), `past copy ${i}`).toBe(0xeeeeeeee);
      reuse(src);
    }
    for (const { raw, text } of kept) expect(raw.toString()).toBe(text);
    const buffers = new Set(kept.map((k) => k.raw.bytes.buffer));
    // About 100 KB of small copies in 8 KiB chunks, and each large one alone.
    const large = kept.filter((k) => k.raw.length > 2048);
    expect(large.length).toBe(12);
    expect(buffers.size).toBeLessThan(12 + 20);
    for (const k of large) expect(k.raw.bytes.byteLength).toBe(k.raw.bytes.buffer.byteLength);
  });

  it('reads its text and value lazily, serialises as its value, and own() copies once', () => {
    const src = Buffer.from(`xx${PAYLOAD}yy`);
    const raw = new RawJson(src, 2, 2 + Buffer.byteLength(PAYLOAD), true);
    expect(raw.length).toBe(Buffer.byteLength(PAYLOAD));
    expect(raw.bytes.toString()).toBe(PAYLOAD);
    expect(JSON.stringify({ p: raw })).toBe(JSON.stringify({ p: JSON.parse(PAYLOAD) }));
    expect(jsonValue(raw)).toEqual(JSON.parse(PAYLOAD));
    expect(jsonValue(5)).toBe(5);
    expect(raw.own()).toBe(raw);
    const copy = raw.bytes;
    reuse(src);
    expectIntact(raw);
    raw.own(); // already its own: no new copy
    expect(raw.bytes.buffer).toBe(copy.buffer);
    const target = Buffer.alloc(raw.length + 4);
    expect(raw.copyTo(target, 2)).toBe(raw.length);
    expect(target.subarray(2, 2 + raw.length).toString()).toBe(PAYLOAD);
  });
});

describe('a message kept past its frame owns its payload bytes', () => {
  it('keepMessage', () => {
    const chunk = Buffer.alloc(4096);
    const msg = publishFrom(chunk);
    expect(keepMessage(msg)).toBe(msg);
    reuse(chunk);
    expectIntact(msg.payload);
  });

  it('in a session offline queue', () => {
    const chunk = Buffer.alloc(4096);
    const msg = publishFrom(chunk);
    const session = new Session('offline');
    expect(session.queueOffline(msg, 100, () => {})).toBe(true);
    reuse(chunk);
    expectIntact(session.offline.shift()!.payload);
  });

  it('in a session in-flight set (QoS 1 awaiting ack)', () => {
    const chunk = Buffer.alloc(4096);
    const msg = publishFrom(chunk);
    const session = new Session('online');
    session.trackInflight(msg, 100);
    reuse(chunk);
    expectIntact(session.inflight.get(msg.id)!.payload);
  });

  it('in the retained store', () => {
    const chunk = Buffer.alloc(4096);
    const msg = publishFrom(chunk, 'keep.retained', 0);
    const store = new RetainedStore();
    store.set(msg);
    reuse(chunk);
    expectIntact(store.get('keep.retained')!.payload);
  });

  it('in the monitor\'s topic activity', () => {
    const chunk = Buffer.alloc(4096);
    const msg = publishFrom(chunk, 'keep.monitored', 0);
    const activity = new TopicActivity(10);
    activity.record(msg);
    reuse(chunk);
    expectIntact(activity.recent()[0]!.lastPayload);
  });
});
