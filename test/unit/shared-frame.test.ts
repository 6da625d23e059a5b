import { describe, expect, it } from 'vitest';
import { createMessage, type BrokerMessage, type DeliveryFlags } from '../../src/broker/message.js';
import { expectSeveral, wholeFrameFor } from '../../src/broker/shared-frame.js';
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

  it('shares the frame from the second connection on when the router said nothing, the first having its parts', async () => {
    const queues = [setup(100), setup(100), setup(100)];
    const msg = createMessage({ topic: 'fan.quiet', payload: { n: 1 }, sender: 'p' });
    for (const { q } of queues) expect(q.sendDelivery(msg)).toBe(true);
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

  it('gives a frame larger than the kept buffer a buffer of its own, and the next small frame the kept one again', async () => {
    const queues = [setup(100), setup(100)];
    const big = createMessage({ topic: 'big', payload: 'B'.repeat(70 * 1024), sender: 's' });
    const small = createMessage({ topic: 'small', payload: 's', sender: 's' });
    for (const msg of [big, small, big]) {
      expectSeveral(msg);
      for (const { q } of queues) q.sendDelivery(msg);
    }
    await tick();
    const expected = plainHex(big, 'B'.repeat(70 * 1024)) + plainHex(small, 's') + plainHex(big, 'B'.repeat(70 * 1024));
    for (const bed of queues) expect(writtenHex(bed)).toBe(expected);
  });

  it('places the shared frame in the frame store for connections under backpressure, byte for byte', () => {
    const direct = setup(100);
    const waiting = [backpressured(), backpressured()];
    const msgs = Array.from({ length: 20 }, (_, i) => createMessage({ topic: `mix.${i % 3}`, payload: { i, s: 'é'.repeat(i) }, sender: 'p' }));
    for (const msg of msgs) {
      expectSeveral(msg);
      direct.q.sendDelivery(msg);
      for (const bed of waiting) bed.q.sendDelivery(msg);
    }
    const expected = msgs.map((m) => plainHex(m, jsonValue(m.payload))).join('');
    for (const bed of waiting) {
      const sync = bed.socket.writes[0]!.length;
      drain(bed);
      expect(writtenHex(bed, sync)).toBe(expected);
    }
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
