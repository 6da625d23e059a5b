import { describe, expect, it } from 'vitest';
import { useBrokerPerTest } from '../helpers/test-bed.js';
import type { RawClient } from '../helpers/raw-client.js';

const broker = useBrokerPerTest();
const { connected } = broker;

/** A marker publish proves everything published before it has been routed (per-publisher order). */
async function fence(pub: RawClient, ...subs: RawClient[]): Promise<void> {
  const marker = `fence.${Math.random().toString(36).slice(2)}`;
  for (const s of subs) await s.call('subscribe', { patterns: [marker] });
  await pub.call('publish', { topic: marker, payload: null });
  for (const s of subs) await s.waitDelivery(marker);
}

describe('publish and subscribe', () => {
  it('delivers the contract envelope with payload, sender, timestamp, id and qos', async () => {
    const sub = await connected('ahk_manager');
    await sub.call('subscribe', { patterns: ['jobs.*'] });
    const pub = await connected('ds_pas');
    const res = await pub.call('publish', { topic: 'jobs.activated', payload: { job_id: '12345' } });
    expect(res.result).toEqual({ message_id: expect.any(String), delivered: 1 });
    const msg = await sub.waitDelivery('jobs.activated');
    expect(msg).toEqual({
      topic: 'jobs.activated',
      payload: { job_id: '12345' },
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/),
      sender: 'ds_pas',
      message_id: res.result.message_id,
      qos: 0,
    });
  });

  it('routes by pattern: exact, *, +, # and middle wildcards', async () => {
    const cases: [string, string[]][] = [
      ['jobs.activated', ['jobs.activated']],
      ['jobs.*', ['jobs.activated', 'jobs.created']],
      ['jobs.+', ['jobs.activated', 'jobs.created']],
      ['scripts.#', ['scripts', 'scripts.saw1.started', 'scripts.saw1.hotkey.pressed']],
      ['scripts.+.started', ['scripts.saw1.started']],
      ['#', ['jobs.activated', 'jobs.created', 'jobs.12345.updated', 'scripts', 'scripts.saw1.started', 'scripts.saw1.hotkey.pressed', 'other']],
    ];
    const topics = ['jobs.activated', 'jobs.created', 'jobs.12345.updated', 'scripts', 'scripts.saw1.started', 'scripts.saw1.hotkey.pressed', 'other'];
    const subs = await Promise.all(cases.map(([p], i) => connected(`s${i}`).then(async (c) => (await c.call('subscribe', { patterns: [p] }), c))));
    const pub = await connected('pub');
    for (const t of topics) pub.notify('publish', { topic: t, payload: t });
    await fence(pub, ...subs);
    cases.forEach(([pattern, expected], i) => {
      const got = subs[i]!.deliveries().map((m: { topic: string }) => m.topic).filter((t: string) => !t.startsWith('fence.') && !t.startsWith('system.'));
      expect(got, pattern).toEqual(expected);
    });
  });

  it('delivers once per subscriber however many of its patterns match', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['a.b', 'a.*', 'a.+', 'a.#', '#'] });
    const pub = await connected('pub');
    const res = await pub.call('publish', { topic: 'a.b', payload: 1 });
    expect(res.result.delivered).toBe(1);
    await fence(pub, sub);
    expect(sub.deliveries('a.b')).toHaveLength(1);
  });

  it('keeps per-publisher order for every subscriber', async () => {
    const subs = [await connected('s1'), await connected('s2'), await connected('s3')];
    for (const s of subs) await s.call('subscribe', { patterns: ['seq.#'] });
    const p1 = await connected('p1');
    const p2 = await connected('p2');
    for (let i = 0; i < 500; i++) {
      p1.notify('publish', { topic: 'seq.a', payload: i });
      p2.notify('publish', { topic: `seq.b.${i % 3}`, payload: i });
    }
    for (const s of subs) await s.waitDeliveries(1000, undefined, 10_000);
    for (const s of subs) {
      const all = s.deliveries();
      expect(all.filter((m: { sender: string }) => m.sender === 'p1').map((m: { payload: number }) => m.payload)).toEqual([...Array(500).keys()]);
      expect(all.filter((m: { sender: string }) => m.sender === 'p2').map((m: { payload: number }) => m.payload)).toEqual([...Array(500).keys()]);
    }
  });

  it('a publisher subscribed to its own topic receives its message', async () => {
    const c = await connected('me');
    await c.call('subscribe', { patterns: ['self.t'] });
    await c.call('publish', { topic: 'self.t', payload: 'hi' });
    expect((await c.waitDelivery('self.t')).sender).toBe('me');
  });

  it('absent payload is null; any JSON value is carried unchanged', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['v.*'] });
    const pub = await connected('pub');
    const values = [null, 0, -1.5, 'text ✓', true, [1, [2]], { nested: { deep: [null] } }, ''];
    await pub.call('publish', { topic: 'v.none' });
    for (const v of values) await pub.call('publish', { topic: 'v.x', payload: v });
    expect((await sub.waitDelivery('v.none')).payload).toBeNull();
    const got = await sub.waitDeliveries(values.length, 'v.x');
    expect(got.map((m: { payload: unknown }) => m.payload)).toEqual(values);
  });

  it('unsubscribe stops deliveries and reports what was removed', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['u.a', 'u.b'] });
    const res = await sub.call('unsubscribe', { patterns: ['u.a', 'never.subscribed'] });
    expect(res.result).toEqual({ unsubscribed: ['u.a'] });
    const pub = await connected('pub');
    await pub.call('publish', { topic: 'u.a', payload: 1 });
    await pub.call('publish', { topic: 'u.b', payload: 2 });
    await fence(pub, sub);
    expect(sub.deliveries('u.a')).toEqual([]);
    expect(sub.deliveries('u.b')).toHaveLength(1);
    expect((await sub.call('subscriptions')).result).toEqual({ client_id: 'sub', patterns: expect.arrayContaining(['u.b']), connected: true });
  });

  it('unsubscribe of a pattern that is not valid is -32003 listing it, as subscribe; nothing is removed', async () => {
    const sub = await connected('unsub-bad');
    await sub.call('subscribe', { patterns: ['u.ok'] });
    const res = await sub.call('unsubscribe', { patterns: ['u.ok', 'a..b', 'fo+o'] });
    expect(res.result).toBeUndefined();
    expect(res.error).toMatchObject({ code: -32003, data: { invalid: ['a..b', 'fo+o'] } });
    expect((await sub.call('subscriptions')).result.patterns).toEqual(['u.ok']);
  });

  it('subscriptions reports another client by id, and -32602 for an unknown one', async () => {
    const a = await connected('a');
    await a.call('subscribe', { patterns: ['z.+', 'a.#'] });
    const b2 = await connected('b');
    expect((await b2.call('subscriptions', { client_id: 'a' })).result).toEqual({ client_id: 'a', patterns: ['a.#', 'z.+'], connected: true });
    expect((await b2.call('subscriptions', { client_id: 'ghost' })).error.code).toBe(-32602);
  });
});

describe('validation', () => {
  it('refuses reserved topics with -32004', async () => {
    const c = await connected('c');
    for (const topic of ['system.broker.ready', 'system.x', '_internal.message_acks']) {
      expect((await c.call('publish', { topic, payload: 1 })).error.code, topic).toBe(-32004);
    }
  });

  it('answers long names with their start and length, not copies of a request of many kilobytes', async () => {
    const c = await connected('c');
    const patterns = Array.from({ length: 8 }, (_, i) => `${String(i).repeat(60_000)}+`);
    const sent = JSON.stringify(patterns).length;
    const sub = await c.call('subscribe', { patterns });
    expect(sub.error.code).toBe(-32003);
    expect(sub.error.data.invalid).toEqual(patterns);
    expect(sub.error.message).toBe(
      `Invalid pattern: ${patterns
        .slice(0, 5)
        .map((p) => `"${p.slice(0, 100)}..." (60001 characters) (level "${p.slice(0, 100)}..." (60001 characters) mixes a wildcard with other characters)`)
        .join(', ')}, and 3 more`,
    );
    // Was the request four times over: the message, data.invalid, and the pattern and its level in each reason.
    expect(JSON.stringify(sub.error).length).toBeLessThan(sent + 5000);
    const method = 'm'.repeat(60_000);
    const unknown = await c.call(method, {});
    expect(unknown.error).toEqual({ code: -32601, message: `Method not found: ${'m'.repeat(100)}... (60000 characters)` });
    const topic = `t.${'x'.repeat(60_000)}`;
    const request = await c.call('request', { topic, payload: {}, timeout: 1 });
    expect(request.error.code).toBe(-32005);
    expect(request.error.message).toBe(`No responders: no other connected client subscribes to "t.${'x'.repeat(98)}..." (60002 characters)`);
    const listener = await connected('listener');
    await listener.call('subscribe', { patterns: [topic] });
    const unanswered = await c.call('request', { topic, payload: {}, timeout: 0.05 });
    expect(unanswered.error).toMatchObject({ code: -32002, message: `Request timed out: no reply on t.${'x'.repeat(98)}... (60002 characters) within 0.05s`, data: { topic, delivered: 1 } });
    expect((await c.call('publish', { topic: `system.${'s'.repeat(60_000)}`, payload: 1 })).error.message).toMatch(/^Topic "system\.s{93}\.\.\." \(60007 characters\) is reserved/);
  });

  it('refuses invalid topics and params with -32602', async () => {
    const c = await connected('c');
    const bad: Record<string, unknown>[] = [
      {},
      { topic: 5 },
      { topic: '' },
      { topic: 'a..b' },
      { topic: '.a' },
      { topic: 'a.' },
      { topic: 'a.*' },
      { topic: 'a.#' },
      { topic: 'a+b' },
      { topic: 'a\nb' },
      { topic: 'a', qos: 2 },
      { topic: 'a', qos: '1' },
      { topic: 'a', ttl: -1 },
      { topic: 'a', ttl: 'soon' },
      { topic: 'a', retain: 'yes' },
    ];
    for (const params of bad) expect((await c.call('publish', params)).error.code, JSON.stringify(params)).toBe(-32602);
  });

  it('fails the whole subscribe on one invalid pattern (-32003, data.invalid lists them)', async () => {
    const c = await connected('c');
    const res = await c.call('subscribe', { patterns: ['ok.*', 'fo+o', 'a.#.b', 'x..y', 'foo#'] });
    expect(res.error.code).toBe(-32003);
    expect(res.error.data.invalid).toEqual(['fo+o', 'a.#.b', 'x..y', 'foo#']);
    expect((await c.call('subscriptions')).result.patterns).toEqual([]);
  });

  it('a non-string pattern or a missing/empty list is -32602', async () => {
    const c = await connected('c');
    expect((await c.call('subscribe', { patterns: ['ok', 3] })).error.code).toBe(-32602);
    expect((await c.call('subscribe', { patterns: 'ok' })).error.code).toBe(-32602);
    expect((await c.call('subscribe', {})).error.code).toBe(-32602);
    expect((await c.call('subscribe', { patterns: [] })).error.code).toBe(-32602);
  });

  it('enforces max_subscriptions with -32003', async () => {
    await broker.restart({ max_subscriptions: 3 });
    const c = await connected('c');
    expect((await c.call('subscribe', { patterns: ['a', 'b'] })).result.subscribed).toEqual(['a', 'b']);
    const res = await c.call('subscribe', { patterns: ['c', 'd'] });
    expect(res.error).toMatchObject({ code: -32003, data: { max_subscriptions: 3 } });
    expect((await c.call('subscribe', { patterns: ['a', 'c'] })).result.subscribed).toEqual(['a', 'c']);
  });
});

describe('retained messages', () => {
  it('sends the last retained message to a new subscription right after its response', async () => {
    const pub = await connected('pub');
    await pub.call('publish', { topic: 'cfg.mode', payload: 'old', retain: true });
    await pub.call('publish', { topic: 'cfg.mode', payload: 'new', retain: true });
    await pub.call('publish', { topic: 'cfg.other', payload: 'not retained' });
    const sub = await connected('sub');
    const before = sub.frames.length;
    const res = await sub.call('subscribe', { patterns: ['cfg.*', 'cfg.#'] });
    const msg = await sub.waitDelivery('cfg.mode');
    expect(msg).toMatchObject({ payload: 'new', retained: true, sender: 'pub' });
    const after = sub.frames.slice(before);
    expect(after.indexOf(res)).toBeLessThan(after.findIndex((f) => f.method === 'message' && f.params.topic === 'cfg.mode'));
    await fence(pub, sub);
    expect(sub.deliveries('cfg.mode')).toHaveLength(1);
    expect(sub.deliveries('cfg.other')).toEqual([]);
  });

  it('a batch that subscribes and then replaces a retained message replays the new one, not the one it replaced', async () => {
    const pub = await connected('pub');
    await pub.call('publish', { topic: 'cfg.theme', payload: 'dark', retain: true });
    const app = await connected('app');
    app.send([
      { jsonrpc: '2.0', id: 1, method: 'subscribe', params: { patterns: ['cfg.*'] } },
      { jsonrpc: '2.0', id: 2, method: 'publish', params: { topic: 'cfg.theme', payload: 'light', retain: true } },
      { jsonrpc: '2.0', id: 3, method: 'publish', params: { topic: 'cfg.lang', payload: null, retain: true } },
    ]);
    await app.waitFor((f) => Array.isArray(f));
    await fence(pub, app);
    const seen = app.deliveries().filter((m: { topic: string }) => m.topic.startsWith('cfg.')).map((m: { payload: unknown; retained?: boolean }) => `${String(m.payload)}${m.retained ? ' (retained)' : ''}`);
    // The live deliveries, then the replay after the batch's answer: 'light' last, and no
    // cfg.lang, whose retained message the batch cleared.
    expect(seen).toEqual(['light', 'null', 'light (retained)']);
  });

  it('live deliveries of a retained publish are not flagged retained', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['r.x'] });
    const pub = await connected('pub');
    await pub.call('publish', { topic: 'r.x', payload: 1, retain: true });
    expect((await sub.waitDelivery('r.x')).retained).toBeUndefined();
  });

  it('a null or "" payload clears the topic; {} is a value', async () => {
    const pub = await connected('pub');
    await pub.call('publish', { topic: 'r.a', payload: 1, retain: true });
    await pub.call('publish', { topic: 'r.a', payload: null, retain: true });
    await pub.call('publish', { topic: 'r.b', payload: 2, retain: true });
    await pub.call('publish', { topic: 'r.b', payload: '', retain: true });
    await pub.call('publish', { topic: 'r.c', payload: {}, retain: true });
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['r.*'] });
    await fence(pub, sub);
    const retained = sub.deliveries().filter((m: { retained?: boolean }) => m.retained);
    expect(retained.map((m: { topic: string; payload: unknown }) => [m.topic, m.payload])).toEqual([['r.c', {}]]);
  });

  it('a retained message with a ttl expires', async () => {
    const pub = await connected('pub');
    await pub.call('publish', { topic: 'r.ttl', payload: 'short', retain: true, ttl: 0.05 });
    await pub.call('publish', { topic: 'r.keep', payload: 'long', retain: true });
    const first = await connected('first');
    await first.call('subscribe', { patterns: ['r.ttl'] });
    const early = await first.waitDelivery('r.ttl');
    // Wait until the message's own expiry instant has passed (not a guess at scheduling).
    const expiresAt = Date.parse(early.timestamp) + 50;
    while (Date.now() <= expiresAt + 5) await new Promise((r) => setTimeout(r, expiresAt + 6 - Date.now()));
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['r.*'] });
    await fence(pub, sub);
    expect(sub.deliveries().filter((m: { retained?: boolean }) => m.retained).map((m: { topic: string }) => m.topic)).toEqual(['r.keep']);
  });
});
