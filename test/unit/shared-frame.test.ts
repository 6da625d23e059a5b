import { describe, expect, it } from 'vitest';
import { createMessage, type BrokerMessage, type DeliveryFlags } from '../../src/broker/message.js';
import { expectSeveral, wholeFrameFor, writtenFrameOf } from '../../src/broker/shared-frame.js';
import { releaseBuffer } from '../../src/runtime/release-buffer.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { jsonValue, RawJson } from '../../src/protocol/raw-json.js';
import { expectedDeliveryText } from '../helpers/delivery-text.js';
import { Rng } from '../helpers/fuzz/prng.js';
import { backpressured, drain, setup, tick } from '../helpers/outbound-queue-bed.js';

/** The frame JSON.stringify gives for `msg`, as hex, for comparing bytes. */
const plainHex = (msg: BrokerMessage, payload: unknown, flags: DeliveryFlags = {}): string =>
  encodeFrame(expectedDeliveryText(msg, flags, payload)).toString('hex');

/** A raw payload borrowing its bytes from a buffer the test can scribble over later, as a reused read buffer. */
function borrowed(text: string): { raw: RawJson; source: Buffer } {
  const source = Buffer.from(`xx${text}yy`);
  return { raw: new RawJson(source, 2, source.length - 2, true), source };
}

/** What `bed`'s socket was handed after its first `skip` bytes, as hex. */
const writtenHex = (bed: ReturnType<typeof setup>, skip = 0): string => Buffer.concat(bed.socket.writes).subarray(skip).toString('hex');

describe('a message routed to several connections (shared-frame.ts)', () => {
  it('is written once, gives each connection the bytes JSON.stringify gives, and builds no frame of its own', async () => {
    const queues = [setup(100), setup(100), setup(100), setup(100)];
    const { raw } = borrowed('{"k":"日本","n":[1,2]}');
    const msgs = [
      createMessage({ topic: 'fan.a', payload: raw, sender: 'p' }),
      createMessage({ topic: 'fan.b', payload: { v: 'é' }, sender: 'p', qos: 1 }),
      createMessage({ topic: 'fan.c', payload: 'x'.repeat(3000), sender: 'p', replyTo: 'tok' }),
    ];
    const payloads = msgs.map((m) => jsonValue(m.payload));
    for (const msg of msgs) {
      expectSeveral(msg);
      for (const { q } of queues) expect(q.sendDelivery(msg)).toBe(true);
      // No frame of its own per message: that allocation, at a fan-out's rate, is what this saves.
      expect(msg.frame).toBeUndefined();
    }
    await tick();
    const expected = msgs.map((m, i) => plainHex(m, payloads[i])).join('');
    for (const bed of queues) expect(writtenHex(bed)).toBe(expected);
    // The borrowed payload was copied, not taken over: it still reads from its source.
    expect(raw.isBorrowed).toBe(true);
  });

  it('writes the shared frame for the first connection when the router announced several, and only then', async () => {
    const announced = createMessage({ topic: 'fan.said', payload: { n: 0 }, sender: 'p' });
    expectSeveral(announced);
    setup(100).q.sendDelivery(announced);
    expectSeveral(null);
    expect(writtenFrameOf(announced)?.toString('hex')).toBe(plainHex(announced, { n: 0 }));
    // Not announced (one connection, as far as the router knows): written there in parts.
    const alone = createMessage({ topic: 'fan.alone', payload: { n: 1 }, sender: 'p' });
    setup(100).q.sendDelivery(alone);
    expect(writtenFrameOf(alone)).toBeUndefined();
    await tick();
  });

  it('shares the frame from the second connection on when the router said nothing, the first having its parts', async () => {
    const queues = [setup(100), setup(100), setup(100)];
    const msg = createMessage({ topic: 'fan.quiet', payload: { n: 1 }, sender: 'p' });
    for (const [i, { q }] of queues.entries()) {
      expect(q.sendDelivery(msg)).toBe(true);
      expect(writtenFrameOf(msg) !== undefined, `after connection ${i}`).toBe(i > 0);
    }
    expect(msg.frame).toBeUndefined();
    await tick();
    for (const bed of queues) expect(writtenHex(bed)).toBe(plainHex(msg, { n: 1 }));
  });

  it('writes a message sent again later right, after other messages of the same and of other sizes took the shared frame', async () => {
    const first = setup(100);
    const later = setup(100);
    const { raw, source } = borrowed('"aaaa"');
    const msg = createMessage({ topic: 't', payload: raw, sender: 's', qos: 1 });
    expectSeveral(msg);
    first.q.sendDelivery(msg);
    // While the record still names it, a copy comes from the shared frame, even with its
    // source overwritten (a read buffer reused).
    source.write('xx"bbbb"yy');
    later.q.sendDelivery(msg);
    expect(wholeFrameFor(msg)).toBeDefined();
    // Then others take the shared frame: one of the same size, one larger, one smaller.
    for (const payload of ['"cccc"', '"' + 'd'.repeat(500) + '"', '1']) {
      const other = createMessage({ topic: 't', payload: JSON.parse(payload) as unknown, sender: 's' });
      expectSeveral(other);
      setup(100).q.sendDelivery(other);
    }
    expect(wholeFrameFor(msg)).toBeUndefined();
    // Kept (as an offline queue keeps it) and sent again: written anew from its own copy.
    source.write('xx"aaaa"yy');
    raw.own();
    source.write('xx"zzzz"yy');
    later.q.sendDelivery(msg);
    await tick();
    expect(writtenHex(first)).toBe(plainHex(msg, 'aaaa'));
    expect(writtenHex(later)).toBe(plainHex(msg, 'aaaa') + plainHex(msg, 'aaaa'));
  });

  it('gives a frame larger than the kept buffer a frame of its own, and the next small frame the kept one again', async () => {
    const queues = [setup(100), setup(100)];
    const { raw } = borrowed(JSON.stringify('B'.repeat(70 * 1024)));
    const big = createMessage({ topic: 'big', payload: raw, sender: 's' });
    const small = createMessage({ topic: 'small', payload: 's', sender: 's' });
    for (const msg of [big, small, big]) {
      expectSeveral(msg);
      for (const { q } of queues) q.sendDelivery(msg);
      expectSeveral(null);
    }
    // The message's own frame, as before the kept buffer: the payload now reads from it,
    // so the large read it borrowed from is not held, and nothing here holds the frame.
    expect(big.frame?.length).toBeGreaterThan(70 * 1024);
    expect(raw.isBorrowed).toBe(false);
    expect(writtenFrameOf(small)).toBeDefined();
    await tick();
    const expected = plainHex(big, 'B'.repeat(70 * 1024)) + plainHex(small, 's') + plainHex(big, 'B'.repeat(70 * 1024));
    for (const bed of queues) expect(writtenHex(bed)).toBe(expected);
  });

  it('places the shared frame in the frame store for connections under backpressure, byte for byte', () => {
    const direct = setup(100);
    const waiting = [backpressured(), backpressured()];
    const texts = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, s: 'é'.repeat(i) }));
    const expected = texts
      .map((text, i) => {
        const { raw, source } = borrowed(text);
        const msg = createMessage({ topic: `mix.${i % 3}`, payload: raw, sender: 'p' });
        expectSeveral(msg);
        direct.q.sendDelivery(msg);
        // The store copies the frame written for the direct connection, not the payload
        // again: its source may be gone by now (here: overwritten).
        source.fill(0x20, 2, source.length - 2);
        for (const bed of waiting) bed.q.sendDelivery(msg);
        return plainHex(msg, JSON.parse(text) as unknown);
      })
      .join('');
    for (const bed of waiting) {
      const sync = bed.socket.writes[0]!.length;
      drain(bed);
      expect(writtenHex(bed, sync)).toBe(expected);
    }
  });

  it('names no message as the kept frame\'s owner after a write into it failed', () => {
    const first = createMessage({ topic: 'ok', payload: { fine: true }, sender: 's' });
    expectSeveral(first);
    setup(100).q.sendDelivery(first);
    expect(writtenFrameOf(first)).toBeDefined();
    // A payload whose source was given back (a bug elsewhere): its copy throws midway.
    const source = Buffer.alloc(8 * 1024, 0x20);
    source.write('"x"', 0);
    const gone = new RawJson(source, 0, 3, true);
    expect(releaseBuffer(source)).toBe(true);
    const broken = createMessage({ topic: 'a.much.longer.topic', payload: gone, sender: 's' });
    expectSeveral(broken);
    expect(() => setup(100).q.sendDelivery(broken)).toThrow();
    expectSeveral(null);
    // The buffer was being rewritten: it holds neither message's frame now.
    expect(writtenFrameOf(first)).toBeUndefined();
    expect(writtenFrameOf(broken)).toBeUndefined();
  });

  it('matches JSON.stringify over random fan-outs of random messages, announced or not, with flags in between', async () => {
    const rng = new Rng(15);
    const queues = Array.from({ length: 5 }, () => setup(100_000));
    const expected: string[][] = queues.map(() => []);
    for (let i = 0; i < 400; i++) {
      const text = JSON.stringify({ i, s: 'ü😀x'.repeat(rng.int(0, 40)) });
      const payload = rng.chance(0.5) ? borrowed(text).raw : (JSON.parse(text) as unknown);
      const msg = createMessage({ topic: `r.${rng.int(0, 3)}`, payload, sender: `s${rng.int(0, 2)}`, qos: rng.chance(0.3) ? 1 : 0 });
      const value = jsonValue(msg.payload);
      if (rng.chance(0.7)) expectSeveral(msg);
      for (const [k, { q }] of queues.entries()) {
        if (!rng.chance(0.6)) continue;
        const flags: DeliveryFlags | undefined = rng.chance(0.1) ? { retained: true } : undefined;
        q.sendDelivery(msg, flags);
        expected[k]!.push(plainHex(msg, value, flags));
      }
      if (rng.chance(0.1)) await tick();
    }
    await tick();
    for (const [k, bed] of queues.entries()) expect(writtenHex(bed)).toBe(expected[k]!.join(''));
  });
});
