/**
 * Black-box tests of the broker's limits, liveness rules, authentication, listening
 * addresses, shutdown and system events, over real TCP against a real broker
 * (docs/protocol.md). Every wait is on an observable event, never a sleep.
 */
import { describe, expect, it } from 'vitest';
import { encodeJsonFrame } from '../../src/protocol/index.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';
import { runtimeFullCollection } from '../../src/runtime/full-collection.js';
import { hasIPv6Loopback } from '../helpers/ports.js';

const { broker, open, connect, connected } = useTestBed();

const isSystem = (topic: string, clientId: string) => (p: Frame) => p.topic === topic && p.payload?.client_id === clientId;

const ipv6 = await hasIPv6Loopback();

describe('max_connections', () => {
  it('sends an unprompted -32006 with id null to the extra socket and closes it; the others keep working', async () => {
    const { port } = await broker({ max_connections: 2 });
    const a = await connected(port, 'a');
    const idle = await open(port); // never connects, still counts

    const extra = await open(port);
    const refusal = await extra.waitFor((f) => f.error !== undefined, 3000, 'the refusal');
    expect(refusal).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32006 } });
    expect(typeof refusal.error.message).toBe('string');
    await extra.waitClosed(3000);
    expect(extra.frames).toHaveLength(1);

    await roundTrip(a);
    await roundTrip(idle);
    const status = (await a.call('status')).result;
    expect(status).toMatchObject({ connection_count: 2, refused_connections: 1 });

    // A freed slot is usable again, as soon as the broker has seen the close.
    idle.close();
    const deadline = Date.now() + 3000;
    while ((await a.call('status')).result.connection_count !== 1) {
      if (Date.now() > deadline) throw new Error('the broker never noticed the closed socket');
      await new Promise((r) => setTimeout(r, 10));
    }
    const { res } = await connect(port, 'next');
    expect(res.result.client_id).toBe('next');
  });

  it('stop() does not wait on a refused socket whose peer sent data before reading the refusal', async () => {
    const b = await broker({ max_connections: 1 });
    await connected(b.port, 'a');
    const extra = await open(b.port);
    // An AutoHotkey client writes `connect` at once, without waiting for anything.
    extra.send({ jsonrpc: '2.0', method: 'connect', id: 1, params: { client_id: 'late', client_type: 'ahk', version: '1' } });
    expect(await extra.waitFor(() => true, 3000)).toMatchObject({ id: null, error: { code: -32006 } });
    await extra.waitClosed(3000);
    const t0 = Date.now();
    await b.stop();
    // The refused peer has closed its side; the broker should not hold the socket open (it
    // did, until its 2 s refusal grace timer fired, and stop() waited for it).
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('connection_timeout', () => {
  it('closes a socket that never sends connect (pinging does not count), not one that did', async () => {
    const { port } = await broker({ connection_timeout: 0.2 });
    const good = await connected(port, 'good');
    const t0 = Date.now();
    const lazy = await open(port);
    const pinger = await open(port);
    await roundTrip(pinger); // ping is allowed before connect, but is no connect

    await lazy.waitClosed(3000);
    await pinger.waitClosed(3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    // `good` connected before either opened, so its own 0.2 s have passed as well.
    await roundTrip(good);
    expect(good.isClosed).toBe(false);
  });
});

describe('heartbeat_timeout', () => {
  it('closes a client that pinged and went silent (reason heartbeat_timeout); one that never pinged stays', async () => {
    const { port } = await broker({ heartbeat_interval: 0.1, heartbeat_timeout: 0.3 });
    const mon = await connected(port, 'monitor');
    await subscribe(mon, 'system.client.disconnected');
    const quiet = await connected(port, 'never-pings');
    const { c: pinger, res } = await connect(port, 'pinger');
    expect(res.result).toMatchObject({ heartbeat_interval: 0.1, heartbeat_timeout: 0.3 });
    const t0 = Date.now();
    await roundTrip(pinger);

    await pinger.waitClosed(3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const ev = await mon.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'pinger');
    expect(ev).toMatchObject({ sender: 'broker', payload: { client_id: 'pinger', reason: 'heartbeat_timeout' } });

    // `quiet` has been silent longer than the pinger, and is still served.
    expect(quiet.isClosed).toBe(false);
    await roundTrip(quiet);
    expect(mon.deliveries('system.client.disconnected').map((d) => d.payload.client_id)).toEqual(['pinger']);
  });
});

describe('max_message_size', () => {
  it('answers an oversize frame with -32600 and data.max_message_size, then closes; everything accepted before is delivered', async () => {
    const limit = 1024;
    const { port } = await broker({ max_message_size: limit });
    const mon = await connected(port, 'monitor');
    await subscribe(mon, 'system.client.disconnected');
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'big.#');
    const pub = await connected(port, 'pub');

    const publishFrame = (seq: number, extra: Record<string, unknown> = {}, pad = '') =>
      ({ jsonrpc: '2.0', method: 'publish', params: { topic: 'big.t', payload: { seq, pad } }, ...extra });
    /** A frame whose body is exactly `size` bytes. */
    const sized = (seq: number, size: number): Buffer => {
      const base = encodeJsonFrame(publishFrame(seq)).length - 4;
      const frame = encodeJsonFrame(publishFrame(seq, {}, 'p'.repeat(size - base)));
      expect(frame.length - 4).toBe(size);
      return frame;
    };

    // All in one write, so the oversize header arrives in the same read as what precedes it.
    pub.writeRaw(
      Buffer.concat([
        encodeJsonFrame(publishFrame(1)),
        encodeJsonFrame(publishFrame(2)),
        encodeJsonFrame(publishFrame(3, { id: 'last-call' })),
        sized(4, limit), // exactly the limit: accepted
        sized(5, limit + 1), // one byte over
        encodeJsonFrame(publishFrame(6)), // after the bad frame: never processed
      ]),
    );

    const err = await pub.waitFor((f) => f.error !== undefined, 3000, 'the oversize error');
    expect(err).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600, data: { max_message_size: limit } } });
    await pub.waitClosed(3000);
    // The response to the call made before the bad frame arrived first.
    expect(pub.frames.slice(-2).map((f) => f.id)).toEqual(['last-call', null]);
    expect(pub.frames.at(-2).result.delivered).toBe(1);

    const got = await sub.waitDeliveries(4, 'big.t', 3000);
    await roundTrip(sub);
    expect(sub.deliveries('big.t').map((d) => d.payload.seq)).toEqual([1, 2, 3, 4]);
    expect(got[3].payload.pad).toMatch(/^p+$/);

    const ev = await mon.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'pub');
    expect(ev.payload.reason).toBe('protocol_error');
  });

  it('rejects a header announcing 0xFFFFFFFF bytes at once, from the 4 header bytes alone, without allocating it', async () => {
    const { port } = await broker();
    // A real full collection (global.gc exists only with --expose-gc), so the baseline is honest.
    runtimeFullCollection()?.();
    const rssBefore = process.memoryUsage().rss;
    const { c, res } = await connect(port, 'huge');
    expect(res.result.max_message_size).toBe(1024 * 1024);
    c.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));

    const err = await c.waitFor((f) => f.error !== undefined, 3000, 'the oversize error');
    expect(err).toMatchObject({ id: null, error: { code: -32600, data: { max_message_size: 1024 * 1024 } } });
    await c.waitClosed(3000);
    // Allocating the declared 4 GiB (or even 1/40 of it) would show here.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });
});

describe('slow consumer', () => {
  it('drops the oldest QoS 0 for a reader that stopped, reports it, and never delays the publisher or other subscribers', async () => {
    const maxQueue = 50;
    const { port } = await broker({ max_queue_size: maxQueue });
    const watcher = await connected(port, 'watcher');
    await subscribe(watcher, 'system.client.slow');
    const fast = await connected(port, 'fast');
    await subscribe(fast, 'flood.#');
    const slow = await connected(port, 'slow');
    await subscribe(slow, 'flood.#');
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the broker's queue
    const pub = await connected(port, 'pub');

    const body = 'x'.repeat(10_000);
    /**
     * Publish `n` messages as pipelined calls, 20 per write. The next write waits until the
     * fast subscriber has the previous ones: it shares this process's event loop, and a
     * publisher that outran it by more than max_queue_size would make it a slow consumer too.
     */
    const burst = async (from: number, n: number): Promise<Frame[]> => {
      const responses: Frame[] = [];
      for (let start = from; start < from + n; start += 20) {
        const end = Math.min(start + 20, from + n);
        const frames: Buffer[] = [];
        for (let seq = start; seq < end; seq++) {
          frames.push(encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', id: `p${seq}`, params: { topic: 'flood.x', payload: { seq, body } } }));
        }
        pub.writeRaw(Buffer.concat(frames));
        await pub.waitFor((f) => f.id === `p${end - 1}`, 10_000, `response to publish ${end - 1}`);
        await fast.waitDeliveries(end, 'flood.x', 10_000);
      }
      const ids = new Set(Array.from({ length: n }, (_, i) => `p${from + i}`));
      for (const f of pub.frames) if (ids.has(f.id)) responses.push(f);
      return responses;
    };

    const first = await burst(0, 2000);
    expect(first).toHaveLength(2000);
    for (const r of first) expect(r.result).toMatchObject({ delivered: 2 });
    const firstEvent = await watcher.waitDelivery('system.client.slow', (p) => p.payload.client_id === 'slow', 5000);
    expect(firstEvent.sender).toBe('broker');
    expect(firstEvent.payload.dropped).toBeGreaterThan(0);
    expect(firstEvent.payload.total_dropped).toBeGreaterThanOrEqual(firstEvent.payload.dropped);

    // More drops after the first event: the next event waits out the 1 s interval.
    const second = await burst(2000, 200);
    expect(second).toHaveLength(200);
    for (const r of second) expect(r.result).toMatchObject({ delivered: 2 });
    const total = 2200;

    const status = (await pub.call('status')).result;
    const perClient = Object.fromEntries(status.clients.map((c: Frame) => [c.client_id, c]));
    const dropped: number = perClient.slow.dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(status.dropped_count).toBe(dropped);
    expect(perClient.fast.dropped).toBe(0);
    expect(perClient.slow.queued).toBeLessThanOrEqual(maxQueue);

    // The fast subscriber got everything, in order, while the slow one was stuck.
    await fast.waitDeliveries(total, 'flood.x', 15_000);
    expect(fast.deliveries('flood.x').map((d) => d.payload.seq)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(slow.deliveries()).toEqual([]);

    await watcher.waitDelivery('system.client.slow', (p) => p.payload.client_id === 'slow' && p.payload.total_dropped === dropped, 5000);
    const events = watcher.deliveries('system.client.slow');
    expect(events.every((e) => e.payload.client_id === 'slow')).toBe(true);
    expect(events.length).toBeGreaterThanOrEqual(2);
    let sum = 0;
    for (const [i, e] of events.entries()) {
      expect(Object.keys(e.payload).sort()).toEqual(['client_id', 'dropped', 'total_dropped']);
      sum += e.payload.dropped;
      expect(e.payload.total_dropped).toBe(sum);
      if (i > 0) expect(Date.parse(e.timestamp) - Date.parse(events[i - 1]!.timestamp)).toBeGreaterThanOrEqual(990);
    }
    expect(sum).toBe(dropped);

    // Resumed: it gets the oldest that had already left the broker, then the newest, in order.
    slow.socket.resume();
    await slow.waitDelivery('flood.x', (p) => p.payload.seq === total - 1, 15_000);
    await roundTrip(slow);
    const seqs: number[] = slow.deliveries('flood.x').map((d) => d.payload.seq);
    expect(seqs.length + dropped).toBe(total);
    expect(seqs[0]).toBe(0);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(seqs.slice(-maxQueue)).toEqual(Array.from({ length: maxQueue }, (_, i) => total - maxQueue + i));
  });
});

describe('token', () => {
  it('refuses connect without or with a wrong token (-32602, then closes) and accepts the right one', async () => {
    const { port } = await broker({ token: 's3cret' });
    const owner = await connected(port, 'owner', { token: 's3cret' });
    await subscribe(owner, 'tok.#');

    for (const token of [undefined, 'wrong', 's3cre', 's3cret ', '', 12345]) {
      const c = await open(port);
      const params: Record<string, unknown> = { client_id: 'owner', client_type: 'test', version: '1' };
      if (token !== undefined) params.token = token;
      const res = await c.call('connect', params);
      expect(res.result, `token ${JSON.stringify(token)}`).toBeUndefined();
      expect(res.error, `token ${JSON.stringify(token)}`).toMatchObject({ code: -32602, data: { reason: 'invalid_token' } });
      await c.waitClosed(3000);
    }

    // The refused attempts (all with the owner's client_id) did not take its session over.
    await roundTrip(owner);
    expect(owner.isClosed).toBe(false);
    const { c: other, res } = await connect(port, 'other', { token: 's3cret' });
    expect(res.result.client_id).toBe('other');
    expect((await other.call('publish', { topic: 'tok.x', payload: 1 })).result.delivered).toBe(1);
    expect((await owner.waitDelivery('tok.x')).sender).toBe('other');
  });
});

describe('host localhost', () => {
  it('accepts connections on 127.0.0.1', async () => {
    const { port } = await broker({ host: 'localhost' });
    const { c, res } = await connect(port, 'v4', {}, '127.0.0.1');
    expect(res.result.client_id).toBe('v4');
    await roundTrip(c);
  });

  it.skipIf(!ipv6)('accepts connections on ::1 (skipped: no IPv6 loopback on this machine)', async () => {
    const { port } = await broker({ host: 'localhost' });
    const v6 = await connected(port, 'v6', {}, '::1');
    await subscribe(v6, 'fam.#');
    const v4 = await connected(port, 'v4', {}, '127.0.0.1');
    expect((await v4.call('publish', { topic: 'fam.x', payload: 'hi' })).result.delivered).toBe(1);
    expect((await v6.waitDelivery('fam.x')).payload).toBe('hi');
    expect(v6.socket.remoteFamily).toBe('IPv6');
  });
});

describe('shutdown and system events', () => {
  it('stop() publishes system.broker.shutdown, received before every client socket closes', async () => {
    const b = await broker();
    const all = await connected(b.port, 'all');
    await subscribe(all, 'system.#');
    const only = await connected(b.port, 'only');
    await subscribe(only, 'system.broker.shutdown');
    const plain = await connected(b.port, 'plain');
    const raw = await open(b.port); // never connected
    const closedAt = new Map<RawClient, number>();
    for (const c of [all, only, plain, raw]) c.socket.on('close', () => closedAt.set(c, c.frames.length));

    await b.stop();
    await Promise.all([all, only, plain, raw].map((c) => c.waitClosed(3000)));
    expect(b.broker.running).toBe(false);

    for (const c of [all, only]) {
      const d = await c.waitDelivery('system.broker.shutdown', () => true, 100);
      expect(d).toMatchObject({ sender: 'broker', payload: { reason: 'shutdown' } });
      const index = c.frames.findIndex((f) => f.method === 'message' && f.params.topic === 'system.broker.shutdown');
      expect(index).toBeLessThan(closedAt.get(c)!);
    }
    expect(plain.deliveries()).toEqual([]);
    expect(raw.frames).toEqual([]);
  });

  it('publishes system.client.connected and system.client.disconnected with the right payloads', async () => {
    const { port } = await broker();
    const mon = await connected(port, 'monitor');
    await subscribe(mon, 'system.client.*');

    const alpha = await connected(port, 'alpha', { client_type: 'ahk' });
    const conn = await mon.waitDelivery('system.client.connected', isSystem('system.client.connected', 'alpha'));
    expect(conn).toMatchObject({ sender: 'broker', qos: 0, payload: { client_id: 'alpha', client_type: 'ahk' } });
    expect(Object.keys(conn.payload).sort()).toEqual(['client_id', 'client_type']);

    expect((await alpha.call('disconnect')).result).toEqual({ disconnected: true });
    await alpha.waitClosed(3000);
    const bye = await mon.waitDelivery('system.client.disconnected', isSystem('system.client.disconnected', 'alpha'));
    expect(bye).toMatchObject({ sender: 'broker', payload: { client_id: 'alpha', reason: 'client_disconnect' } });
    expect(Object.keys(bye.payload).sort()).toEqual(['client_id', 'reason']);

    const beta = await connected(port, 'beta', { client_type: 'python' });
    await mon.waitDelivery('system.client.connected', isSystem('system.client.connected', 'beta'));
    beta.close();
    const lost = await mon.waitDelivery('system.client.disconnected', isSystem('system.client.disconnected', 'beta'));
    expect(lost.payload).toEqual({ client_id: 'beta', reason: 'connection_lost' });

    expect(mon.deliveries().map((d) => `${d.topic} ${d.payload.client_id}`)).toEqual([
      'system.client.connected alpha',
      'system.client.disconnected alpha',
      'system.client.connected beta',
      'system.client.disconnected beta',
    ]);
  });

  it('retains system.broker.ready: a late subscriber to system.# gets it with retained: true', async () => {
    const { port } = await broker();
    const late = await connected(port, 'late');
    const started = (await late.call('status')).result.started_at;
    await subscribe(late, 'system.#');
    const ready = await late.waitDelivery('system.broker.ready');
    expect(ready).toMatchObject({ retained: true, sender: 'broker', payload: { host: '127.0.0.1', port, started_at: started } });
    expect(ready.payload.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
  });
});
