/**
 * BrokerClient against the real broker over real TCP. Every wait is on an event or a
 * promise; ordering guarantees (one publisher's messages arrive in order, a client's
 * frames are processed in order, deliveries are dispatched one at a time) stand in for
 * sleeps when a test must show that something did NOT happen.
 */
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BrokerClient,
  BrokerConnectionError,
  ErrorCode,
  RpcError,
  type BrokerClientEvents,
  type BrokerClientOptions,
  type Message,
  type PayloadWriter,
} from '../../src/client/index.js';
import { Logger } from '../../src/log/logger.js';
import { encodeJsonFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { frameOf } from '../helpers/fuzz/json-text.js';
import { freePort, hasIPv6Loopback } from '../helpers/ports.js';
import { ON_WINDOWS } from '../helpers/platform.js';
import { TcpRelay } from '../helpers/tcp-relay.js';

// ------------------------------------------------------------------ helpers

const ipv6 = await hasIPv6Loopback();

const brokers: StartedBroker[] = [];
const clients: BrokerClient[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function broker(overrides: Parameters<typeof startBroker>[0] = {}): Promise<StartedBroker> {
  const b = await startBroker(overrides);
  brokers.push(b);
  return b;
}

function client(id: string, port: number, options: BrokerClientOptions = {}): BrokerClient {
  const c = new BrokerClient(id, { host: '127.0.0.1', port, reconnectDelay: 0.05, maxReconnectDelay: 0.2, ...options });
  clients.push(c);
  return c;
}

async function connected(id: string, port: number, options: BrokerClientOptions = {}): Promise<BrokerClient> {
  const c = client(id, port, options);
  await c.connect();
  return c;
}

/** The arguments of the next `event` emitted by `c`. */
function next<K extends keyof BrokerClientEvents>(c: BrokerClient, event: K): Promise<BrokerClientEvents[K]> {
  return new Promise((resolve) => {
    // The listener's parameter list is exactly the event's tuple.
    (c.once as (e: K, l: (...args: BrokerClientEvents[K]) => void) => BrokerClient)(event, (...args) => resolve(args));
  });
}

/** Collects messages; `waitFor` resolves with the first (past or future) that matches. */
class Inbox {
  readonly messages: Message[] = [];
  private waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  readonly handler = (m: Message): void => {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(m)) return true;
      w.resolve(m);
      return false;
    });
  };

  waitFor(pred: (m: Message) => boolean): Promise<Message> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  topic(topic: string): Promise<Message> {
    return this.waitFor((m) => m.topic === topic);
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => {
      throw new Error('expected the call to reject');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}


const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/;

// ------------------------------------------------------------------ connect

describe('connect', () => {
  it('resolves with the broker connect result and emits connected with it', async () => {
    const b = await broker({ heartbeat_interval: 4, heartbeat_timeout: 12, max_message_size: 65_536, max_queue_size: 500, session_expiry: 60 });
    const c = client('conn_fields', b.port);
    const event = next(c, 'connected');
    expect(c.isConnected).toBe(false);
    expect(c.state).toBe('idle');

    const result = await c.connect();
    expect(result).toEqual({
      client_id: 'conn_fields',
      server_version: expect.any(String),
      heartbeat_interval: 4,
      heartbeat_timeout: 12,
      max_message_size: 65_536,
      max_queue_size: 500,
      session_expiry: 60,
      session_present: false,
    });
    expect((await event)[0]).toEqual(result);
    expect(c.isConnected).toBe(true);
    expect(c.clientId).toBe('conn_fields');
    expect(c.serverInfo).toEqual(result);
    // Calling connect() again while connected is a no-op with the same result.
    expect(await c.connect()).toBe(result);
  });

  it('announces itself with client_type and sends the token', async () => {
    const b = await broker({ token: 's3cret' });
    const watcher = await connected('watcher', b.port, { token: 's3cret' });
    const inbox = new Inbox();
    await watcher.subscribe('system.client.connected', inbox.handler);

    const c = await connected('typed', b.port, { token: 's3cret', clientType: 'ts_tool' });
    const m = await inbox.waitFor((x) => (x.payload as { client_id: string }).client_id === 'typed');
    expect(m.payload).toEqual({ client_id: 'typed', client_type: 'ts_tool' });
    expect(m.sender).toBe('broker');
    expect(c.isConnected).toBe(true);
  });

  it('rejects with the broker error when the token is wrong, and emits connection_failed', async () => {
    const b = await broker({ token: 's3cret' });
    const c = client('bad_token', b.port, { token: 'nope' });
    const failed = next(c, 'connection_failed');
    const err = await rejection(c.connect());
    expect(err.code).toBe(ErrorCode.INVALID_PARAMS);
    expect(err.message).toMatch(/token/);
    expect((await failed)[0]).toBe(err);
    expect(c.isConnected).toBe(false);
  });

  it('rejects with a message naming host:port when nothing listens there', async () => {
    const port = await freePort();
    const c = client('nobody_home', port);
    const failed = next(c, 'connection_failed');
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerConnectionError);
    expect((err as BrokerConnectionError).code).toBe('ECONNREFUSED');
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toMatch(/no broker/);
    expect((await failed)[0]).toBe(err);
    expect(c.state).toBe('idle');
  });

  it('reaches a broker on 127.0.0.1 alone through host localhost, by address: no name lookup', async () => {
    // Looking the name up made Node compile its IPv6 address pattern: 11 ms of each
    // client process's start.
    const b = await broker({ host: '127.0.0.1' });
    const lookup = vi.spyOn(dns, 'lookup');
    const c = client('by_name_v4', b.port, { host: 'localhost' });
    expect((await c.connect()).client_id).toBe('by_name_v4');
    expect(lookup).not.toHaveBeenCalled();
    lookup.mockRestore();
  });

  it.skipIf(!ipv6)('reaches a broker on ::1 alone through host localhost, after 127.0.0.1 refuses (skipped: no IPv6 loopback)', async () => {
    const b = await broker({ host: '::1' });
    const c = client('by_name_v6', b.port, { host: 'localhost' });
    expect((await c.connect()).client_id).toBe('by_name_v6');
  });

  it('host localhost with nothing listening: refused, naming localhost:port', async () => {
    const port = await freePort();
    const c = client('nobody_by_name', port, { host: 'localhost' });
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerConnectionError);
    expect((err as BrokerConnectionError).code).toBe('ECONNREFUSED');
    expect((err as Error).message).toBe(`no broker at localhost:${port}: connection refused (is the broker running, and on this port?)`);
  });

  it('rejects with LIMIT_EXCEEDED when the broker is at max_connections', async () => {
    const b = await broker({ max_connections: 1 });
    await connected('first', b.port);
    const second = client('second', b.port);
    const err = await rejection(second.connect());
    expect(err.code).toBe(ErrorCode.LIMIT_EXCEEDED);
    expect(err.message).toMatch(/connections/i);
  });

  it('rejects calls made before connect with NOT_CONNECTED saying so', async () => {
    const c = client('early', await freePort());
    for (const call of [c.publish('a.b', 1), c.subscribe('a.*'), c.request('a.b'), c.ping(), c.status(), c.call('ping')]) {
      const err = await rejection(call);
      expect(err.code).toBe(ErrorCode.NOT_CONNECTED);
      expect(err.message).toMatch(/not connected.*never connected/);
    }
    expect(c.patterns).toEqual([]);
  });
});

// ------------------------------------------------------------------ pub/sub

describe('publish / subscribe', () => {
  it('round-trips a message with every field, and emits subscribed, published, message_received', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();

    const subscribedEvt = next(sub, 'subscribed');
    expect(await sub.subscribe(['jobs.*', 'scripts.+'], inbox.handler)).toEqual(['jobs.*', 'scripts.+']);
    expect((await subscribedEvt)[0]).toEqual(['jobs.*', 'scripts.+']);
    expect(sub.patterns).toEqual(['jobs.*', 'scripts.+']);

    const received = next(sub, 'message_received');
    const publishedEvt = next(pub, 'published');
    const id = await pub.publish('jobs.activated', { job_id: '12345', job_number: 'ABC123' });
    expect(id).toMatch(/\S/);
    expect((await publishedEvt)[0]).toBe(id);

    const m = await inbox.topic('jobs.activated');
    expect(m).toEqual({
      topic: 'jobs.activated',
      payload: { job_id: '12345', job_number: 'ABC123' },
      sender: 'pub',
      messageId: id,
      timestamp: expect.stringMatching(ISO_UTC),
      qos: 0,
      retained: false,
      redelivered: false,
      replyTo: undefined,
    });
    const [topic, payload, sender, messageId, message] = await received;
    expect([topic, payload, sender, messageId]).toEqual(['jobs.activated', { job_id: '12345', job_number: 'ABC123' }, 'pub', id]);
    expect(message).toEqual(m);
  });

  it('delivers payloads of every JSON type, and null when none is given', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('t.#', inbox.handler);
    const payloads: unknown[] = ['text ünïcödé ✓', 42, 1.5, true, false, [1, 'two', { three: 3 }], { nested: { deep: [null] } }];
    for (const [i, p] of payloads.entries()) await pub.publish(`t.p${i}`, p);
    await pub.publish('t.none');
    const last = await inbox.topic('t.none');
    expect(last.payload).toBeNull();
    expect(inbox.messages.map((m) => m.payload)).toEqual([...payloads, null]);
  });

  it('calls each matching callback once per delivery, however many of its patterns match', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const a: string[] = [];
    const all = new Inbox();
    const onA = (m: Message): void => void a.push(m.topic);
    await sub.subscribe(['jobs.*', 'jobs.activated'], onA);
    await sub.subscribe('jobs.#', all.handler);
    await sub.subscribe('jobs.+'); // no callback: message_received only

    await pub.publish('jobs.activated', 1);
    await pub.publish('jobs.deep.level', 2);
    await pub.publish('jobs.created', 3);
    await pub.publish('jobs.end.sentinel', 4);
    await all.topic('jobs.end.sentinel');

    expect(a).toEqual(['jobs.activated', 'jobs.created']);
    expect(all.messages.map((m) => m.topic)).toEqual(['jobs.activated', 'jobs.deep.level', 'jobs.created', 'jobs.end.sentinel']);
  });

  it('stops calling callbacks of unsubscribed patterns', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const gone: string[] = [];
    const kept = new Inbox();
    await sub.subscribe('gone.*', (m) => void gone.push(m.topic));
    await sub.subscribe('kept.*', kept.handler);
    expect(await sub.unsubscribe('gone.*')).toEqual(['gone.*']);
    expect(sub.patterns).toEqual(['kept.*']);
    expect((await sub.subscriptions()).patterns).toEqual(['kept.*']);

    await pub.publish('gone.one', 1);
    await pub.publish('kept.sentinel', 2);
    await kept.topic('kept.sentinel');
    expect(gone).toEqual([]);
  });

  it('gives a retained message to the callback of a new subscription', async () => {
    const b = await broker();
    const pub = await connected('pub', b.port);
    await pub.publish('cfg.theme', { dark: true }, { retain: true });
    const sub = await connected('sub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('cfg.*', inbox.handler);
    const m = await inbox.topic('cfg.theme');
    expect(m.payload).toEqual({ dark: true });
    expect(m.retained).toBe(true);
  });

  it("gives a later subscribe's retained messages to its callback alone; live messages to every matching one", async () => {
    const b = await broker();
    const pub = await connected('pub', b.port);
    await pub.publish('cfg.theme', 'dark', { retain: true });
    await pub.publish('cfg.lang', 'de', { retain: true });
    const sub = await connected('sub', b.port);
    const seen = (m: Message): string => `${m.topic}=${String(m.payload)}${m.retained ? ' (retained)' : ''}`;
    const first = new Inbox();
    const second = new Inbox();
    const third = new Inbox();
    const events: string[] = [];
    sub.on('message_received', (_t, _p, _s, _id, m) => void events.push(seen(m)));
    await sub.subscribe('cfg.*', first.handler);
    await first.topic('cfg.lang');
    await first.topic('cfg.theme');
    // A second window subscribing the same pattern, a narrower one, and the pattern again
    // without a callback: each time the broker sends the retained messages again.
    await sub.subscribe('cfg.*', second.handler);
    await sub.subscribe(['cfg.theme', 'other.#'], third.handler);
    await sub.subscribe('cfg.*');
    await pub.publish('cfg.theme', 'light');
    await Promise.all([first, second, third].map((inbox) => inbox.waitFor((m) => m.payload === 'light')));
    const sorted = (inbox: Inbox): string[] => inbox.messages.map(seen).sort();
    expect(sorted(first)).toEqual(['cfg.lang=de (retained)', 'cfg.theme=dark (retained)', 'cfg.theme=light']);
    expect(sorted(second)).toEqual(['cfg.lang=de (retained)', 'cfg.theme=dark (retained)', 'cfg.theme=light']);
    expect(sorted(third)).toEqual(['cfg.theme=dark (retained)', 'cfg.theme=light']);
    // The event still reports every delivery, the replays included.
    expect(events.filter((e) => e.endsWith('(retained)'))).toHaveLength(7);
  });

  it('after a reconnect every callback gets the retained messages again: they may have changed meanwhile', async () => {
    const b = await broker();
    const pub = await connected('pub', b.port);
    await pub.publish('cfg.theme', 'dark', { retain: true });
    const relay = await TcpRelay.start(b.port);
    try {
      const sub = await connected('sub', relay.port);
      const first = new Inbox();
      const second = new Inbox();
      await sub.subscribe('cfg.*', first.handler);
      await sub.subscribe('cfg.*', second.handler);
      await second.topic('cfg.theme');
      expect(first.messages).toHaveLength(1);
      const lost = next(sub, 'disconnected');
      relay.cut();
      await lost;
      await pub.publish('cfg.theme', 'light', { retain: true });
      await Promise.all([first, second].map((inbox) => inbox.waitFor((m) => m.payload === 'light')));
      expect(first.messages.map((m) => `${String(m.payload)}${m.retained ? ' (retained)' : ''}`)).toEqual(['dark (retained)', 'light (retained)']);
      expect(second.messages.map((m) => `${String(m.payload)}${m.retained ? ' (retained)' : ''}`)).toEqual(['dark (retained)', 'light (retained)']);
    } finally {
      await relay.close();
    }
  });

  it('rejects an invalid pattern with SUBSCRIPTION_ERROR and keeps no local state for it', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const err = await rejection(sub.subscribe(['ok.*', 'fo+o.bar'], () => undefined));
    expect(err.code).toBe(ErrorCode.SUBSCRIPTION_ERROR);
    expect(sub.patterns).toEqual([]);
  });

  it('rejects publishing to a reserved topic with PUBLISH_ERROR', async () => {
    const b = await broker();
    const c = await connected('c', b.port);
    expect((await rejection(c.publish('system.fake', 1))).code).toBe(ErrorCode.PUBLISH_ERROR);
  });

  it('refuses a frame over max_message_size locally and keeps the connection', async () => {
    const b = await broker({ max_message_size: 1024 });
    const c = await connected('big', b.port);
    const err = await rejection(c.publish('big.blob', 'x'.repeat(2000)));
    expect(err.code).toBe(ErrorCode.INVALID_REQUEST);
    expect(err.data).toEqual({ max_message_size: 1024 });
    expect(await c.ping()).toMatchObject({ pong: true, timestamp: expect.stringMatching(ISO_UTC) });
  });

  it('a reply over max_message_size is answered as an error at once; the responder stays connected', async () => {
    const b = await broker({ max_message_size: 1024 });
    const responder = await connected('big-answer', b.port);
    const errors: Error[] = [];
    responder.on('error_occurred', (e) => errors.push(e));
    const lost: string[] = [];
    responder.on('disconnected', (reason) => lost.push(reason));
    await responder.subscribe('svc.big', () => 'x'.repeat(2000));
    const requester = await connected('asker', b.port);
    const err = await rejection(requester.request('svc.big', null, { timeout: 30 }));
    expect(err.code).toBe(ErrorCode.INVALID_REQUEST);
    expect(err.message).toMatch(/^"reply" is \d+ bytes, over the broker's max_message_size of 1024$/);
    expect(err.data).toEqual({ max_message_size: 1024 });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^cannot reply to "svc\.big": "reply" is \d+ bytes/)]);
    expect(await responder.ping()).toMatchObject({ pong: true });
    expect(lost).toEqual([]);
  });

  it('batches a concurrent burst of publishes; all arrive, in order, and are acked', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('burst.*', inbox.handler);
    const n = 2000;
    const ids = await Promise.all(Array.from({ length: n }, (_, i) => pub.publish('burst.item', { i, pad: 'x'.repeat(100) }, { qos: 1 })));
    expect(new Set(ids).size).toBe(n);
    // Dispatch is sequential: once the sentinel's callback ran, every earlier ack is queued,
    // and sub's own request goes out behind them.
    await pub.publish('burst.sentinel', null);
    await inbox.topic('burst.sentinel');
    const items = inbox.messages.filter((m) => m.topic === 'burst.item');
    expect(items.map((m) => (m.payload as { i: number }).i)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(items.map((m) => m.messageId)).toEqual(ids);
    expect((await sub.messageAcks(ids[0]!)).clients).toEqual(['sub']);
    expect((await sub.messageAcks(ids[n - 1]!)).clients).toEqual(['sub']);
  });

  it('publishBatch: frames within max_message_size, all delivered in order, a refused or unsendable message fails alone', async () => {
    const b = await broker({ max_message_size: 16 * 1024 });
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('many.*', inbox.handler);
    const n = 1200;
    const items: { topic: string; payload?: unknown; qos?: 0 | 1 }[] = Array.from({ length: n }, (_, i) => ({ topic: 'many.item', payload: { i, pad: 'x'.repeat(50) }, qos: 1 }));
    items[10] = { topic: 'bad..topic', payload: 1 };
    items[20] = { topic: 'many.item', payload: 'y'.repeat(20 * 1024) };
    items[30] = { topic: 'many.item', payload: { big: 10n } };
    items[40] = { topic: 'many.item' };
    const published: string[] = [];
    pub.on('published', (id) => published.push(id));
    // About ten frames of up to 16 KiB in one turn: they leave corked, in one writev (the
    // broker corks nothing, so the calls counted are the client's).
    const cork = vi.spyOn(net.Socket.prototype, 'cork');
    const outcomes = await pub.publishBatch(items);
    const corked = cork.mock.calls.length;
    cork.mockRestore();
    expect(corked).toBeGreaterThan(0);
    expect(outcomes).toHaveLength(n);
    expect(outcomes[10]).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PARAMS } });
    expect(outcomes[20]).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_REQUEST, data: { max_message_size: 16 * 1024 } } });
    expect(outcomes[30]).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PARAMS, message: expect.stringMatching(/not JSON-serialisable/) } });
    for (const e of [10, 20, 30]) expect((outcomes[e] as { error: unknown }).error).toBeInstanceOf(RpcError);
    const sent = outcomes.flatMap((o, i) => (o.ok ? [{ i, id: o.messageId }] : []));
    expect(sent).toHaveLength(n - 3);
    expect(published).toEqual(sent.map((s) => s.id));
    await pub.publish('many.sentinel', null);
    await inbox.topic('many.sentinel');
    const got = inbox.messages.filter((m) => m.topic === 'many.item');
    expect(got.map((m) => m.messageId)).toEqual(sent.map((s) => s.id));
    expect(got.map((m) => (m.payload as { i?: number } | null)?.i ?? null)).toEqual(sent.map((s) => (s.i === 40 ? null : s.i)));
    // 1,200 publishes of ~130 bytes need about ten frames: the broker refuses one over 16 KiB.
    expect(await pub.publishBatch([])).toEqual([]);
  });

  it('publishBatch: a default QoS for the messages without their own, and payloads written as bytes', async () => {
    const b = await broker({});
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('opts.*', inbox.handler);
    const json = Buffer.from('..{"k":"Ærø ✓","n":[1,2]}..', 'utf8');
    const asBytes = {
      topic: 'opts.bytes',
      // Two pieces and a number, as a queue line's object and its id's member are written.
      writePayload(out: PayloadWriter): void {
        out.bytes(json, 2, json.length - 3);
        out.bytes(Buffer.from(',"id":'), 0, 6);
        out.uint(2 ** 40);
        out.bytes(json, json.length - 3, json.length - 2);
      },
    };
    const outcomes = await pub.publishBatch([{ topic: 'opts.default', payload: 1 }, { topic: 'opts.own', payload: 2, qos: 0 }, asBytes], { qos: 1, timeout: 5 });
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    await inbox.topic('opts.bytes');
    expect(inbox.messages.map((m) => [m.topic, m.qos, m.payload])).toEqual([
      ['opts.default', 1, 1],
      ['opts.own', 0, 2],
      ['opts.bytes', 1, { k: 'Ærø ✓', n: [1, 2], id: 2 ** 40 }],
    ]);
    // A payload writer that hands the writer something other than a count fails its own
    // message; the others go (a NaN written as a digit would make the broker refuse them all).
    const bad = { topic: 'opts.bad', writePayload: (out: PayloadWriter): void => out.uint(Number.NaN) };
    const mixed = await pub.publishBatch([{ topic: 'opts.before', payload: 1 }, bad, { topic: 'opts.after', payload: 2 }]);
    expect(mixed.map((o) => o.ok)).toEqual([true, false, true]);
    expect(mixed[1]).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PARAMS } });
    await inbox.topic('opts.after');
  });

  it('publishBatch rejects as a whole when not connected, and on the timeout when a peer never answers', async () => {
    const idle = client('idle', 1);
    expect((await rejection(idle.publishBatch([{ topic: 'a.b' }]))).code).toBe(ErrorCode.NOT_CONNECTED);
    let batches = 0;
    const port = await rawPeer((msg, reply) => {
      if (Array.isArray(msg)) batches++;
      else if (msg.method === 'connect') reply({ jsonrpc: '2.0', result: connectResult({ heartbeat_interval: 60, heartbeat_timeout: 120 }), id: msg.id });
    });
    const c = await connected('raw', port, { autoReconnect: false });
    const err = await rejection(c.publishBatch([{ topic: 'a.b' }, { topic: 'a.c' }], 0.2));
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.message).toMatch(/no reply to "publish" within 0.2s/);
    expect(batches).toBe(1);
  });

  it('publishBatch: a payload too deep for a batch goes out alone, one too deep for the broker fails alone; bad types fail alone', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('deep.*', inbox.handler);
    // The call is level 1, params 2: a payload may nest 62 levels alone, 61 in a batch (its array is a level).
    const nested = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}1${']'.repeat(levels)}`);
    const items = [
      { topic: 'deep.a', payload: 1 },
      { topic: 'deep.b', payload: nested(61) },
      { topic: 'deep.c', payload: nested(62) },
      { topic: 'deep.d', payload: nested(63) },
      { topic: undefined as unknown as string, payload: 2 },
      { topic: 'deep.f', payload: 3, qos: (() => 1) as unknown as 1 },
      { topic: 'deep.g', payloadJson: `${'['.repeat(63)}1${']'.repeat(63)}` },
      { topic: 'deep.h', payload: 4 },
    ];
    const outcomes = await pub.publishBatch(items);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'ok',
      'ok',
      'ok',
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_PARAMS,
      ErrorCode.INVALID_PARAMS,
      ErrorCode.INVALID_REQUEST,
      'ok',
    ]);
    expect(outcomes[3]).toMatchObject({ error: { data: { max_depth: 64 } } });
    expect((outcomes[4] as { error: Error }).error.message).toMatch(/topic is a undefined, not a string/);
    expect((outcomes[5] as { error: Error }).error.message).toMatch(/qos is a function, not a JSON value/);
    await inbox.topic('deep.h');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['deep.a', 'deep.b', 'deep.c', 'deep.h']);
    expect(inbox.messages[2]!.payload).toEqual(nested(62));
    expect(pub.isConnected).toBe(true);
  });

  it('publishBatch: once a frame cannot be queued, every later message fails too, so nothing overtakes it', async () => {
    let peer: net.Socket | undefined;
    const received: number[] = [];
    const port = await rawPeer((msg, reply, sock) => {
      if (!Array.isArray(msg)) {
        if (msg.method === 'connect') {
          peer = sock;
          reply({ jsonrpc: '2.0', result: connectResult({ heartbeat_interval: 60, heartbeat_timeout: 120, max_message_size: 256 * 1024 }), id: msg.id });
        }
        return;
      }
      const calls = msg as { id: number }[];
      for (const c of calls) received.push(c.id);
      reply(calls.map((c) => ({ jsonrpc: '2.0', result: { message_id: `m${c.id}` }, id: c.id })));
    });
    const c = await connected('raw', port, { autoReconnect: false });
    // Frames of 200 KB fill the client's 32 MiB send buffer after 167, leaving about
    // 140 KB. A near-limit message closes the last big frame, so the small ones after it
    // make a frame of their own, which would still fit, and must not go.
    const items = [
      ...Array.from({ length: 180 }, () => ({ topic: 'big.x', payload: 'x'.repeat(200_000) })),
      { topic: 'big.y', payload: 'y'.repeat(262_000) }, // within 256 KiB alone, not with one more call
      ...Array.from({ length: 20 }, () => ({ topic: 'small.x', payload: 1 })),
    ];
    peer!.pause();
    const batch = c.publishBatch(items);
    peer!.resume();
    const outcomes = await batch;
    const firstRefused = outcomes.findIndex((o) => !o.ok);
    expect(firstRefused).toBeGreaterThan(100);
    expect(firstRefused).toBeLessThan(180);
    expect(outcomes).toHaveLength(201);
    for (const o of outcomes.slice(firstRefused)) expect(o).toMatchObject({ ok: false, error: { code: ErrorCode.LIMIT_EXCEEDED } });
    expect(outcomes.slice(0, firstRefused).every((o) => o.ok)).toBe(true);
    const ids = outcomes.slice(0, firstRefused).map((o) => Number((o as { messageId: string }).messageId.slice(1)));
    expect(received).toEqual(ids);
  });

  it('publishBatch takes answers out of order and split across frames, and rejects what is left when the connection drops', async () => {
    const port = await rawPeer((msg, reply, sock) => {
      if (!Array.isArray(msg)) {
        if (msg.method === 'connect') reply({ jsonrpc: '2.0', result: connectResult({ heartbeat_interval: 60, heartbeat_timeout: 120 }), id: msg.id });
        return;
      }
      const calls = msg as { id: number; params: { topic: string } }[];
      const answers = calls.map((m) => ({ jsonrpc: '2.0', result: { message_id: `m-${m.params.topic}` }, id: m.id }));
      if (calls[0]!.params.topic === 'drop.me') {
        reply(answers.slice(0, 1));
        sock.destroy();
        return;
      }
      reply(answers.slice(2).reverse());
      reply(answers[1]);
      reply([{ jsonrpc: '2.0', error: { code: ErrorCode.INVALID_PARAMS, message: 'bad' }, id: calls[0]!.id }]);
    });
    const c = await connected('raw', port, { autoReconnect: false });
    const outcomes = await c.publishBatch(['a', 'b', 'c', 'd'].map((t) => ({ topic: t })));
    expect(outcomes).toEqual([
      { ok: false, error: expect.objectContaining({ code: ErrorCode.INVALID_PARAMS, message: 'bad' }) },
      { ok: true, messageId: 'm-b' },
      { ok: true, messageId: 'm-c' },
      { ok: true, messageId: 'm-d' },
    ]);
    const err = await rejection(c.publishBatch([{ topic: 'drop.me' }, { topic: 'never.answered' }]));
    expect(err.code).toBe(ErrorCode.NOT_CONNECTED);
  });

  it('dispatches deliveries one at a time: a slow async callback holds back later ones', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const order: string[] = [];
    const gate = deferred();
    const firstStarted = deferred();
    const secondDone = deferred();
    await sub.subscribe('seq.*', async (m) => {
      order.push(`start ${m.topic}`);
      if (m.topic === 'seq.first') {
        firstStarted.resolve();
        await gate.promise;
      }
      order.push(`end ${m.topic}`);
      if (m.topic === 'seq.second') secondDone.resolve();
    });
    const secondArrived = new Promise<void>((resolve) => sub.on('message_received', (t) => t === 'seq.second' && resolve()));
    await pub.publish('seq.first', 1);
    await pub.publish('seq.second', 2);
    await firstStarted.promise;
    await secondArrived;
    expect(order).toEqual(['start seq.first']);
    gate.resolve();
    await secondDone.promise;
    expect(order).toEqual(['start seq.first', 'end seq.first', 'start seq.second', 'end seq.second']);
  });

  it('with concurrentDeliveries a slow callback does not hold back later deliveries', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port, { concurrentDeliveries: true });
    const pub = await connected('pub', b.port);
    const order: string[] = [];
    const gate = deferred();
    const secondDone = deferred();
    await sub.subscribe('seq.*', async (m) => {
      order.push(`start ${m.topic}`);
      if (m.topic === 'seq.first') await gate.promise;
      order.push(`end ${m.topic}`);
      if (m.topic === 'seq.second') secondDone.resolve();
    });
    await pub.publish('seq.first', 1);
    await pub.publish('seq.second', 2);
    await secondDone.promise;
    expect(order).toEqual(['start seq.first', 'start seq.second', 'end seq.second']);
    gate.resolve();
    await sub.idle();
    expect(order.at(-1)).toBe('end seq.first');
  });

  it('disconnect() lets a running callback send its reply first', async () => {
    const b = await broker();
    const svc = await connected('svc', b.port);
    const gate = deferred();
    const started = deferred();
    await svc.subscribe('svc.slow', async () => {
      started.resolve();
      await gate.promise;
      return { done: true };
    });
    const app = await connected('app', b.port);
    const answer = app.request('svc.slow', null, { timeout: 5 });
    await started.promise;
    const leaving = svc.disconnect();
    gate.resolve();
    await leaving;
    expect(await answer).toEqual({ done: true });
  });

  it('reports a throwing callback through error_occurred and keeps delivering', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('boom.*', (m) => {
      if (m.topic === 'boom.bad') throw new Error('callback exploded');
      inbox.handler(m);
    });
    const error = next(sub, 'error_occurred');
    await pub.publish('boom.bad', 1);
    await pub.publish('boom.good', 2);
    expect((await error)[0].message).toMatch(/boom\.bad.*callback exploded/);
    expect((await inbox.topic('boom.good')).payload).toBe(2);
  });
});

// ------------------------------------------------------------------ QoS 1

describe('QoS 1', () => {
  it('acks a delivery automatically once its callback has settled', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const gate = deferred();
    const started = deferred<Message>();
    const inbox = new Inbox();
    await sub.subscribe('work.*', async (m) => {
      inbox.handler(m);
      if (m.topic === 'work.item') {
        started.resolve(m);
        await gate.promise;
      }
    });

    const id = await pub.publish('work.item', { n: 1 }, { qos: 1 });
    const m = await started.promise;
    expect(m.qos).toBe(1);
    // Callback still running: not acked yet.
    expect(await pub.messageAcks(id)).toEqual({ message_id: id, clients: [], pending: ['sub'] });

    gate.resolve();
    // Deliveries are dispatched in order, so once the sentinel's callback has run the
    // first delivery's ack is queued; sub's own request goes out behind it.
    await pub.publish('work.sentinel', null);
    await inbox.topic('work.sentinel');
    expect(await sub.request('_internal.message_acks', { message_id: id })).toEqual({ message_id: id, clients: ['sub'], pending: [] });
  });

  it('acks even when the callback throws, so the message is not redelivered forever', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    const inbox = new Inbox();
    await sub.subscribe('poison.*', (m) => {
      inbox.handler(m);
      if (m.topic === 'poison.pill') throw new Error('cannot handle this');
    });
    const id = await pub.publish('poison.pill', 1, { qos: 1 });
    await pub.publish('poison.sentinel', 2);
    await inbox.topic('poison.sentinel');
    expect((await sub.messageAcks(id)).clients).toEqual(['sub']);
  });

  it('a broker allowing messages over 64 MiB: one is published, and redelivered whole after a reconnect', async () => {
    // The client refused any frame over 64 MiB, whatever the broker allowed: the
    // redelivery closed every reconnect. And it sent no frame over 32 MiB at all.
    const MiB = 1024 * 1024;
    const b = await broker({ max_message_size: 66 * MiB, max_output_bytes: 200 * MiB });
    const sub = await connected('big-sub', b.port, { autoReconnect: false });
    await sub.subscribe('big.#', () => undefined);
    await sub.disconnect();
    const pub = await connected('big-pub', b.port);
    const payload = 'x'.repeat(64 * MiB + 1024);
    await pub.publish('big.one', payload, { qos: 1 });

    const back = client('big-sub', b.port, { autoReconnect: false });
    const got = deferred<Message>();
    back.on('message_received', (_t, _p, _s, _id, m) => got.resolve(m));
    const errors: Error[] = [];
    back.on('error_occurred', (e) => errors.push(e));
    await back.connect();
    const m = await got.promise;
    expect(m.topic).toBe('big.one');
    expect(typeof m.payload === 'string' && m.payload.length).toBe(payload.length);
    expect(m.payload === payload).toBe(true);
    expect(errors).toEqual([]);
  });

  // 10 s of decoding and parsing 66 MiB here, more under Wine; the limit's arithmetic is the same on every platform.
  it.skipIf(ON_WINDOWS)('a Windows-1252 frame as large as the broker allows arrives, transcoded to UTF-8 three times its size', async () => {
    // A legacy frame is read in Windows-1252 and delivered as UTF-8: 22 MiB of 0x80 bytes
    // is 66 MiB of euro signs, past what "max_message_size plus an envelope" allowed.
    const MiB = 1024 * 1024;
    const b = await broker({ max_message_size: 23 * MiB, max_output_bytes: 140 * MiB });
    const sub = await connected('legacy-sub', b.port);
    const got = deferred<unknown>();
    await sub.subscribe('legacy.#', (m) => got.resolve(m.payload));
    const errors: Error[] = [];
    sub.on('error_occurred', (e) => errors.push(e));
    const n = 22 * MiB;
    const sock = net.connect(b.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(encodeJsonFrame({ jsonrpc: '2.0', method: 'connect', params: { client_id: 'ahk-ansi' } }));
    const head = Buffer.from('{"jsonrpc":"2.0","method":"publish","params":{"topic":"legacy.euro","payload":"');
    sock.write(frameOf(Buffer.concat([head, Buffer.alloc(n, 0x80), Buffer.from('"}}')])));
    const payload = await got.promise;
    sock.destroy();
    expect(typeof payload === 'string' && payload.length).toBe(n);
    expect(payload === '€'.repeat(n)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('ack() acknowledges a delivery handled through message_received', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const pub = await connected('pub', b.port);
    await sub.subscribe('manual.*');
    const received = next(sub, 'message_received');
    const id = await pub.publish('manual.one', 1, { qos: 1 });
    const [, , , messageId] = await received;
    expect(messageId).toBe(id);
    await sub.ack(messageId);
    expect((await pub.messageAcks(id)).clients).toEqual(['sub']);
  });
});

// ------------------------------------------------------------------ request / response

describe('request / response', () => {
  it("answers with the responder callback's return value", async () => {
    const b = await broker();
    const responder = await connected('svc', b.port);
    const requester = await connected('app', b.port);
    const seen: Message[] = [];
    await responder.subscribe('scripts.status', async (m) => {
      seen.push(m);
      const { script_id } = m.payload as { script_id: string };
      await Promise.resolve();
      return { running: script_id === 'saw1', pid: 4242 };
    });
    expect(await requester.request('scripts.status', { script_id: 'saw1' }, { timeout: 5 })).toEqual({ running: true, pid: 4242 });
    expect(await requester.request('scripts.status', { script_id: 'other' })).toEqual({ running: false, pid: 4242 });
    expect(seen[0]).toMatchObject({ sender: 'app', replyTo: expect.any(String) });
  });

  it('uses the first callback that returns a value; undefined means "not answering"', async () => {
    const b = await broker();
    const responder = await connected('svc', b.port);
    const requester = await connected('app', b.port);
    const listened: string[] = [];
    await responder.subscribe('q.#', (m) => void listened.push(m.topic));
    await responder.subscribe('q.ask', () => 'first answer');
    await responder.subscribe('q.*', () => 'second answer');
    expect(await requester.request('q.ask', null)).toBe('first answer');
    expect(listened).toEqual(['q.ask']);
  });

  it('fails the requester quickly with the error when the responder callback throws', async () => {
    const b = await broker();
    const responder = await connected('svc', b.port);
    const requester = await connected('app', b.port);
    await responder.subscribe('svc.fail', () => {
      throw new Error('database unavailable');
    });
    const error = next(responder, 'error_occurred');
    const started = performance.now();
    const err = await rejection(requester.request('svc.fail', {}, { timeout: 15 }));
    expect(performance.now() - started).toBeLessThan(7_500);
    expect(err.code).toBe(ErrorCode.INTERNAL_ERROR);
    expect(err.message).toContain('database unavailable');
    expect((await error)[0].message).toContain('database unavailable');
  });

  it('an answer JSON has no value for (a function, a symbol, NaN) fails the requester at once, not at its timeout', async () => {
    // Serialised, each was no answer at all (left out, or null): the requester waited.
    const b = await broker();
    const responder = await connected('svc', b.port);
    const requester = await connected('app', b.port);
    const answers: Record<string, unknown> = { fn: () => 1, sym: Symbol('x'), nan: Number.NaN, inf: Number.POSITIVE_INFINITY };
    await responder.subscribe('svc.*', (m) => answers[m.topic.slice(4)]);
    const reported: string[] = [];
    responder.on('error_occurred', (e) => reported.push(e.message));
    for (const [name, what] of [['fn', 'a function'], ['sym', 'a symbol'], ['nan', 'NaN'], ['inf', 'Infinity']]) {
      const err = await rejection(requester.request(`svc.${name}`, {}, { timeout: 60 }));
      expect({ name, code: err.code, message: err.message }).toEqual({ name, code: ErrorCode.INTERNAL_ERROR, message: `reply value is not JSON: ${what}` });
    }
    expect(reported).toEqual(['fn', 'sym', 'nan', 'inf'].map((n, i) => `cannot reply to "svc.${n}": reply value is not JSON: ${['a function', 'a symbol', 'NaN', 'Infinity'][i]}`));
    // publish refuses a function or symbol payload as publishBatch does, instead of sending null.
    for (const payload of [() => 1, Symbol('y')]) {
      const err = await rejection(requester.publish('svc.pub', payload));
      expect(err.code).toBe(ErrorCode.INVALID_PARAMS);
      expect(err.message).toBe(`params of "publish" are not JSON-serialisable: the payload is a ${typeof payload}`);
    }
  });

  it('a payload or an answer nested deeper than the broker reads fails at once with -32600, not at its timeout; 62 levels go', async () => {
    const b = await broker();
    // Timeouts past the test's own: a call that waited for one would fail the test.
    const responder = await connected('svc', b.port, { requestTimeout: 60 });
    const requester = await connected('app', b.port, { requestTimeout: 60 });
    // The call is level 1, params 2: a payload may nest 62 levels of its own.
    const nested = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}1${']'.repeat(levels)}`);
    await responder.subscribe('deep.echo', (m) => m.payload);
    await responder.subscribe('deep.answer', () => nested(63));

    const tooDeep = { code: ErrorCode.INVALID_REQUEST, data: { max_depth: 64 }, message: expect.stringMatching(/"publish" nests JSON deeper than the broker reads/) };
    expect(await rejection(requester.publish('deep.echo', nested(63)))).toMatchObject(tooDeep);
    expect(await rejection(requester.publish('deep.echo', nested(63), { qos: 1 }))).toMatchObject(tooDeep);
    expect(await rejection(requester.request('deep.echo', nested(63), { timeout: 60 }))).toMatchObject({ ...tooDeep, message: expect.stringMatching(/"request" nests JSON/) });
    expect(await requester.request('deep.echo', nested(62), { timeout: 60 })).toEqual(nested(62));
    // The responder cannot send its answer: the requester hears why from it, at once.
    const answerError = next(responder, 'error_occurred');
    expect(await rejection(requester.request('deep.answer', null, { timeout: 60 }))).toMatchObject({ code: ErrorCode.INVALID_REQUEST, message: expect.stringMatching(/"reply" nests JSON deeper/) });
    expect((await answerError)[0].message).toMatch(/cannot reply to "deep.answer": "reply" nests JSON deeper/);
    expect(requester.isConnected && responder.isConnected).toBe(true);
  });

  it('rejects with NO_RESPONDERS when nobody subscribes to the topic', async () => {
    const b = await broker();
    const requester = await connected('app', b.port);
    const err = await rejection(requester.request('nobody.listens', { x: 1 }));
    expect(err.code).toBe(ErrorCode.NO_RESPONDERS);
  });

  it("rejects with the broker's TIMEOUT when the responder never answers", async () => {
    const b = await broker();
    const responder = await connected('svc', b.port);
    const requester = await connected('app', b.port);
    await responder.subscribe('svc.silent', () => undefined);
    const err = await rejection(requester.request('svc.silent', null, { timeout: 0.2 }));
    expect(err.code).toBe(ErrorCode.TIMEOUT);
  });

  it('answers status, subscriptions and _internal.message_acks through the broker', async () => {
    const b = await broker();
    const c = await connected('me', b.port);
    await c.subscribe(['a.*', 'b.#']);
    expect(await c.subscriptions()).toMatchObject({ client_id: 'me', patterns: ['a.*', 'b.#'] });
    const other = await connected('other', b.port);
    expect(await other.subscriptions('me')).toMatchObject({ client_id: 'me', patterns: ['a.*', 'b.#'] });
    const status = await c.status();
    expect(status).toMatchObject({ client_count: 2, started_at: expect.stringMatching(ISO_UTC), version: expect.any(String) });
    expect(await c.request('status', {})).toMatchObject({ client_count: 2 });
    expect(await c.call('subscriptions', { client_id: 'other' })).toMatchObject({ client_id: 'other', patterns: [] });
    expect((await rejection(c.call('no_such_method', {}))).code).toBe(ErrorCode.METHOD_NOT_FOUND);
  });
});

// ------------------------------------------------------------------ connection loss

describe('connection loss and reconnect', () => {
  it('reconnects to a restarted broker, restores subscriptions, and receives again', async () => {
    const first = await broker();
    const port = first.port;
    const c = await connected('durable', port);
    const inbox = new Inbox();
    await c.subscribe(['news.*', 'alerts.#'], inbox.handler);

    const events: string[] = [];
    for (const e of ['disconnected', 'connected', 'subscribed'] as const) c.on(e, () => events.push(e));
    const lost = next(c, 'disconnected');
    const back = next(c, 'connected');

    await first.stop();
    expect((await lost)[0]).toBe('connection_lost');
    expect(c.isConnected).toBe(false);
    expect(c.state).toBe('reconnecting');
    const err = await rejection(c.publish('news.x', 1));
    expect(err.code).toBe(ErrorCode.NOT_CONNECTED);
    expect(err.message).toMatch(/not connected.*reconnecting/);

    brokers.splice(brokers.indexOf(first), 1);
    await broker({ port });
    const [result] = await back;
    expect(result.client_id).toBe('durable');
    expect(result.session_present).toBe(false); // a fresh broker: only our re-subscribe restored them
    expect(events).toEqual(['disconnected', 'subscribed', 'connected']);
    expect(c.isConnected).toBe(true);
    expect((await c.subscriptions()).patterns.sort()).toEqual(['alerts.#', 'news.*']);

    const pub = await connected('pub', port);
    await pub.publish('news.today', { headline: 'back online' });
    expect((await inbox.topic('news.today')).payload).toEqual({ headline: 'back online' });
  });

  it('keeps its session across a dropped connection: QoS 1 messages published meanwhile arrive after the reconnect', async () => {
    const b = await broker();
    const relay = await TcpRelay.start(b.port);
    try {
      const c = await connected('field-pc', relay.port);
      const inbox = new Inbox();
      await c.subscribe('orders.#', inbox.handler);
      const lost = next(c, 'disconnected');
      // The network fails and stays down while the broker, and the session, stay up.
      relay.cut();
      await relay.refuse();
      expect((await lost)[0]).toBe('connection_lost');
      const pub = await connected('office', b.port);
      for (let n = 1; n <= 3; n++) await pub.publish('orders.new', { n }, { qos: 1 });
      const { clients: sessions } = (await pub.status()) as unknown as { clients: { client_id: string }[] };
      expect(sessions.find((s) => s.client_id === 'field-pc')).toMatchObject({ connected: false, queued: 3 });
      const back = next(c, 'connected');
      await relay.accept();
      const [result] = await back;
      // Reconnecting must not ask for a clean session: that would drop what is queued.
      expect(result.session_present).toBe(true);
      await inbox.waitFor((m) => (m.payload as { n: number }).n === 3);
      expect(inbox.messages.map((m) => (m.payload as { n: number }).n)).toEqual([1, 2, 3]);
    } finally {
      await relay.close();
    }
  });

  it('a durable subscription made while the broker is away is sent on reconnect', async () => {
    const first = await broker();
    const port = first.port;
    const c = await connected('late-sub', port, { reconnectDelay: 0.05, maxReconnectDelay: 0.2 });
    const lost = next(c, 'disconnected');
    await first.stop();
    await lost;
    brokers.splice(brokers.indexOf(first), 1);
    const inbox = new Inbox();
    expect(await c.subscribe('later.*', inbox.handler, { durable: true })).toEqual(['later.*']);
    await expect(c.subscribe('strict.*', inbox.handler)).rejects.toMatchObject({ code: ErrorCode.NOT_CONNECTED });
    const back = next(c, 'connected');
    await broker({ port });
    await back;
    expect((await c.subscriptions()).patterns).toEqual(['later.*']);
    const pub = await connected('pub', port);
    await pub.publish('later.x', 7);
    expect((await inbox.topic('later.x')).payload).toBe(7);
  });

  it('emits connection_failed per failed attempt, then gives up after maxReconnectAttempts', async () => {
    const b = await broker();
    const c = await connected('quitter', b.port, { maxReconnectAttempts: 3 });
    const failures: Error[] = [];
    c.on('connection_failed', (e) => failures.push(e));
    const lost = next(c, 'disconnected');
    const gaveUp = new Promise<Error>((resolve) => c.on('error_occurred', (e) => /gave up/.test(e.message) && resolve(e)));
    let reconnected = false;
    c.on('connected', () => (reconnected = true));

    brokers.splice(brokers.indexOf(b), 1);
    await b.stop();
    await lost;
    const final = await gaveUp;
    expect(final.message).toContain(`127.0.0.1:${b.port}`);
    expect(final.message).toMatch(/3 attempt/);
    expect(failures).toHaveLength(3);
    for (const f of failures) expect(f.message).toMatch(/no broker at 127\.0\.0\.1/);
    expect(reconnected).toBe(false);
    expect(c.state).toBe('closed');
    const err = await rejection(c.ping());
    expect(err.code).toBe(ErrorCode.NOT_CONNECTED);
    expect(err.message).toMatch(/not connected/);
  });

  it('rejects calls in flight when the connection is lost', async () => {
    const b = await broker();
    const responder = await connected('svc', b.port);
    await responder.subscribe('svc.slow', () => new Promise(() => undefined));
    const victim = await connected('victim', b.port, { autoReconnect: false });
    const lost = next(victim, 'disconnected');
    const inFlight = victim.request('svc.slow', null, { timeout: 30 });
    // Wait until the request is at the responder, so the loss really hits a call in flight.
    await next(responder, 'message_received');

    // Same client_id elsewhere: the broker takes the session over and closes the victim.
    await connected('victim', b.port, { autoReconnect: false });
    const err = await rejection(inFlight);
    expect(err.code).toBe(ErrorCode.NOT_CONNECTED);
    expect(err.message).toMatch(/closed.*before the reply to "request"/);
    expect((await lost)[0]).toBe('connection_lost');
    expect(victim.state).toBe('closed');
  });

  it('disconnect() says goodbye, emits disconnected once, and does not reconnect', async () => {
    const b = await broker();
    const watcher = await connected('watcher', b.port);
    const inbox = new Inbox();
    await watcher.subscribe('system.client.disconnected', inbox.handler);
    const c = await connected('leaver', b.port);
    await c.subscribe('leaver.inbox'); // state worth resuming: the broker keeps the session
    const reasons: string[] = [];
    c.on('disconnected', (r) => reasons.push(r));

    await c.disconnect();
    expect(reasons).toEqual(['client_disconnect']);
    expect(c.isConnected).toBe(false);
    expect(c.state).toBe('closed');
    const m = await inbox.waitFor((x) => (x.payload as { client_id: string }).client_id === 'leaver');
    expect(m.payload).toEqual({ client_id: 'leaver', reason: 'client_disconnect' });
    await c.disconnect(); // idempotent
    expect(reasons).toEqual(['client_disconnect']);
    const err = await rejection(c.publish('x.y', 1));
    expect(err.message).toMatch(/not connected.*disconnected/);

    // connect() again resumes the broker-side session.
    const result = await c.connect();
    expect(result.session_present).toBe(true);
  });

  it('cleanSession discards the session a previous connection left', async () => {
    const b = await broker();
    const first = await connected('sess', b.port);
    await first.subscribe('kept.*');
    await first.disconnect();
    const resumed = await connected('sess', b.port);
    expect(resumed.serverInfo?.session_present).toBe(true);
    expect((await resumed.subscriptions()).patterns).toEqual(['kept.*']);
    await resumed.disconnect();
    const fresh = await connected('sess', b.port, { cleanSession: true });
    expect(fresh.serverInfo?.session_present).toBe(false);
    expect((await fresh.subscriptions()).patterns).toEqual([]);
  });

  /** A logger whose JSON lines land in `lines`, parsed. */
  function logLines(): { logger: Logger; lines: Array<Record<string, unknown>> } {
    const lines: Array<Record<string, unknown>> = [];
    const sink = { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) };
    return { lines, logger: new Logger({ level: 'info', format: 'json', sink }) };
  }
  const delays = (lines: Array<Record<string, unknown>>): number[] => lines.filter((l) => l.msg === 'reconnecting').map((l) => l.delay as number);

  it('two programs with one client_id back off instead of taking turns every few milliseconds', async () => {
    // Each connect closes the other's connection (reason replaced); a connection lost that
    // soon must not start the backoff over.
    const b = await broker();
    const { lines, logger } = logLines();
    const options = { reconnectDelay: 0.02, maxReconnectDelay: 1, logger };
    const first = client('twin', b.port, options);
    const second = client('twin', b.port, options);
    let firstLosses = 0;
    const sixthLoss = new Promise<void>((resolve) => first.on('disconnected', () => ++firstLosses === 6 && resolve()));
    await first.connect();
    await second.connect();
    // Losses alternate, first, second, first, ...: the first's sixth follows the second's fifth delay.
    await sixthLoss;
    const seen = delays(lines);
    expect(seen.length).toBeGreaterThanOrEqual(10);
    // Each one's first reconnect waits 10-20 ms, its fifth 160-320 ms (0.02 * 2^4, jitter taking at most half).
    expect(Math.max(...seen.slice(0, 2))).toBeLessThanOrEqual(0.02);
    expect(Math.min(...seen.slice(8, 10))).toBeGreaterThanOrEqual(0.16);
    const warned = lines.filter((l) => l.level === 'warning' && l.msg === 'connection lost soon after it was made, again; reconnecting with growing delays');
    expect(warned.at(-1)).toMatchObject({ client_id: 'twin', short_connections_in_a_row: expect.any(Number) });
  });

  it('a first connect that takes over a live connection of its client id warns; a reconnect that does, does not', async () => {
    const b = await broker();
    const appLog = logLines();
    const app = await connected('app', b.port, { reconnectDelay: 0.02, logger: appLog.logger });
    expect(app.serverInfo?.replaced).toBeUndefined();
    const intruderLog = logLines();
    // `bridge sub -i app` while the app runs: the app's connection is closed (replaced),
    // and the app's reconnect closes the intruder's in turn.
    const appBack = next(app, 'connected');
    const intruder = client('app', b.port, { logger: intruderLog.logger, autoReconnect: false });
    const intruderLost = next(intruder, 'disconnected');
    await intruder.connect();
    expect(intruder.serverInfo?.replaced).toBe(true);
    const [appResult] = await appBack;
    await intruderLost;
    expect(appResult.replaced).toBe(true);
    const takeoverWarnings = (lines: Array<Record<string, unknown>>): unknown[] =>
      lines.filter((l) => l.level === 'warning' && String(l.msg).includes('connected elsewhere'));
    expect(takeoverWarnings(intruderLog.lines)).toEqual([expect.objectContaining({ client_id: 'app', msg: expect.stringContaining('is another program connecting as it?') })]);
    expect(takeoverWarnings(appLog.lines)).toEqual([]);
  });

  it('a connection that stayed up for the longest delay starts the backoff over', async () => {
    const b = await broker();
    const relay = await TcpRelay.start(b.port);
    try {
      const { lines, logger } = logLines();
      const c = await connected('steady', relay.port, { reconnectDelay: 0.02, maxReconnectDelay: 0.3, logger });
      for (let n = 0; n < 3; n++) {
        const back = next(c, 'connected');
        relay.cut(); // each of these connections lives a few milliseconds
        await back;
      }
      // Up for longer than the longest delay (0.3 s): the next loss is a first one again.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const back = next(c, 'connected');
      relay.cut();
      await back;
      const seen = delays(lines);
      expect(seen).toHaveLength(4);
      expect(seen[2]).toBeGreaterThanOrEqual(0.04);
      expect(seen[3]).toBeLessThanOrEqual(0.02);
    } finally {
      await relay.close();
    }
  });

  it('disconnect() while reconnecting stops the reconnect loop', async () => {
    const b = await broker();
    const c = await connected('stopper', b.port);
    const lost = next(c, 'disconnected');
    brokers.splice(brokers.indexOf(b), 1);
    await b.stop();
    await lost;
    expect(c.state).toBe('reconnecting');
    await c.disconnect();
    expect(c.state).toBe('closed');
  });
});

// ------------------------------------------------------------------ raw TCP peer

/**
 * Behaviour a conforming broker never provokes (silence, garbage frames, batches) needs a
 * peer we control. This is a few lines of framing over a plain socket, not a broker double.
 */
async function rawPeer(onFrame: (msg: { id?: unknown; method?: string }, reply: (v: unknown) => void, sock: net.Socket) => void): Promise<number> {
  const srv = net.createServer((sock) => {
    const dec = new FrameDecoder(1 << 20);
    const reply = (v: unknown): void => {
      sock.write(encodeJsonFrame(v));
    };
    sock.on('error', () => undefined);
    sock.on('data', (chunk) =>
      dec.push(chunk, (body) => {
        const msg = JSON.parse(body.toString('utf8')) as { id?: unknown; method?: string };
        if (msg.method !== 'disconnect') return onFrame(msg, reply, sock);
        reply({ jsonrpc: '2.0', result: { disconnected: true }, id: msg.id });
        sock.end();
      }),
    );
  });
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as net.AddressInfo).port;
}

const connectResult = (over: Record<string, unknown> = {}) => ({
  client_id: 'raw',
  server_version: 'peer',
  heartbeat_interval: 0.05,
  heartbeat_timeout: 0.3,
  max_message_size: 1 << 20,
  max_queue_size: 10,
  session_expiry: 0,
  session_present: false,
  ...over,
});

describe('against a raw TCP peer', () => {
  it('a web server given for the broker (the status page\'s port): connect fails at once, saying it answered in HTTP', async () => {
    // Node's own HTTP server: it answers our first frame with "HTTP/1.1 400 Bad Request".
    const web = http.createServer((_req, res) => res.end('status page'));
    servers.push(web);
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const c = client('lost', (web.address() as net.AddressInfo).port, { autoReconnect: false });
    const errors: Error[] = [];
    c.on('error_occurred', (e) => errors.push(e));
    const err = await rejection(c.connect());
    expect(err.message).toMatch(/closed \(not_a_broker\) before the reply to "connect" arrived: the server there answered in HTTP, so it is a web server \(a status page's port\?\), not the broker/);
    expect(errors.map((e) => e.message)).toContain('the server answered in HTTP: it is a web server (a status page?), not the broker; closing');
  });

  it('pings every heartbeat interval and drops a broker that goes silent', async () => {
    let pings = 0;
    const port = await rawPeer((msg, reply) => {
      if (msg.method === 'connect') reply({ jsonrpc: '2.0', result: connectResult(), id: msg.id });
      // Answer two pings, then go silent.
      if (msg.method === 'ping' && ++pings <= 2) reply({ jsonrpc: '2.0', result: { pong: true, timestamp: '' }, id: msg.id });
    });
    const c = await connected('raw', port, { autoReconnect: false });
    const [reason] = await next(c, 'disconnected');
    expect(reason).toBe('heartbeat_timeout');
    expect(pings).toBeGreaterThanOrEqual(2);
  });

  it('rejects connect with TIMEOUT naming host:port when the peer never answers it', async () => {
    const port = await rawPeer(() => undefined);
    const c = client('raw', port, { connectTimeout: 0.2 });
    const err = await rejection(c.connect());
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(c.state).toBe('idle');
  });

  it('a call timeout no timer can keep is refused at once; the longest one a timer can keep waits', async () => {
    // Node fires a timer of more than 2^31 - 1 ms (24.8 days) after 1 ms, and a NaN, 0
    // or negative one never: the calls failed at once with TIMEOUT, or waited forever.
    const port = await rawPeer((msg, reply) => {
      if (msg.method === 'connect') reply({ jsonrpc: '2.0', result: connectResult({ heartbeat_interval: 60, heartbeat_timeout: 120 }), id: msg.id });
    });
    const c = await connected('raw', port, { autoReconnect: false });
    const refusals = [
      c.call('status', {}, 3e6),
      c.call('status', {}, 0),
      c.call('status', {}, Number.NaN),
      c.request('t.x', null, { timeout: -1 }),
      c.request('t.x', null, { timeout: 2_147_484 }),
      c.publishBatch([{ topic: 't.x', payload: 1 }], Number.NaN),
      c.publishBatch([{ topic: 't.x', payload: 1 }], { timeout: 3e6 }),
      // @ts-expect-error: what a JavaScript caller can pass
      c.call('status', {}, '5'),
    ];
    const errors = await Promise.all(refusals.map(rejection));
    for (const err of errors) expect(err.code).toBe(ErrorCode.INVALID_PARAMS);
    expect(errors.map((e) => e.message)).toEqual([
      'the timeout of "status" must be a number of seconds, more than 0 and at most 2147483, got 3000000',
      'the timeout of "status" must be a number of seconds, more than 0 and at most 2147483, got 0',
      'the timeout of "status" must be a number of seconds, more than 0 and at most 2147483, got NaN',
      'the timeout of "request" must be a number of seconds, more than 0 and at most 2147483, got -1',
      'the timeout of "request" must be a number of seconds, more than 0 and at most 2147483, got 2147484',
      'the timeout of "publish" must be a number of seconds, more than 0 and at most 2147483, got NaN',
      'the timeout of "publish" must be a number of seconds, more than 0 and at most 2147483, got 3000000',
      'the timeout of "status" must be a number of seconds, more than 0 and at most 2147483, got a string',
    ]);
    // The longest timeout still waits for its answer: pending when a later call settles.
    let settled = false;
    const longest = c.call('status', {}, 2_147_483).finally(() => (settled = true));
    longest.catch(() => undefined);
    await rejection(c.call('status', {}, 0.05));
    expect(settled).toBe(false);
    await c.disconnect();
    expect((await rejection(longest)).code).toBe(ErrorCode.NOT_CONNECTED);
    expect(() => new BrokerClient('x', { requestTimeout: 3e6 })).toThrow('BrokerClient option requestTimeout must be a positive number of seconds, at most 2147483, got 3000000');
    expect(() => new BrokerClient('x', { connectTimeout: Infinity })).toThrow(RangeError);
  });

  it('disconnect() during the handshake cancels connect()', async () => {
    const gotConnect = deferred();
    const port = await rawPeer((msg) => msg.method === 'connect' && gotConnect.resolve());
    const c = client('raw', port);
    const pending = c.connect();
    await gotConnect.promise;
    await c.disconnect();
    const err = await rejection(pending);
    expect(err.code).toBe(ErrorCode.NOT_CONNECTED);
    expect(err.message).toMatch(/cancelled by disconnect/);
    expect(c.state).toBe('closed');
  });

  it('skips malformed frames with error_occurred, and handles batched responses', async () => {
    const port = await rawPeer((msg, reply, sock) => {
      if (msg.method === 'connect') {
        reply({ jsonrpc: '2.0', result: connectResult({ heartbeat_interval: 60, heartbeat_timeout: 120 }), id: msg.id });
      } else if (msg.method === 'ping') {
        sock.write(Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{oops')]));
        reply({ jsonrpc: '2.0', method: 'message', params: { topic: 'after.garbage', payload: 7, sender: 'x', message_id: 'm1', timestamp: '', qos: 0 } });
        reply([{ jsonrpc: '2.0', result: { pong: true, timestamp: 'batched' }, id: msg.id }]);
      }
    });
    const c = await connected('raw', port, { autoReconnect: false });
    const error = next(c, 'error_occurred');
    const received = next(c, 'message_received');
    expect(await c.ping()).toEqual({ pong: true, timestamp: 'batched' });
    expect((await error)[0].message).toMatch(/malformed frame/);
    expect((await received)[0]).toBe('after.garbage');
    expect(c.isConnected).toBe(true);
  });
});
