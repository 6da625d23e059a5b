/**
 * Black-box tests of QoS 1, sessions and acknowledgment tracking over real TCP against a
 * real broker (docs/protocol.md, "Delivery" and "Methods"). Every wait is on an observable
 * event (a frame, a closed socket, a system event, a polled broker answer), never a sleep.
 */
import { describe, expect, it } from 'vitest';
import { encodeJsonFrame } from '../../src/protocol/index.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';

const { broker, connect, connected } = useTestBed();

async function publish(c: RawClient, topic: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<{ message_id: string; delivered: number }> {
  const res = await c.call('publish', { topic, payload, ...extra });
  expect(res.error, `publish ${topic}`).toBeUndefined();
  return res.result;
}

/**
 * A client subscribed to `system.client.disconnected`, so tests can wait until the broker
 * has really noticed a disconnect (a reconnect racing the old socket's close would be a
 * takeover instead).
 */
async function monitor(port: number, id = 'monitor'): Promise<RawClient & { disconnected(clientId: string, nth?: number): Promise<Frame> }> {
  const m = await connected(port, id);
  await subscribe(m, 'system.client.disconnected');
  /** The `nth` (1-based) disconnected event for `clientId`, received or still to come. */
  const disconnected = async (clientId: string, nth = 1): Promise<Frame> => {
    const mine = (f: Frame) => f.method === 'message' && f.params.topic === 'system.client.disconnected' && f.params.payload.client_id === clientId;
    await m.waitFor(() => m.frames.filter(mine).length >= nth, 5000, `disconnected event #${nth} for ${clientId}`);
    return m.frames.filter(mine)[nth - 1].params;
  };
  return Object.assign(m, { disconnected });
}

/** Poll `fn` until it returns true; bounded. */
async function pollUntil(fn: () => Promise<boolean>, what: string, timeoutMs = 5000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait until the local clock (the broker's clock: same process) has passed `epochMs`. */
async function clockPast(epochMs: number): Promise<void> {
  while (Date.now() <= epochMs) await new Promise((r) => setTimeout(r, Math.max(1, epochMs - Date.now() + 1)));
}

describe('QoS 1 delivery and ack', () => {
  it('delivers QoS 1 with qos 1 (QoS 0 with qos 0) and answers ack with {acked: true}', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'q.#');
    const pub = await connected(port, 'pub');

    const p1 = await publish(pub, 'q.one', { n: 1 }, { qos: 1 });
    const p0 = await publish(pub, 'q.zero', { n: 0 });
    expect(p1.delivered).toBe(1);
    expect(p0.delivered).toBe(1);

    const d1 = await sub.waitDelivery('q.one');
    expect(d1).toMatchObject({ topic: 'q.one', payload: { n: 1 }, sender: 'pub', message_id: p1.message_id, qos: 1 });
    expect(d1.redelivered).toBeUndefined();
    const d0 = await sub.waitDelivery('q.zero');
    expect(d0).toMatchObject({ payload: { n: 0 }, message_id: p0.message_id, qos: 0 });

    const ack = await sub.call('ack', { message_id: d1.message_id });
    expect(ack).toMatchObject({ jsonrpc: '2.0', result: { acked: true } });
    expect(ack.error).toBeUndefined();
  });

  it('accepts ack as a notification: no response, and the ack is recorded', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'q.#');
    const pub = await connected(port, 'pub');
    const { message_id } = await publish(pub, 'q.one', 'x', { qos: 1 });
    await sub.waitDelivery('q.one');

    const before = await pub.call('_internal.message_acks', { message_id });
    expect(before.result).toEqual({ message_id, clients: [], pending: ['sub'] });

    sub.notify('ack', { message_id });
    await roundTrip(sub);
    // Responses carry an id; the subscriber made exactly three calls (connect, subscribe, ping).
    const responses = sub.frames.filter((f) => !f.method);
    expect(responses.map((f) => f.id)).toEqual([1, 2, 3]);

    const after = await pub.call('_internal.message_acks', { message_id });
    expect(after.result).toEqual({ message_id, clients: ['sub'], pending: [] });
  });
});

describe('redelivery of unacked QoS 1 messages', () => {
  for (const how of ['abrupt socket destroy', 'clean disconnect'] as const) {
    it(`redelivers unacked messages with redelivered: true after a ${how}`, async () => {
      const { port } = await broker();
      const mon = await monitor(port);
      const sub1 = await connected(port, 'worker');
      await subscribe(sub1, 'jobs.#');
      const pub = await connected(port, 'pub');

      const a = await publish(pub, 'jobs.a', { job: 'a' }, { qos: 1 });
      const b = await publish(pub, 'jobs.b', { job: 'b' }, { qos: 1 });
      const c = await publish(pub, 'jobs.c', { job: 'c' }, { qos: 1 });
      await sub1.waitDeliveries(3);
      expect((await sub1.call('ack', { message_id: b.message_id })).result).toEqual({ acked: true });

      if (how === 'abrupt socket destroy') {
        sub1.close();
      } else {
        expect((await sub1.call('disconnect')).result).toEqual({ disconnected: true });
        await sub1.waitClosed();
      }
      const ev = await mon.disconnected('worker');
      expect(ev.payload.reason).toBe(how === 'clean disconnect' ? 'client_disconnect' : 'connection_lost');

      const { c: sub2, res } = await connect(port, 'worker');
      expect(res.result.session_present).toBe(true);
      const got = await sub2.waitDeliveries(2);
      await roundTrip(sub2);
      expect(sub2.deliveries()).toHaveLength(2);
      expect(got.map((d) => d.message_id)).toEqual([a.message_id, c.message_id]);
      for (const d of got) expect(d).toMatchObject({ qos: 1, redelivered: true, sender: 'pub' });
      expect(got.map((d) => d.payload)).toEqual([{ job: 'a' }, { job: 'c' }]);

      // Once acked, they are not redelivered again.
      for (const d of got) expect((await sub2.call('ack', { message_id: d.message_id })).result).toEqual({ acked: true });
      sub2.close();
      expect((await mon.disconnected('worker', 2)).payload.reason).toBe('connection_lost');
      const sub3 = await connected(port, 'worker');
      await roundTrip(sub3);
      expect(sub3.deliveries()).toEqual([]);
    });
  }
});

/**
 * A reconnect's catch-up larger than `max_output_bytes`: it is paced by the client's
 * reading, so it neither closes the connection nor loses what was still to go.
 */
describe('a reconnect that has more to catch up than the output limit', () => {
  /** 1,200 QoS 1 messages of 20 KB: 24 MB, more than the socket buffers of both ends hold. */
  const BACKLOG = 1200;
  const PAD = 'x'.repeat(20_000);
  const LIMITS = { max_message_size: 64 * 1024, max_output_bytes: 1024 * 1024 };

  /** Publish `BACKLOG` QoS 1 messages on `topic`, pipelined, and wait for the last answer. */
  async function publishBacklog(pub: RawClient, topic: string): Promise<void> {
    const frames = [];
    for (let seq = 0; seq < BACKLOG; seq++) {
      frames.push(encodeJsonFrame({ jsonrpc: '2.0', id: `b${seq}`, method: 'publish', params: { topic, payload: { seq, pad: PAD }, qos: 1 } }));
    }
    pub.writeRaw(Buffer.concat(frames));
    const last = await pub.waitFor((f) => f.id === `b${BACKLOG - 1}`, 20_000, 'the last publish answer');
    expect(last.result.delivered).toBe(1);
  }

  /** `clientId`'s row in the broker's status. */
  async function row(pub: RawClient, clientId: string): Promise<Frame> {
    return (await pub.call('status')).result.clients.find((c: Frame) => c.client_id === clientId);
  }

  it('what was queued offline arrives whole and in order, and what is published meanwhile after it', async () => {
    const { port } = await broker(LIMITS);
    const mon = await monitor(port);
    const sub = await connected(port, 'backlogged');
    await subscribe(sub, 'bk.#');
    sub.close();
    await mon.disconnected('backlogged');
    const pub = await connected(port, 'bk-pub');
    await publishBacklog(pub, 'bk.x');

    // The client reconnects and reads nothing yet: the catch-up fills the sockets and waits.
    const back = await RawClient.open(port);
    back.socket.pause();
    back.send({ jsonrpc: '2.0', id: 'c', method: 'connect', params: { client_id: 'backlogged', client_type: 'test', version: '1' } });
    await pollUntil(async () => {
      const r = await row(pub, 'backlogged');
      return r.connected === true && r.queued > 0;
    }, 'a catch-up waiting for the client to read');
    // Every message is accounted for meanwhile: given and not acked, or still to be given.
    const waiting = await row(pub, 'backlogged');
    expect(waiting.queued + waiting.unacked).toBeGreaterThanOrEqual(BACKLOG);
    // Published while the catch-up waits: they must not overtake it.
    await publish(pub, 'bk.live', { live: 1 }, { qos: 1 });
    await publish(pub, 'bk.live', { live: 0 }, { qos: 0 });
    back.socket.resume();
    const got = await back.waitDeliveries(BACKLOG + 2, undefined, 30_000);
    expect(back.frames[0]).toMatchObject({ id: 'c', result: { session_present: true } });
    expect(got.slice(0, BACKLOG).map((d) => d.payload.seq)).toEqual(Array.from({ length: BACKLOG }, (_, i) => i));
    expect(got.slice(BACKLOG).map((d) => d.payload)).toEqual([{ live: 1 }, { live: 0 }]);
    expect(back.isClosed).toBe(false);
    expect((await pub.call('status')).result.dropped_count).toBe(0);
    expect(await row(pub, 'backlogged')).toMatchObject({ connected: true, queued: 0, unacked: BACKLOG + 1 });
  });

  it('unacked deliveries are all sent again, in order, on a connection that stays open', async () => {
    const { port } = await broker(LIMITS);
    const mon = await monitor(port);
    const sub = await connected(port, 'no-acker');
    await subscribe(sub, 'bk.#');
    const pub = await connected(port, 'bk-pub');
    await publishBacklog(pub, 'bk.x');
    await sub.waitDeliveries(BACKLOG, undefined, 30_000);
    sub.close();
    await mon.disconnected('no-acker');

    const back = await connected(port, 'no-acker');
    const got = await back.waitDeliveries(BACKLOG, undefined, 30_000);
    expect(got.map((d) => d.payload.seq)).toEqual(Array.from({ length: BACKLOG }, (_, i) => i));
    expect(got.every((d) => d.redelivered === true)).toBe(true);
    expect(back.isClosed).toBe(false);
    expect(await row(pub, 'no-acker')).toMatchObject({ connected: true, unacked: BACKLOG });
  });
});

describe('offline sessions', () => {
  it('queue QoS 1 (not QoS 0) while offline, count them in delivered, and deliver in publish order on reconnect', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const off = await connected(port, 'offline-sub');
    await subscribe(off, 'ev.#');
    const on = await connected(port, 'online-sub');
    await subscribe(on, 'ev.#');
    off.close();
    await mon.disconnected('offline-sub');

    const pub = await connected(port, 'pub');
    const sent: { seq: number; qos: number; id: string; delivered: number }[] = [];
    for (let seq = 1; seq <= 6; seq++) {
      const qos = seq % 3 === 2 ? 0 : 1; // 1,0,1,1,0,1
      const r = await publish(pub, `ev.n${seq}`, { seq }, { qos });
      sent.push({ seq, qos, id: r.message_id, delivered: r.delivered });
    }
    // QoS 1: the online subscriber plus the offline session that queued it; QoS 0: online only.
    expect(sent.map((s) => s.delivered)).toEqual(sent.map((s) => (s.qos === 1 ? 2 : 1)));
    await on.waitDeliveries(6);
    expect(on.deliveries().map((d) => d.payload.seq)).toEqual([1, 2, 3, 4, 5, 6]);

    const { c: back, res } = await connect(port, 'offline-sub');
    expect(res.result.session_present).toBe(true);
    const qos1 = sent.filter((s) => s.qos === 1);
    await back.waitDeliveries(qos1.length);
    await roundTrip(back);
    const got = back.deliveries();
    expect(got.map((d) => d.message_id)).toEqual(qos1.map((s) => s.id));
    expect(got.map((d) => d.payload.seq)).toEqual([1, 3, 4, 6]);
    for (const d of got) {
      expect(d.qos).toBe(1);
      // Queued while offline: a first delivery, not a redelivery.
      expect(d.redelivered).toBeUndefined();
    }
  });

  it('bound the offline queue by max_queue_size: later QoS 1 messages are refused, counted and reported', async () => {
    const { port } = await broker({ max_queue_size: 3 });
    const mon = await monitor(port);
    await subscribe(mon, 'system.client.slow');
    const sub = await connected(port, 'offq');
    await subscribe(sub, 'oq.#');
    sub.close();
    await mon.disconnected('offq');

    const pub = await connected(port, 'pub');
    // Pipelined, so the drops happen together.
    pub.writeRaw(
      Buffer.concat(
        [1, 2, 3, 4, 5].map((seq) =>
          encodeJsonFrame({ jsonrpc: '2.0', id: `p${seq}`, method: 'publish', params: { topic: 'oq.x', payload: { seq }, qos: 1 } }),
        ),
      ),
    );
    await pub.waitFor((f) => f.id === 'p5');
    const results = [1, 2, 3, 4, 5].map((seq) => pub.frames.find((f) => f.id === `p${seq}`).result);
    expect(results.map((r) => r.delivered)).toEqual([1, 1, 1, 0, 0]);

    await mon.waitDelivery('system.client.slow', (p) => p.payload.total_dropped === 2, 3000);
    const events = mon.deliveries('system.client.slow');
    expect(events.every((e) => e.payload.client_id === 'offq')).toBe(true);
    expect(events.reduce((n, e) => n + e.payload.dropped, 0)).toBe(2);
    expect((await pub.call('status')).result.dropped_count).toBe(2);

    const back = await connected(port, 'offq');
    await back.waitDeliveries(3);
    await roundTrip(back);
    expect(back.deliveries().map((d) => d.payload.seq)).toEqual([1, 2, 3]);
    expect(back.deliveries().map((d) => d.message_id)).toEqual(results.slice(0, 3).map((r) => r.message_id));
  });

  it('reports session_present false for a new client id and true when the session is resumed', async () => {
    const { port } = await broker();
    const first = await connect(port, 'sp');
    expect(first.res.result).toMatchObject({ client_id: 'sp', session_present: false, session_expiry: 3600 });
    await subscribe(first.c, 'sp.state');
    expect((await first.c.call('disconnect')).result).toEqual({ disconnected: true });
    await first.c.waitClosed();
    // The broker may see the socket close after our next connect; poll until it is offline.
    const checker = await connected(port, 'checker');
    await pollUntil(async () => (await checker.call('subscriptions', { client_id: 'sp' })).result?.connected === false, 'sp offline');
    const second = await connect(port, 'sp');
    expect(second.res.result.session_present).toBe(true);
    const other = await connect(port, 'someone-else');
    expect(other.res.result.session_present).toBe(false);
  });

  it('does not keep a session that holds no subscriptions and no messages', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const once = await connect(port, 'one-shot');
    await publish(once.c, 'x.y', 1);
    expect((await once.c.call('disconnect')).result).toEqual({ disconnected: true });
    await mon.disconnected('one-shot');
    const checker = await connected(port, 'checker');
    expect((await checker.call('subscriptions', { client_id: 'one-shot' })).error.code).toBe(-32602);
    const again = await connect(port, 'one-shot');
    expect(again.res.result.session_present).toBe(false);
  });

  it('clean_session: true discards the old session: no subscriptions, no queued messages', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const sub = await connected(port, 'cs');
    await subscribe(sub, 'cs.#', 'other.topic');
    sub.close();
    await mon.disconnected('cs');

    const pub = await connected(port, 'pub');
    const queued = await publish(pub, 'cs.x', { n: 1 }, { qos: 1 });
    expect(queued.delivered).toBe(1);
    expect((await pub.call('_internal.message_acks', { message_id: queued.message_id })).result.pending).toEqual(['cs']);

    const { c: fresh, res } = await connect(port, 'cs', { clean_session: true });
    expect(res.result.session_present).toBe(false);
    expect((await fresh.call('subscriptions')).result).toMatchObject({ client_id: 'cs', patterns: [] });
    await roundTrip(fresh);
    expect(fresh.deliveries()).toEqual([]);
    // The discarded session will never ack.
    expect((await pub.call('_internal.message_acks', { message_id: queued.message_id })).result).toEqual({
      message_id: queued.message_id,
      clients: [],
      pending: [],
    });
    // Its subscriptions are gone: nothing routes to it any more.
    expect((await publish(pub, 'cs.y', 1, { qos: 1 })).delivered).toBe(0);
    await roundTrip(fresh);
    expect(fresh.deliveries()).toEqual([]);
  });

  it('session_expiry: an offline session, its subscriptions and queued messages go after session_expiry', async () => {
    const { port } = await broker({ session_expiry: 0.3 });
    const sub = await connected(port, 'exp');
    await subscribe(sub, 'exp.#');
    const checker = await connected(port, 'checker');
    expect((await sub.call('disconnect')).result).toEqual({ disconnected: true });
    await sub.waitClosed();
    await pollUntil(async () => (await checker.call('subscriptions', { client_id: 'exp' })).result?.connected === false, 'exp offline', 2000, 5);

    // Still there while offline: subscriptions kept, QoS 1 queued.
    expect((await checker.call('subscriptions', { client_id: 'exp' })).result).toMatchObject({ client_id: 'exp', patterns: ['exp.#'], connected: false });
    const queued = await publish(checker, 'exp.a', 1, { qos: 1 });
    expect(queued.delivered).toBe(1);

    let last: Frame;
    await pollUntil(async () => (last = await checker.call('subscriptions', { client_id: 'exp' })).error !== undefined, 'session expiry', 3000);
    expect(last!.error.code).toBe(-32602);

    expect((await publish(checker, 'exp.b', 2, { qos: 1 })).delivered).toBe(0);
    const { c: back, res } = await connect(port, 'exp');
    expect(res.result.session_present).toBe(false);
    expect((await back.call('subscriptions')).result.patterns).toEqual([]);
    await roundTrip(back);
    expect(back.deliveries()).toEqual([]);
  });

  it('session_expiry: reconnecting in time cancels the expiry', async () => {
    const { port } = await broker({ session_expiry: 0.3 });
    const checker = await connected(port, 'checker');
    const keep = await connected(port, 'keep');
    await subscribe(keep, 'keep.#');
    keep.close();
    await pollUntil(async () => (await checker.call('subscriptions', { client_id: 'keep' })).result?.connected === false, 'keep offline', 2000, 5);
    const { c: keep2, res } = await connect(port, 'keep');
    expect(res.result.session_present).toBe(true);

    // A clock: a session that went offline after `keep` came back, and then expired.
    const clock = await connected(port, 'clock');
    clock.close();
    await pollUntil(async () => (await checker.call('subscriptions', { client_id: 'clock' })).error?.code === -32602, 'clock session expiry', 3000);

    // `keep`'s first expiry (armed before it came back) is long due: it must have been cancelled.
    const sub = await checker.call('subscriptions', { client_id: 'keep' });
    expect(sub.result).toEqual({ client_id: 'keep', patterns: ['keep.#'], connected: true });
    await roundTrip(keep2);
  });

  it('session_expiry longer than one Node timer can wait (30 days): the offline session and its QoS 1 messages stay', async () => {
    // Node's setTimeout fires after 1 ms for any delay past 2^31 - 1 ms (24.8 days).
    const { port } = await broker({ session_expiry: 30 * 86_400 });
    const checker = await connected(port, 'checker');
    const month = await connected(port, 'month');
    await subscribe(month, 'month.#');
    month.close();
    await pollUntil(async () => (await checker.call('subscriptions', { client_id: 'month' })).result?.connected === false, 'month offline', 2000, 5);
    // Long enough for a timer of 1 ms to have fired many times over.
    await clockPast(Date.now() + 50);
    expect((await checker.call('subscriptions', { client_id: 'month' })).result).toEqual({ client_id: 'month', patterns: ['month.#'], connected: false });
    expect((await publish(checker, 'month.a', 'kept', { qos: 1 })).delivered).toBe(1);

    const { c: back, res } = await connect(port, 'month');
    expect(res.result.session_present).toBe(true);
    await back.waitFor(() => back.deliveries().length === 1, 2000, 'the queued QoS 1 message');
    expect(back.deliveries()[0]).toMatchObject({ topic: 'month.a', payload: 'kept', qos: 1 });
  });
});

describe('ttl', () => {
  it('never delivers a QoS 1 message late whose ttl ran out while the subscriber was offline', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const sub = await connected(port, 'ttl-sub');
    await subscribe(sub, 'ttl.#');
    sub.close();
    await mon.disconnected('ttl-sub');

    const pub = await connected(port, 'pub');
    const short = await publish(pub, 'ttl.short', 'stale', { qos: 1, ttl: 0.15 });
    const publishedBy = Date.now();
    const noTtl = await publish(pub, 'ttl.none', 'fresh', { qos: 1 });
    const long = await publish(pub, 'ttl.long', 'fresh-too', { qos: 1, ttl: 60 });
    expect([short.delivered, noTtl.delivered, long.delivered]).toEqual([1, 1, 1]);
    await clockPast(publishedBy + 150 + 20);
    // Dropped for its ttl, and counted as such (docs/protocol.md: "counted in expired_count"),
    // whether the broker notices while queueing another message or on replay.
    const later = await publish(pub, 'ttl.later', 'after-expiry', { qos: 1 });
    expect((await pub.call('status')).result).toMatchObject({ expired_count: 1 });

    const back = await connected(port, 'ttl-sub');
    await back.waitDeliveries(3);
    await roundTrip(back);
    expect(back.deliveries().map((d) => d.message_id)).toEqual([noTtl.message_id, long.message_id, later.message_id]);
    expect((await pub.call('status')).result).toMatchObject({ expired_count: 1, dropped_count: 0 });
  });

  it('does not redeliver an unacked QoS 1 message whose ttl ran out', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const sub = await connected(port, 'ttl-sub');
    await subscribe(sub, 'ttl.#');
    const pub = await connected(port, 'pub');
    const short = await publish(pub, 'ttl.short', 1, { qos: 1, ttl: 0.15 });
    const publishedBy = Date.now();
    const keep = await publish(pub, 'ttl.keep', 2, { qos: 1 });
    await sub.waitDeliveries(2);
    sub.close(); // neither acked
    await mon.disconnected('ttl-sub');
    await clockPast(publishedBy + 150 + 20);

    const back = await connected(port, 'ttl-sub');
    await back.waitDeliveries(1);
    await roundTrip(back);
    expect(back.deliveries()).toHaveLength(1);
    expect(back.deliveries()[0]).toMatchObject({ message_id: keep.message_id, redelivered: true });
    expect(short.delivered).toBe(1);
    expect((await pub.call('status')).result).toMatchObject({ expired_count: 1, dropped_count: 0 });
  });
});

describe('_internal.message_acks', () => {
  async function setup(): Promise<{ pub: RawClient; a: RawClient; b: RawClient; message_id: string }> {
    const { port } = await broker();
    const a = await connected(port, 'acker-a');
    const b = await connected(port, 'acker-b');
    await subscribe(a, 'ma.#');
    await subscribe(b, 'ma.#');
    const pub = await connected(port, 'pub');
    const r = await publish(pub, 'ma.x', { v: 1 }, { qos: 1 });
    expect(r.delivered).toBe(2);
    await a.waitDelivery('ma.x');
    await b.waitDelivery('ma.x');
    return { pub, a, b, message_id: r.message_id };
  }
  const sorted = (r: Frame) => ({ ...r, clients: [...r.clients].sort(), pending: [...r.pending].sort() });

  it('as a method: clients and pending before and after acks; unknown id -> -32602', async () => {
    const { pub, a, b, message_id } = await setup();
    const ask = async () => sorted((await pub.call('_internal.message_acks', { message_id })).result);
    expect(await ask()).toEqual({ message_id, clients: [], pending: ['acker-a', 'acker-b'] });
    expect((await a.call('ack', { message_id })).result).toEqual({ acked: true });
    expect(await ask()).toEqual({ message_id, clients: ['acker-a'], pending: ['acker-b'] });
    b.notify('ack', { message_id });
    await roundTrip(b);
    expect(await ask()).toEqual({ message_id, clients: ['acker-a', 'acker-b'], pending: [] });

    const unknown = await pub.call('_internal.message_acks', { message_id: 'no-such-id' });
    expect(unknown.result).toBeUndefined();
    expect(unknown.error.code).toBe(-32602);
    // QoS 0 messages are not tracked.
    const q0 = await publish(pub, 'ma.y', 1);
    expect((await pub.call('_internal.message_acks', { message_id: q0.message_id })).error.code).toBe(-32602);
  });

  it('via request on topic _internal.message_acks: same answers; unknown id -> -32602', async () => {
    const { pub, a, message_id } = await setup();
    const ask = async () => sorted((await pub.call('request', { topic: '_internal.message_acks', payload: { message_id }, timeout: 2 })).result);
    expect(await ask()).toEqual({ message_id, clients: [], pending: ['acker-a', 'acker-b'] });
    a.notify('ack', { message_id });
    await roundTrip(a);
    expect(await ask()).toEqual({ message_id, clients: ['acker-a'], pending: ['acker-b'] });

    const unknown = await pub.call('request', { topic: '_internal.message_acks', payload: { message_id: 'nope' }, timeout: 2 });
    expect(unknown.result).toBeUndefined();
    expect(unknown.error.code).toBe(-32602);
    // Never delivered to subscribers, even ones matching everything.
    expect(a.deliveries().map((d) => d.topic)).toEqual(['ma.x']);
  });

  it('a retained QoS 1 message replayed to a later subscriber awaits its ack too; an ack repeated is not awaited', async () => {
    const { port } = await broker();
    const pub = await connected(port, 'pub');
    const first = await connected(port, 'first');
    await subscribe(first, 'rq.#');
    const { message_id } = await publish(pub, 'rq.state', 'on', { qos: 1, retain: true });
    await first.waitDelivery('rq.state');
    const ask = async () => sorted((await pub.call('_internal.message_acks', { message_id })).result);
    expect(await ask()).toEqual({ message_id, clients: [], pending: ['first'] });

    const late = await connected(port, 'late');
    await subscribe(late, 'rq.#');
    await late.waitDelivery('rq.state');
    expect(late.deliveries()[0]).toMatchObject({ message_id, retained: true, qos: 1 });
    expect(await ask()).toEqual({ message_id, clients: [], pending: ['first', 'late'] });
    expect((await late.call('ack', { message_id })).result).toEqual({ acked: true });
    expect(await ask()).toEqual({ message_id, clients: ['late'], pending: ['first'] });
    expect((await late.call('ack', { message_id })).result).toEqual({ acked: false });
    expect((await first.call('ack', { message_id })).result).toEqual({ acked: true });
    expect((await first.call('ack', { message_id })).result).toEqual({ acked: false });
    expect(await ask()).toEqual({ message_id, clients: ['first', 'late'], pending: [] });
  });
});

describe('takeover', () => {
  it('a second connect with the same client_id closes the first socket (reason replaced) and inherits the session', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const { c: first, res: firstRes } = await connect(port, 'dup');
    expect(firstRes.result.replaced).toBeUndefined();
    await subscribe(first, 'tk.#');
    const pub = await connected(port, 'pub');
    const m1 = await publish(pub, 'tk.one', { n: 1 }, { qos: 1 });
    await first.waitDelivery('tk.one');

    const { c: second, res } = await connect(port, 'dup');
    expect(res.result).toMatchObject({ client_id: 'dup', session_present: true, replaced: true });
    await first.waitClosed();
    const ev = await mon.disconnected('dup');
    expect(ev).toMatchObject({ sender: 'broker', payload: { client_id: 'dup', reason: 'replaced' } });

    // The unacked message carries over.
    const again = await second.waitDelivery('tk.one');
    expect(again).toMatchObject({ message_id: m1.message_id, redelivered: true, qos: 1, payload: { n: 1 } });
    // So do the subscriptions.
    expect((await second.call('subscriptions')).result).toMatchObject({ client_id: 'dup', patterns: ['tk.#'], connected: true });
    const m2 = await publish(pub, 'tk.two', { n: 2 }, { qos: 1 });
    expect(m2.delivered).toBe(1);
    expect((await second.waitDelivery('tk.two')).message_id).toBe(m2.message_id);
    expect(first.deliveries('tk.two')).toEqual([]);
    expect((await second.call('ack', { message_id: m1.message_id })).result).toEqual({ acked: true });
    expect((await pub.call('_internal.message_acks', { message_id: m1.message_id })).result).toEqual({
      message_id: m1.message_id,
      clients: ['dup'],
      pending: [],
    });
  });

  it('a takeover with clean_session: true closes the old socket and starts from an empty session', async () => {
    const { port } = await broker();
    const mon = await monitor(port);
    const { c: first, res: firstRes } = await connect(port, 'dup');
    expect(firstRes.result.replaced).toBeUndefined();
    await subscribe(first, 'tk.#');
    const pub = await connected(port, 'pub');
    const m1 = await publish(pub, 'tk.one', 1, { qos: 1 });
    await first.waitDelivery('tk.one');

    const { c: second, res } = await connect(port, 'dup', { clean_session: true });
    expect(res.result.session_present).toBe(false);
    await first.waitClosed();
    expect((await mon.disconnected('dup')).payload.reason).toBe('replaced');
    expect((await second.call('subscriptions')).result).toMatchObject({ patterns: [], connected: true });
    expect((await publish(pub, 'tk.two', 2, { qos: 1 })).delivered).toBe(0);
    await roundTrip(second);
    expect(second.deliveries()).toEqual([]);
    expect((await pub.call('_internal.message_acks', { message_id: m1.message_id })).result.pending).toEqual([]);
  });
});
