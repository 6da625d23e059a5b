/**
 * Persistence across a clean restart (issue 11, phase 2), black-box over TCP: a broker is
 * started on a directory, stopped, and another one started on the same directory.
 * Retained messages, QoS 1 messages of offline sessions, an online session's unacked
 * in-flight messages (redelivered) and subscriptions come back; what expired, was acked
 * or was discarded does not. The SIGKILL variant is persistence-broker-crash.test.ts.
 * Every wait is on a frame or on the clock passing a TTL, never a sleep.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/broker/index.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { useTempDirs } from '../helpers/journal-bed.js';
import type { RawClient } from '../helpers/raw-client.js';
import { captureBodies, payloadBytes } from '../helpers/frame-bytes.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';

// Registered before the test bed: after-hooks run in reverse, so brokers stop before their directories go.
const tempDir = useTempDirs();
const bed = useTestBed();

/** A broker persisting to `dir`. */
async function persistent(dir: string, extra: Partial<BrokerConfig> = {}): Promise<{ port: number; stop(): Promise<void>; status(): Record<string, unknown> }> {
  const b = await bed.broker({ persistence_enabled: true, persistence_path: dir, ...extra });
  return { port: b.port, stop: b.stop, status: () => b.broker.status() };
}

async function publish(c: RawClient, topic: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<{ message_id: string; delivered: number }> {
  const res = await c.call('publish', { topic, payload, ...extra });
  expect(res.error, `publish ${topic}`).toBeUndefined();
  return res.result;
}

/** Disconnect cleanly; the response means the broker has detached the session. */
async function leave(c: RawClient): Promise<void> {
  expect((await c.call('disconnect')).result).toEqual({ disconnected: true });
  await c.waitClosed();
}

/** A session that subscribed to `patterns` and left: the broker keeps QoS 1 messages for it. */
async function offlineSubscriber(port: number, clientId: string, ...patterns: string[]): Promise<void> {
  const c = await bed.connected(port, clientId);
  await subscribe(c, ...patterns);
  await leave(c);
}

/**
 * Resolves once every journal record appended before it is on disk: a retained publish
 * is answered only when its record is, and the journal writes in order.
 */
async function journalBarrier(c: RawClient): Promise<void> {
  await publish(c, 'test.barrier', '', { retain: true });
}

/** Wait until the local clock (the broker's: same process) has passed `epochMs`. */
async function clockPast(epochMs: number): Promise<void> {
  while (Date.now() <= epochMs) await new Promise((r) => setTimeout(r, Math.max(1, epochMs - Date.now() + 1)));
}

/** The `persistence` object of `status`. */
const stored = (b: { status(): Record<string, unknown> }): Record<string, unknown> => b.status().persistence as Record<string, unknown>;

describe('persistence across a restart', () => {
  it('keeps retained messages; a cleared topic stays cleared', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    const pub = await bed.connected(b1.port, 'pub');
    await publish(pub, 'cfg.mode', { mode: 'night' }, { retain: true });
    await publish(pub, 'cfg.qos1', 'kept', { retain: true, qos: 1 });
    await publish(pub, 'cfg.gone', 'soon cleared', { retain: true });
    await publish(pub, 'cfg.gone', '', { retain: true });
    await b1.stop();

    const b2 = await persistent(dir);
    const sub = await bed.connected(b2.port, 'sub');
    await subscribe(sub, 'cfg.#');
    await roundTrip(sub);
    const got = sub.deliveries();
    expect(got.map((d) => [d.topic, d.payload, d.retained])).toEqual([
      ['cfg.mode', { mode: 'night' }, true],
      ['cfg.qos1', 'kept', true],
    ]);
    expect(stored(b2)).toMatchObject({ enabled: true, retained: 2 });
  });

  it('keeps QoS 1 messages for an offline session, in order, and its subscriptions; not QoS 0', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    await offlineSubscriber(b1.port, 'worker', 'jobs.#', 'alerts.*');
    const pub = await bed.connected(b1.port, 'pub');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await publish(pub, `jobs.j${n}`, { n }, { qos: 1 })).message_id);
    expect((await publish(pub, 'jobs.zero', 'qos 0 is not queued offline')).delivered).toBe(0);
    await b1.stop();

    const b2 = await persistent(dir);
    const { c: sub2, res } = await bed.connect(b2.port, 'worker');
    expect(res.result.session_present).toBe(true);
    await sub2.waitDeliveries(3);
    await roundTrip(sub2);
    const got = sub2.deliveries();
    expect(got.map((d) => d.message_id)).toEqual(ids);
    expect(got.map((d) => d.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (const d of got) expect(d).toMatchObject({ qos: 1, sender: 'pub' });
    for (const d of got) expect(d.redelivered).toBeUndefined(); // queued offline: never sent before
    expect((await sub2.call('subscriptions', {})).result.patterns.sort()).toEqual(['alerts.*', 'jobs.#']);
  });

  it("redelivers an online session's unacked in-flight messages with redelivered: true; acked ones are gone", async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    const sub1 = await bed.connected(b1.port, 'worker');
    await subscribe(sub1, 'jobs.#');
    const pub = await bed.connected(b1.port, 'pub');
    const a = await publish(pub, 'jobs.a', 'a', { qos: 1 });
    const b = await publish(pub, 'jobs.b', 'b', { qos: 1 });
    const c = await publish(pub, 'jobs.c', 'c', { qos: 1 });
    await sub1.waitDeliveries(3);
    expect((await sub1.call('ack', { message_id: b.message_id })).result).toEqual({ acked: true });
    await journalBarrier(pub);
    expect(stored(b1)).toMatchObject({ messages: 2, pending_deliveries: 2, sessions: 1 });
    await b1.stop(); // worker is still connected: the broker goes, not the client

    const b2 = await persistent(dir);
    const { c: sub2, res } = await bed.connect(b2.port, 'worker');
    expect(res.result.session_present).toBe(true);
    await sub2.waitDeliveries(2);
    await roundTrip(sub2);
    const got = sub2.deliveries();
    expect(got.map((d) => d.message_id)).toEqual([a.message_id, c.message_id]);
    for (const d of got) expect(d).toMatchObject({ qos: 1, redelivered: true });

    // Acked after the restart: not redelivered after the next one either.
    for (const d of got) expect((await sub2.call('ack', { message_id: d.message_id })).result).toEqual({ acked: true });
    await b2.stop();
    const b3 = await persistent(dir);
    const sub3 = await bed.connected(b3.port, 'worker');
    await roundTrip(sub3);
    expect(sub3.deliveries()).toEqual([]);
    expect(stored(b3)).toMatchObject({ messages: 0 });
  });

  it('forgets on disk what was acked through a repeated ack envelope, before a restart and after it', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    const sub1 = await bed.connected(b1.port, 'worker');
    await subscribe(sub1, 'jobs.#');
    const pub = await bed.connected(b1.port, 'pub');
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) sent.push((await publish(pub, `jobs.${i}`, i, { qos: 1 })).message_id);
    await sub1.waitDeliveries(6);
    // Plain ack notifications in one envelope: the first teaches it, the next two are read by it.
    const ackFrame = (id: string): Buffer => encodeFrame(`{"jsonrpc":"2.0","method":"ack","params":{"message_id":"${id}"}}`);
    sub1.writeRaw(Buffer.concat([sent[0]!, sent[2]!, sent[4]!].map(ackFrame)));
    await roundTrip(sub1);
    await journalBarrier(pub);
    expect(stored(b1)).toMatchObject({ messages: 3, pending_deliveries: 3 });
    await b1.stop();

    // Restored messages are recorded by their id strings (beside the ring of this process's
    // messages); the envelope's reader finds them through the string its number makes (both
    // brokers share one process here, so one id space: another space's ids are acked by
    // string, see broker-ack-template.test.ts).
    const b2 = await persistent(dir);
    const sub2 = await bed.connected(b2.port, 'worker');
    const again = await sub2.waitDeliveries(3);
    expect(again.map((d) => d.message_id)).toEqual([sent[1], sent[3], sent[5]]);
    sub2.writeRaw(Buffer.concat(again.slice(0, 2).map((d) => ackFrame(d.message_id as string))));
    await roundTrip(sub2);
    const pub2 = await bed.connected(b2.port, 'pub');
    await journalBarrier(pub2);
    expect(stored(b2)).toMatchObject({ messages: 1, pending_deliveries: 1 });
    await b2.stop();

    const b3 = await persistent(dir);
    const sub3 = await bed.connected(b3.port, 'worker');
    const last = await sub3.waitDeliveries(1);
    await roundTrip(sub3);
    expect(sub3.deliveries().map((d) => d.message_id)).toEqual([sent[5]]);
    expect(last[0]).toMatchObject({ redelivered: true });
  });

  it('keeps each payload as it was written across a restart, retained and queued: 1e400, -0, 1.0, digits past a double', async () => {
    const text = '{"x" : [ 1e400 , -0 , 1.0 , 12345678901234567890 ]}';
    const dir = tempDir();
    const b1 = await persistent(dir);
    await offlineSubscriber(b1.port, 'later', 'kept.#');
    const pub = await bed.connected(b1.port, 'pub');
    const answer = pub.waitFor((f) => f.id === 'k1', 5000, 'the publish answer');
    pub.writeRaw(encodeFrame(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"kept.x","payload":${text},"qos":1,"retain":true},"id":"k1"}`));
    expect((await answer).result.delivered).toBe(1);
    await b1.stop();

    const b2 = await persistent(dir);
    for (const clientId of ['later', 'fresh']) {
      const c = await bed.open(b2.port);
      const bodies = captureBodies(c);
      expect((await c.call('connect', { client_id: clientId, client_type: 'test', version: '1' })).error).toBeUndefined();
      if (clientId === 'fresh') await subscribe(c, 'kept.#'); // the retained copy; 'later' gets its queued one
      await c.waitDeliveries(1);
      const frame = bodies.find((f) => f.includes('"topic":"kept.x"'))!;
      expect(payloadBytes(frame, 'kept.x', Buffer.byteLength(text)).toString(), clientId).toBe(text);
    }
  });

  it('an offline session keeps receiving after a restart: its subscriptions route new QoS 1 publishes', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    await offlineSubscriber(b1.port, 'worker', 'jobs.#');
    await b1.stop();

    const b2 = await persistent(dir);
    const pub = await bed.connected(b2.port, 'pub');
    const p = await publish(pub, 'jobs.after', 'published after the restart', { qos: 1 });
    expect(p.delivered).toBe(1); // queued for the restored offline session
    const sub2 = await bed.connected(b2.port, 'worker');
    expect((await sub2.waitDelivery('jobs.after')).message_id).toBe(p.message_id);
  });

  it('does not revive messages whose TTL ran out while the broker was down', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    await offlineSubscriber(b1.port, 'worker', 'jobs.#');
    const pub = await bed.connected(b1.port, 'pub');
    await publish(pub, 'jobs.short', 'expires', { qos: 1, ttl: 0.3 });
    const keep = await publish(pub, 'jobs.long', 'stays', { qos: 1, ttl: 3600 });
    await publish(pub, 'cfg.short', 'expires', { retain: true, ttl: 0.3 });
    await publish(pub, 'cfg.long', 'stays', { retain: true });
    const published = Date.now();
    expect(stored(b1)).toMatchObject({ messages: 2, retained: 2 });
    await b1.stop();
    await clockPast(published + 300);

    const b2 = await persistent(dir);
    expect(stored(b2)).toMatchObject({ messages: 1, retained: 1 });
    const sub2 = await bed.connected(b2.port, 'worker');
    await subscribe(sub2, 'cfg.#');
    await roundTrip(sub2);
    expect(sub2.deliveries().map((d) => [d.topic, d.message_id === keep.message_id])).toEqual([
      ['jobs.long', true],
      ['cfg.long', false],
    ]);
  });

  it('does not restore a session whose session_expiry ran out; one attached at stop gets a fresh expiry', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir, { session_expiry: 0.4 });
    await offlineSubscriber(b1.port, 'gone', 'a.#');
    const leftAt = Date.now();
    const stays = await bed.connected(b1.port, 'stays');
    await subscribe(stays, 'b.#');
    await b1.stop(); // "stays" is attached: its expiry starts at the next start
    await clockPast(leftAt + 400);

    // Had "stays" expired from the stop on, it would be gone like "gone".
    const b2 = await persistent(dir, { session_expiry: 60 });
    expect(stored(b2)).toMatchObject({ sessions: 1 });
    expect((await bed.connect(b2.port, 'gone')).res.result.session_present).toBe(false);
    const { res } = await bed.connect(b2.port, 'stays');
    expect(res.result.session_present).toBe(true);
  });

  it('clean_session discards the stored session and its messages', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    await offlineSubscriber(b1.port, 'worker', 'jobs.#');
    const pub = await bed.connected(b1.port, 'pub');
    await publish(pub, 'jobs.a', 'a', { qos: 1 });
    expect(stored(b1)).toMatchObject({ sessions: 1, messages: 1 });

    const { c: sub2, res } = await bed.connect(b1.port, 'worker', { clean_session: true });
    expect(res.result.session_present).toBe(false);
    await roundTrip(sub2);
    expect(sub2.deliveries()).toEqual([]);
    await leave(sub2);
    await b1.stop();

    const b2 = await persistent(dir);
    expect(stored(b2)).toMatchObject({ sessions: 0, messages: 0 });
    const { c: sub3, res: res3 } = await bed.connect(b2.port, 'worker');
    expect(res3.result.session_present).toBe(false);
    await roundTrip(sub3);
    expect(sub3.deliveries()).toEqual([]);
  });

  it('forgets on disk what the broker lets go: queue limits and expired TTLs', async () => {
    const dir = tempDir();
    const b = await persistent(dir, { max_queue_size: 2 });
    const pub = await bed.connected(b.port, 'pub');
    // An offline queue of two refuses the third message.
    await offlineSubscriber(b.port, 'off', 'full.#');
    for (const n of [1, 2, 3]) await publish(pub, 'full.x', n, { qos: 1 });
    await journalBarrier(pub);
    expect(stored(b)).toMatchObject({ sessions: 1, pending_deliveries: 2 });
    // A subscriber that never acks keeps its two newest in flight.
    const greedy = await bed.connected(b.port, 'greedy');
    await subscribe(greedy, 'fast.#');
    for (const n of [1, 2, 3, 4]) await publish(pub, 'fast.x', n, { qos: 1 });
    await greedy.waitDeliveries(4);
    await journalBarrier(pub);
    expect(stored(b)).toMatchObject({ sessions: 2, pending_deliveries: 4 });
    // A message that expires in the queue of a session that comes back.
    await offlineSubscriber(b.port, 'late', 'ttl.#');
    await publish(pub, 'ttl.x', 'expires', { qos: 1, ttl: 0.1 });
    await clockPast(Date.now() + 100);
    const back = await bed.connected(b.port, 'late');
    await roundTrip(back);
    expect(back.deliveries()).toEqual([]);
    await journalBarrier(pub);
    expect(stored(b)).toMatchObject({ sessions: 3, pending_deliveries: 4 });
  });

  it('forgets on disk a session that expired, with its messages', async () => {
    const dir = tempDir();
    const b = await persistent(dir, { session_expiry: 0.5 });
    const pub = await bed.connected(b.port, 'pub');
    await offlineSubscriber(b.port, 'off', 'q.#');
    const leftAt = Date.now();
    expect((await publish(pub, 'q.x', 1, { qos: 1 })).delivered).toBe(1);
    await clockPast(leftAt + 500);
    // The expiry timer fires about now; its `session_end` is on disk after a later barrier.
    const deadline = Date.now() + 5000;
    for (;;) {
      await journalBarrier(pub);
      if (stored(b).sessions === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stored(b)).toMatchObject({ sessions: 0, messages: 0 });
  });

  it('tracks who a journaled QoS 1 publish reached, for _internal.message_acks: one target, and two with one offline', async () => {
    const b = await persistent(tempDir('persist-acks-'));
    const online = await bed.connected(b.port, 'online');
    await subscribe(online, 'acks.#');
    const pub = await bed.connected(b.port, 'pub');
    const one = await publish(pub, 'acks.one', 1, { qos: 1 });
    await online.waitDelivery('acks.one');
    expect((await pub.call('_internal.message_acks', { message_id: one.message_id })).result).toEqual({ message_id: one.message_id, clients: [], pending: ['online'] });
    await offlineSubscriber(b.port, 'away', 'acks.#');
    const two = await publish(pub, 'acks.two', 2, { qos: 1 });
    expect((await pub.call('_internal.message_acks', { message_id: two.message_id })).result.pending.sort()).toEqual(['away', 'online']);
    await online.waitDelivery('acks.two');
    expect((await online.call('ack', { message_id: two.message_id })).result).toEqual({ acked: true });
    expect((await pub.call('_internal.message_acks', { message_id: two.message_id })).result).toEqual({ message_id: two.message_id, clients: ['online'], pending: ['away'] });
  });

  it('journals QoS 1 and retained publishes only: a QoS 0 publish appends nothing', async () => {
    const dir = tempDir();
    const b = await persistent(dir);
    const sub = await bed.connected(b.port, 'sub');
    await subscribe(sub, 'q.#');
    const pub = await bed.connected(b.port, 'pub');
    await publish(pub, 'q.one', 1, { qos: 1 }); // also writes the subscription, queued before it
    const before = stored(b).appends as number;
    for (let i = 0; i < 20; i++) await publish(pub, 'q.zero', i);
    expect(stored(b).appends).toBe(before);
    await publish(pub, 'q.two', 2, { qos: 1 });
    await publish(pub, 'q.kept', 3, { retain: true });
    expect(stored(b).appends).toBe(before + 2);
  });
});
