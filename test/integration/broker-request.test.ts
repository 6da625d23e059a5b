import { describe, expect, it } from 'vitest';
import { encodeJsonFrame } from '../../src/protocol/index.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';
import type { RawClient } from '../helpers/raw-client.js';

const broker = useBrokerPerTest();
const { connected } = broker;

async function responder(id: string, pattern: string): Promise<RawClient> {
  const c = await connected(id);
  await c.call('subscribe', { patterns: [pattern] });
  return c;
}

describe('request / reply', () => {
  it('delivers the request with reply_to and returns the reply as the result', async () => {
    const svc = await responder('ahk_manager', 'scripts.status');
    const app = await connected('ds_pas');
    const pending = app.call('request', { topic: 'scripts.status', payload: { script_id: 'saw1' }, timeout: 5 });
    const req = await svc.waitDelivery('scripts.status');
    expect(req).toMatchObject({ payload: { script_id: 'saw1' }, sender: 'ds_pas', qos: 0, reply_to: expect.any(String) });
    const ack = await svc.call('reply', { reply_to: req.reply_to, result: { running: true, pid: 4242 } });
    expect(ack.result).toEqual({ accepted: true });
    expect((await pending).result).toEqual({ running: true, pid: 4242 });
  });

  it('the first non-null reply wins; null results and later replies are not accepted', async () => {
    const r1 = await responder('r1', 'svc.q');
    const r2 = await responder('r2', 'svc.q');
    const r3 = await responder('r3', 'svc.q');
    const app = await connected('app');
    const pending = app.call('request', { topic: 'svc.q', payload: 1 });
    const [d1, d2, d3] = await Promise.all([r1.waitDelivery('svc.q'), r2.waitDelivery('svc.q'), r3.waitDelivery('svc.q')]);
    expect(new Set([d1.reply_to, d2.reply_to, d3.reply_to]).size).toBe(1);
    expect((await r1.call('reply', { reply_to: d1.reply_to, result: null })).result).toEqual({ accepted: false });
    expect((await r2.call('reply', { reply_to: d2.reply_to, result: 'second' })).result).toEqual({ accepted: true });
    expect((await r3.call('reply', { reply_to: d3.reply_to, result: 'third' })).result).toEqual({ accepted: false });
    expect((await pending).result).toBe('second');
  });

  it('forwards an error reply with its code', async () => {
    const svc = await responder('svc', 'svc.fail');
    const app = await connected('app');
    const pending = app.call('request', { topic: 'svc.fail' });
    const req = await svc.waitDelivery('svc.fail');
    await svc.call('reply', { reply_to: req.reply_to, error: { code: 4001, message: 'saw is offline', data: { saw: 1 } } });
    expect((await pending).error).toEqual({ code: 4001, message: 'saw is offline', data: { saw: 1 } });
  });

  it('reply with an unknown reply_to is not accepted; malformed replies are -32602', async () => {
    const c = await connected('c');
    expect((await c.call('reply', { reply_to: 'nope', result: 1 })).result).toEqual({ accepted: false });
    expect((await c.call('reply', { result: 1 })).error.code).toBe(-32602);
    expect((await c.call('reply', { reply_to: 'x', error: 'bad' })).error.code).toBe(-32602);
    expect((await c.call('reply', { reply_to: 'x', error: { code: 1.5, message: 'm' } })).error.code).toBe(-32602);
    // A code past 2^53 - 1 would reach the requester rounded (9007199254740993 as ...992).
    const big = await c.call('reply', { reply_to: 'x', error: { code: 2 ** 53, message: 'm' } });
    expect(big.error).toMatchObject({ code: -32602, message: expect.stringContaining('within +/-(2^53 - 1)') });
  });

  it('-32005 at once when no other connected client subscribes', async () => {
    const app = await connected('app');
    await app.call('subscribe', { patterns: ['self.only'] });
    const started = Date.now();
    const res = await app.call('request', { topic: 'self.only', payload: {}, timeout: 30 });
    expect(res.error.code).toBe(-32005);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await app.call('request', { topic: 'nobody.here' })).error.code).toBe(-32005);
  });

  it('offline sessions do not count as responders', async () => {
    const svc = await responder('svc', 'svc.x');
    const app = await connected('app');
    await app.call('subscribe', { patterns: ['system.client.disconnected'] });
    svc.close();
    await app.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'svc');
    expect((await app.call('request', { topic: 'svc.x' })).error.code).toBe(-32005);
  });

  it('-32002 when nobody replies within the timeout (fractions allowed)', async () => {
    await responder('silent', 'svc.slow');
    const app = await connected('app');
    const started = Date.now();
    const res = await app.call('request', { topic: 'svc.slow', timeout: 0.2 });
    expect(res.error.code).toBe(-32002);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('-32002, not -32005, for a timeout that ends before the request is routed (a microsecond)', async () => {
    await responder('quick', 'svc.quick');
    const app = await connected('app');
    // Expiry is judged against the read's clock, so the microsecond has passed by routing
    // whenever the read and the routing fall in different milliseconds: ask until one does
    // (bounded), and whatever the answer, it is never "no responders".
    for (let i = 0; i < 200; i++) {
      const res = await app.call('request', { topic: 'svc.quick', payload: i, timeout: 0.000001 });
      expect(res.error?.code, JSON.stringify(res.error)).toBe(-32002);
      if (res.error?.data?.delivered === undefined) {
        expect(res.error).toMatchObject({ data: { topic: 'svc.quick', timeout: 0.000001 }, message: expect.stringContaining('ended before it was routed') });
        return;
      }
    }
    expect.fail('in 200 requests, none had timed out before it was routed');
  });

  it('-32005 for a microsecond timeout with nobody subscribed, however many milliseconds routing takes', async () => {
    const app = await connected('app');
    // The requester's own subscription does not count: a request never goes back to its sender.
    await app.call('subscribe', { patterns: ['svc.nobody'] });
    // One write of many requests is handled in one read, which takes milliseconds: the
    // read's clock falls behind, and most of these expire before they are routed.
    const n = 2000;
    const frames = Array.from({ length: n }, (_, i) => encodeJsonFrame({ jsonrpc: '2.0', id: 10_000 + i, method: 'request', params: { topic: 'svc.nobody', payload: i, timeout: 0.000001 } }));
    const answers = Promise.all(frames.map((_, i) => app.waitFor((f) => f.id === 10_000 + i && !f.method, 20_000, `answer ${i}`)));
    app.writeRaw(Buffer.concat(frames));
    const codes = new Map<number, number>();
    for (const a of await answers) codes.set(a.error?.code, (codes.get(a.error?.code) ?? 0) + 1);
    expect(Object.fromEntries(codes)).toEqual({ [-32005]: n });
  });

  it('-32002 says in data.delivered how many subscribers got the request that nobody answered', async () => {
    await responder('listener1', 'svc.quiet');
    await responder('listener2', 'svc.*');
    const app = await connected('app');
    const res = await app.call('request', { topic: 'svc.quiet', payload: 1, timeout: 0.2 });
    expect(res.error).toMatchObject({ code: -32002, data: { topic: 'svc.quiet', timeout: 0.2, delivered: 2 } });
  });

  it('timeout outside (0, 300] is -32602', async () => {
    const app = await connected('app');
    for (const timeout of [0, -1, 301, 'soon']) {
      expect((await app.call('request', { topic: 'a', timeout })).error.code, String(timeout)).toBe(-32602);
    }
  });

  it('requests to reserved topics are refused like publishes', async () => {
    const app = await connected('app');
    expect((await app.call('request', { topic: 'system.x' })).error.code).toBe(-32004);
    expect((await app.call('request', { topic: '_internal.nothing' })).error.code).toBe(-32005);
  });

  it('the broker answers status, subscriptions and _internal.message_acks as request topics', async () => {
    const app = await connected('my_app');
    await app.call('subscribe', { patterns: ['jobs.*'] });
    const status = await app.call('request', { topic: 'status', payload: {} });
    expect(status.result).toMatchObject({ client_count: 1, version: expect.any(String), uptime: expect.any(Number), started_at: expect.any(String) });
    const subs = await app.call('request', { topic: 'subscriptions', payload: { client_id: 'my_app' } });
    expect(subs.result).toMatchObject({ client_id: 'my_app', patterns: ['jobs.*'] });
    const pub = await app.call('publish', { topic: 'jobs.activated', payload: 1, qos: 1 });
    const acks = await app.call('request', { topic: '_internal.message_acks', payload: { message_id: pub.result.message_id } });
    expect(acks.result).toEqual({ message_id: pub.result.message_id, clients: [], pending: ['my_app'] });
  });

  it('a broker-answered request takes its payload as the method call takes params: by name, by position, or none', async () => {
    const app = await connected('pos_app');
    await connected('other_app');
    const pub = await app.call('publish', { topic: 'pos.x', payload: 1, qos: 1 });
    const ask = (topic: string, payload: unknown) => app.call('request', { topic, payload });
    // An array was read as no params at all: the caller's own subscriptions, "message_id is required".
    expect((await ask('subscriptions', ['other_app'])).result).toEqual({ client_id: 'other_app', patterns: [], connected: true });
    expect((await ask('subscriptions', ['nope'])).error).toMatchObject({ code: -32602, message: 'Invalid params: no session for client_id "nope"' });
    expect((await ask('_internal.message_acks', [pub.result.message_id])).result).toEqual({ message_id: pub.result.message_id, clients: [], pending: [] });
    expect((await ask('subscriptions', null)).result).toMatchObject({ client_id: 'pos_app' });
    expect((await ask('status', [])).result).toMatchObject({ client_count: 2 });
    expect((await ask('subscriptions', ['a', 'b'])).error).toMatchObject({ code: -32602, message: 'Invalid params: a request to "subscriptions" takes at most 1 positional params (client_id)' });
    expect((await ask('status', 5)).error).toMatchObject({ code: -32602, message: 'Invalid params: the payload of a request to "status" must be an object, an array or null, as a call\'s params' });
  });

  it('a requester that disconnects leaves no pending request behind', async () => {
    const svc = await responder('svc', 'svc.q');
    const app = await connected('app');
    app.notify('request', { topic: 'svc.q', timeout: 60 });
    const req = await svc.waitDelivery('svc.q');
    expect(broker.current.broker.status().pending_requests).toBe(1);
    app.close();
    // Event-driven: the broker publishes the disconnect once it has processed it.
    await svc.call('subscribe', { patterns: ['system.client.disconnected'] });
    await svc.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'app');
    expect(broker.current.broker.status().pending_requests).toBe(0);
    const res = await svc.call('reply', { reply_to: req.reply_to, result: 'late' });
    expect(res.result).toEqual({ accepted: false });
  });

  it('status counts clients and messages', async () => {
    const a = await connected('a');
    await connected('b');
    await a.call('publish', { topic: 't', payload: 1 });
    await a.call('publish', { topic: 't', payload: 2 });
    const s = (await a.call('status')).result;
    expect(s).toMatchObject({ client_count: 2, message_count: 2, connection_count: 2, dropped_count: 0 });
    expect(s.clients.map((c: { client_id: string }) => c.client_id).sort()).toEqual(['a', 'b']);
  });
  it("a reply reaches the requester ahead of what the responder publishes after it (one TCP write holding both)", async () => {
    const svc = await responder('svc', 'svc.order');
    const app = await connected('app');
    await app.call('subscribe', { patterns: ['svc.done'] });
    const pending = app.call('request', { topic: 'svc.order', payload: 1 });
    const req = await svc.waitDelivery('svc.order');
    // The reply and a publish after it arrive in one chunk, so the broker handles both in
    // one turn: the answer must not wait behind that turn's other writes.
    svc.writeRaw(
      Buffer.concat([
        encodeJsonFrame({ jsonrpc: '2.0', method: 'reply', id: 90, params: { reply_to: req.reply_to, result: 'answer' } }),
        encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'svc.done', payload: 'after the answer' } }),
      ]),
    );
    expect((await pending).result).toBe('answer');
    await app.waitDelivery('svc.done');
    const order = app.frames.filter((f) => f.result === 'answer' || f.method === 'message').map((f) => (f.method === 'message' ? f.params.topic : 'the answer'));
    expect(order).toEqual(['the answer', 'svc.done']);
  });
});
