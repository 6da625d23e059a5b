/**
 * A message is stamped with the time of the socket read its publish came in
 * (src/broker/read-clock.ts): the frames of one read share it, whatever path reads them
 * (the full scan, the connection's publish template, a batch, with a TTL), and what is
 * published outside a read (a socket's close, here) reads the clock afresh, never the
 * time a read left behind.
 *
 * `Date.now` is made to move a second at each call, so that every clock read shows as a
 * new timestamp: one read per message would give each message its own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeJsonFrame } from '../../src/protocol/index.js';
import { PublishTemplate } from '../../src/broker/publish-template.js';
import { beginRead, endRead, messageClock } from '../../src/broker/read-clock.js';
import { subscribe, useTestBed } from '../helpers/test-bed.js';
import type { Frame } from '../helpers/raw-client.js';

const bed = useTestBed();

afterEach(() => {
  vi.restoreAllMocks();
});

/** From now on each `Date.now()` call is a second after the one before; returns the time before the first. */
function clockMovingASecondPerCall(): number {
  const start = Date.now() + 3_600_000;
  let t = start;
  vi.spyOn(Date, 'now').mockImplementation(() => (t += 1000));
  return start;
}

const publishFrame = (params: Record<string, unknown>, id?: number): Buffer =>
  encodeJsonFrame(id === undefined ? { jsonrpc: '2.0', method: 'publish', params } : { jsonrpc: '2.0', id, method: 'publish', params });

describe('the time a message is stamped with', () => {
  it('is its read\'s, for every publish of the read, by every path that reads one', async () => {
    const broker = await bed.broker();
    const sub = await bed.connected(broker.port, 'sub');
    await subscribe(sub, 'clock.#');
    const pub = await bed.connected(broker.port, 'pub');
    // Taught its template first, so that the read below has frames for both paths.
    pub.notify('publish', { topic: 'clock.a', payload: 0 });
    await sub.waitDeliveries(1, 'clock.a');

    const templated = vi.spyOn(PublishTemplate.prototype, 'payloadOf');
    const start = clockMovingASecondPerCall();
    // One write, so one read: a plain publish the template reads, then the full scan's
    // (another topic), an answered one with a TTL, and a batch of two.
    pub.writeRaw(
      Buffer.concat([
        publishFrame({ topic: 'clock.a', payload: 1 }),
        publishFrame({ topic: 'clock.b', payload: 2 }),
        publishFrame({ topic: 'clock.b', payload: 3, qos: 1, ttl: 60 }, 70),
        encodeJsonFrame([
          { jsonrpc: '2.0', id: 71, method: 'publish', params: { topic: 'clock.c', payload: 4 } },
          { jsonrpc: '2.0', id: 72, method: 'publish', params: { topic: 'clock.c', payload: 5 } },
        ]),
      ]),
    );
    const got = await sub.waitDeliveries(6);
    const readByTemplate = templated.mock.results.filter((r) => r.type === 'return' && r.value !== null).length;
    vi.restoreAllMocks();
    expect(readByTemplate, 'publishes read through the connection\'s template').toBe(1);
    const stamps = got.slice(1).map((f: Frame) => f.timestamp as string);
    expect(got.slice(1).map((f: Frame) => f.payload)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(stamps).size, `one time for the read: ${stamps.join(', ')}`).toBe(1);
    const stamped = Date.parse(stamps[0]!);
    expect(stamped).toBeGreaterThan(start);
    expect(stamped).toBeLessThan(start + 10_000); // one of the first few clock reads, not the last
  });

  it('is read afresh outside a read, not left behind by the last one', async () => {
    const broker = await bed.broker();
    const watcher = await bed.connected(broker.port, 'watcher');
    await subscribe(watcher, 'clock.t', 'system.client.disconnected');
    const pub = await bed.connected(broker.port, 'pub');

    clockMovingASecondPerCall();
    pub.notify('publish', { topic: 'clock.t', payload: 'last read' });
    const published = await watcher.waitDelivery('clock.t');
    // A socket's close is no read: its system event is stamped with the clock of then.
    // (Nothing is read between the two: a read would leave a later time behind.)
    pub.close();
    const closed = await watcher.waitDelivery('system.client.disconnected', (p: Frame) => p.payload?.client_id === 'pub');
    vi.restoreAllMocks();
    const readAt = Date.parse(published.timestamp as string);
    const closedAt = Date.parse(closed.timestamp as string);
    expect(closedAt, `${closed.timestamp as string} after ${published.timestamp as string}`).toBeGreaterThan(readAt);
  });
});

describe('the read clock', () => {
  it('gives the time of the read being handled, the outer one again once an inner one ends, and the clock outside', () => {
    const outer = beginRead(1_000);
    try {
      expect(messageClock()).toBe(1_000);
      const inner = beginRead(2_000);
      expect(messageClock()).toBe(2_000);
      endRead(inner);
      expect(messageClock()).toBe(1_000);
    } finally {
      endRead(outer);
    }
    const before = Date.now();
    const now = messageClock();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
