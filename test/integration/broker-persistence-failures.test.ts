/**
 * Persistence when things go wrong, and what it shows (issue 11, phase 2): a disk that
 * fills up (through the journal's `JournalFs` seam, `persistenceFs`), a second broker on
 * the same directory (in this process and through `bridge broker --persist`), `status`,
 * the CLI's persistence flags, and the publish order a journal wait must not break.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, MessageBroker, PersistenceError, type BrokerConfig, type MessageBrokerOptions } from '../../src/broker/index.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { runCli, startCli, waitOutput } from '../helpers/cli.js';
import { captureLog, useTempDirs } from '../helpers/journal-bed.js';
import { TestJournalFs } from '../helpers/journal-fs.js';
import { freePort } from '../helpers/ports.js';
import type { RawClient } from '../helpers/raw-client.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';

// Registered before the test bed: after-hooks run in reverse, so brokers stop before their directories go.
const tempDir = useTempDirs();
const bed = useTestBed();

function persistent(dir: string, extra: Partial<BrokerConfig> = {}, options: MessageBrokerOptions = {}): ReturnType<typeof bed.broker> {
  return bed.broker({ persistence_enabled: true, persistence_path: dir, ...extra }, options);
}

async function publish(c: RawClient, topic: string, payload: unknown, extra: Record<string, unknown> = {}): Promise<{ message_id: string; delivered: number }> {
  const res = await c.call('publish', { topic, payload, ...extra });
  expect(res.error, `publish ${topic}`).toBeUndefined();
  return res.result;
}

describe('a full disk', () => {
  it('answers a QoS 1 publish -32004 with the reason, delivers nothing, warns once; a later publish succeeds', async () => {
    const dir = tempDir();
    const fs = new TestJournalFs();
    const cap = captureLog();
    const b = await persistent(dir, {}, { persistenceFs: fs, logger: cap.log });
    const sub = await bed.connected(b.port, 'sub');
    await subscribe(sub, 'q.#', 'cfg.#');
    const pub = await bed.connected(b.port, 'pub');
    const first = await publish(pub, 'q.first', 'stored', { qos: 1 });
    await sub.waitDelivery('q.first');

    fs.fail('write', 'ENOSPC');
    for (const n of [1, 2, 3]) {
      const res = await pub.call('publish', { topic: 'q.lost', payload: n, qos: 1 });
      expect(res.error).toMatchObject({ code: -32004, data: { code: 'ENOSPC', reason: expect.stringMatching(/disk full/) } });
      expect(res.error.message).toMatch(/could not be stored/);
    }
    const retained = await pub.call('publish', { topic: 'cfg.mode', payload: 'night', retain: true });
    expect(retained.error).toMatchObject({ code: -32004, data: { code: 'ENOSPC' } });
    // QoS 0 is not journaled: it goes on.
    expect((await publish(pub, 'q.zero', 'not stored, delivered')).delivered).toBe(1);
    await roundTrip(sub);
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['q.first', 'q.zero']);
    expect(b.broker.status().retained_count).toBe(1); // system.broker.ready only
    const refused = cap.at('warning').filter((l) => l.msg.startsWith('publish refused'));
    expect(refused).toHaveLength(1); // once per cause, not per message
    expect(refused[0]).toMatchObject({ code: 'ENOSPC', topic: 'q.lost' });
    expect(b.broker.status().persistence).toMatchObject({ last_error: { code: 'ENOSPC' } });

    fs.heal();
    const later = await publish(pub, 'q.later', 'stored again', { qos: 1 });
    expect(later.delivered).toBe(1);
    await sub.waitDelivery('q.later');
    await b.stop();

    // Only what was answered with success comes back.
    const b2 = await persistent(dir);
    const sub2 = await bed.connected(b2.port, 'sub');
    await sub2.waitDeliveries(2);
    await roundTrip(sub2);
    expect(sub2.deliveries().map((d) => [d.message_id, d.redelivered])).toEqual([
      [first.message_id, true],
      [later.message_id, true],
    ]);
  });
});

describe('publish order while the journal writes', () => {
  /** A broker whose journal writes can be held, `sub` on `o.#`, and `pub` past a first QoS 1 publish (the subscription's record is on disk). */
  async function journalWithPublisher(): Promise<{ fs: TestJournalFs; port: number; sub: RawClient; pub: RawClient }> {
    const fs = new TestJournalFs();
    const b = await persistent(tempDir(), {}, { persistenceFs: fs });
    const sub = await bed.connected(b.port, 'sub');
    await subscribe(sub, 'o.#');
    const pub = await bed.connected(b.port, 'pub');
    await publish(pub, 'o.warmup', 0, { qos: 1 });
    return { fs, port: b.port, sub, pub };
  }

  it("keeps one publisher's order: a QoS 0 publish waits behind its QoS 1 publish; other publishers do not", async () => {
    const { fs, port, sub, pub } = await journalWithPublisher();
    const other = await bed.connected(port, 'other');

    const gate = fs.hold('write');
    const q1 = pub.call('publish', { topic: 'o.one', payload: 1, qos: 1 });
    const q0 = pub.call('publish', { topic: 'o.two', payload: 2 });
    await gate.reached;
    await publish(other, 'o.other', 'not held up');
    await sub.waitDelivery('o.other');
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['o.warmup', 'o.other']);

    gate.release();
    expect((await q1).result.delivered).toBe(1);
    expect((await q0).result.delivered).toBe(1);
    await sub.waitDeliveries(4);
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['o.warmup', 'o.other', 'o.one', 'o.two']);
  });

  it('a publish notification read through its template waits behind its QoS 1 publish too', async () => {
    const { fs, sub, pub } = await journalWithPublisher();
    // The first notification teaches the connection its envelope; the later ones take the shortcut.
    const notification = (payload: number): Buffer => encodeFrame(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"o.n","payload":${payload}}}`);
    pub.writeRaw(notification(0));
    await sub.waitDelivery('o.n');

    const gate = fs.hold('write');
    const q1 = pub.call('publish', { topic: 'o.one', payload: 1, qos: 1 });
    await gate.reached;
    pub.writeRaw(Buffer.concat([notification(1), notification(2)]));
    // Handled (frames are read in order, and the ping is answered at once), and not delivered.
    await roundTrip(pub);
    await roundTrip(sub);
    expect(sub.deliveries().map((d) => [d.topic, d.payload])).toEqual([
      ['o.warmup', 0],
      ['o.n', 0],
    ]);

    gate.release();
    expect((await q1).result.delivered).toBe(1);
    await sub.waitDeliveries(5);
    expect(sub.deliveries().map((d) => [d.topic, d.payload])).toEqual([
      ['o.warmup', 0],
      ['o.n', 0],
      ['o.one', 1],
      ['o.n', 1],
      ['o.n', 2],
    ]);
    expect(pub.frames.filter((f) => f.error !== undefined)).toEqual([]);
  });
});

describe('one broker per persistence directory', () => {
  it('a second broker in this process refuses to start, naming the directory; the first one keeps serving', async () => {
    const dir = tempDir();
    const b1 = await persistent(dir);
    const second = new MessageBroker({ host: '127.0.0.1', port: 0, log_level: 'silent', persistence_enabled: true, persistence_path: dir });
    const err = await second.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PersistenceError);
    expect(err).toMatchObject({ code: 'LOCKED', message: expect.stringContaining(dir) });
    expect(second.running).toBe(false);

    const c = await bed.connected(b1.port, 'still-served');
    await publish(c, 'cfg.x', 1, { retain: true });
    await b1.stop();
    // stop() released the lock: the next broker starts, with what the first one kept.
    const b3 = await persistent(dir);
    expect(b3.broker.status().persistence).toMatchObject({ retained: 1 });
  });

  it('bridge broker --persist: a second one exits 1 saying which process holds the directory', async () => {
    const dir = tempDir();
    const port = await freePort();
    const first = startCli(['broker', '--host', '127.0.0.1', '--port', String(port), '--persist', dir, '--persistence-fsync', 'always', '--stop-on-stdin-close']);
    await waitOutput(first.child, first.stderr, (s) => s.includes('broker listening'));

    const second = await runCli(['broker', '--host', '127.0.0.1', '--port', '0', '--persist', dir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`persistence directory ${dir} is in use by another broker: pid ${first.child.pid}`);

    // `bridge status` shows what the running one stores.
    const status = await runCli(['status', '--host', '127.0.0.1', '--port', String(port)]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^persistence ${dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} \\(fsync always\\): 0 unacked messages, 0 sessions, 0 retained, \\d+ B on disk$`, 'm'));

    first.child.stdin.end();
    expect((await first.done).code).toBe(0);
    const third = await runCli(['broker', '--host', '127.0.0.1', '--port', '0', '--persist', dir, '--stop-on-stdin-close']);
    expect(third.code, third.stderr).toBe(0); // the lock was released: it started, and stopped with its stdin
    expect(third.stderr).toContain('broker listening');
  });
});

describe('status and configuration', () => {
  it('status reports what is stored; without persistence, enabled: false', async () => {
    const dir = tempDir();
    const b = await persistent(dir, { persistence_fsync: 'never' });
    const sub = await bed.connected(b.port, 'sub');
    await subscribe(sub, 'q.#');
    expect((await sub.call('disconnect')).result).toEqual({ disconnected: true });
    const pub = await bed.connected(b.port, 'pub');
    await publish(pub, 'q.a', 'a', { qos: 1 });
    await publish(pub, 'q.b', 'b', { qos: 1 });
    await publish(pub, 'cfg.mode', 'night', { retain: true });
    const s = (await pub.call('status')).result;
    expect(s.persistence).toMatchObject({ enabled: true, path: dir, fsync: 'never', retained: 1, sessions: 1, messages: 2, pending_deliveries: 2, last_error: null });
    expect(s.persistence.bytes).toBeGreaterThan(0);
    expect(s.persistence.appends).toBeGreaterThanOrEqual(5); // session x2 (subscribe, disconnect), enqueue x2, retain

    const plain = await bed.broker();
    expect(plain.broker.status().persistence).toEqual({ enabled: false });
  });

  it('refuses persistence_enabled without persistence_path', () => {
    expect(() => new MessageBroker({ persistence_enabled: true })).toThrow(ConfigError);
    expect(() => new MessageBroker({ persistence_enabled: true })).toThrow(/persistence_path/);
  });

  it('bridge broker --persistence-fsync sometimes exits 1 naming the choices', async () => {
    const res = await runCli(['broker', '--port', '0', '--persist', tempDir(), '--persistence-fsync', 'sometimes']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('persistence_fsync must be one of always, batch, never, got "sometimes"');
    expect(res.stderr).not.toContain('broker listening');
  });
});

describe('a subscribe is answered once stored', () => {
  it('waits for the journal; the same client’s pipelined publish and unsubscribe queue behind it', async () => {
    const dir = tempDir();
    const fs = new TestJournalFs();
    const b = await persistent(dir, {}, { persistenceFs: fs });
    const me = await bed.connected(b.port, 'me');
    const other = await bed.connected(b.port, 'other');

    const gate = fs.hold('write');
    const sub = me.call('subscribe', { patterns: ['me.#', 'gone.#'] });
    const own = me.call('publish', { topic: 'me.own', payload: 1 }); // pipelined, not awaited
    const unsub = me.call('unsubscribe', { patterns: ['gone.#'] });
    await gate.reached;
    // Another client's publish meanwhile: the subscription is not in force before its answer.
    expect((await publish(other, 'me.early', 'too early')).delivered).toBe(0);
    let answered = false;
    sub.then(
      () => (answered = true),
      () => (answered = true),
    );
    await roundTrip(other);
    expect(answered).toBe(false);

    gate.release();
    expect((await sub).result).toEqual({ subscribed: ['me.#', 'gone.#'] });
    expect((await own).result.delivered).toBe(1); // subscribe, then publish: it reaches itself
    expect((await unsub).result).toEqual({ unsubscribed: ['gone.#'] });
    expect((await publish(other, 'gone.x', 'after unsubscribe')).delivered).toBe(0);
    await me.waitDelivery('me.own');
    await roundTrip(me);
    expect(me.deliveries().map((d) => d.topic)).toEqual(['me.own']);
  });

  it('a QoS 1 publish behind the same client’s subscribe or unsubscribe goes where they leave it, and is journaled so', async () => {
    const dir = tempDir();
    const fs = new TestJournalFs();
    const b = await persistent(dir, {}, { persistenceFs: fs });
    const me = await bed.connected(b.port, 'me');

    const gate = fs.hold('write');
    // Pipelined, not awaited: each waits behind the subscribe being stored.
    const sub = me.call('subscribe', { patterns: ['me.#', 'gone.#'] });
    const own = me.call('publish', { topic: 'me.own', payload: 1, qos: 1 });
    const unsub = me.call('unsubscribe', { patterns: ['gone.#'] });
    const gone = me.call('publish', { topic: 'gone.x', payload: 2, qos: 1 });
    const two = me.call('publish', { topic: 'me.two', payload: 3, qos: 1 });
    await gate.reached;
    gate.release();
    expect((await sub).result).toEqual({ subscribed: ['me.#', 'gone.#'] });
    expect((await own).result.delivered).toBe(1); // subscribe, then publish: it reaches itself
    expect((await unsub).result).toEqual({ unsubscribed: ['gone.#'] });
    expect((await gone).result.delivered).toBe(0); // unsubscribe, then publish: it does not
    expect((await two).result.delivered).toBe(1);
    await me.waitDeliveries(2);
    await roundTrip(me);
    expect(me.deliveries().map((d) => d.topic)).toEqual(['me.own', 'me.two']);

    // Journaled for the client: unacked, they come back after a restart.
    await b.stop();
    const again = await persistent(dir);
    const back = await bed.connected(again.port, 'me');
    await back.waitDeliveries(2);
    await roundTrip(back);
    expect(back.deliveries().map((d) => [d.topic, d.redelivered])).toEqual([
      ['me.own', true],
      ['me.two', true],
    ]);
  });

  it('a request waits behind the same client’s publish that waits for the journal, so its responder gets both in order', async () => {
    const dir = tempDir();
    const fs = new TestJournalFs();
    const b = await persistent(dir, {}, { persistenceFs: fs });
    const responder = await bed.connected(b.port, 'responder');
    await subscribe(responder, 'ord.#');
    const me = await bed.connected(b.port, 'me');

    const gate = fs.hold('write');
    const published = me.call('publish', { topic: 'ord.job', payload: 'first', qos: 1 });
    const asked = me.call('request', { topic: 'ord.ask', payload: 'second', timeout: 10 });
    await gate.reached;
    await roundTrip(responder);
    expect(responder.deliveries()).toEqual([]); // the request did not overtake the publish
    gate.release();
    expect((await published).result.delivered).toBe(1);
    const req = await responder.waitDelivery('ord.ask');
    expect(responder.deliveries().map((d) => d.topic)).toEqual(['ord.job', 'ord.ask']);
    responder.notify('reply', { reply_to: req.reply_to, result: { ok: true } });
    expect((await asked).result).toEqual({ ok: true });
  });

  it('a subscribe that cannot be stored is refused -32003 with the reason, and not applied', async () => {
    const dir = tempDir();
    const fs = new TestJournalFs();
    const b = await persistent(dir, {}, { persistenceFs: fs });
    const me = await bed.connected(b.port, 'me');
    const other = await bed.connected(b.port, 'other');
    fs.fail('write', 'ENOSPC');
    const res = await me.call('subscribe', { patterns: ['full.#'] });
    expect(res.error).toMatchObject({ code: -32003, data: { code: 'ENOSPC' }, message: expect.stringMatching(/could not be stored/) });
    fs.heal();
    expect((await publish(other, 'full.x', 'nobody')).delivered).toBe(0);
    expect((await me.call('subscribe', { patterns: ['full.#'] })).result).toEqual({ subscribed: ['full.#'] });
    expect((await publish(other, 'full.y', 'now')).delivered).toBe(1);
  });
});
