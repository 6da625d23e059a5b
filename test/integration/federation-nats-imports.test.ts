/**
 * What a broker imports from NATS, against a real nats-server: application messages
 * only, never the engine's plumbing (request replies, QoS 1 acks, `$` APIs); subjects
 * that are valid topics here; headers it can trust, or its own values instead. Brokers
 * run in this process on free ports; foreign publishers are plain nats.js clients.
 *
 * Nothing here sleeps to wait for an outcome: that something did NOT arrive is shown by
 * a later message on the same path that did (one NATS connection's messages reach a
 * subscriber in order).
 */
import { connect, headers, type Msg, type NatsConnection as NatsClient } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { FederationStatus } from '../../src/broker/index.js';
import { parseFederationSetting } from '../../src/broker/federation/federation-setting.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import { useNatsServers, type NatsServer } from '../helpers/nats-server.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { loggedBroker, useTestBed, type LogLine } from '../helpers/test-bed.js';

// Registered first, so its cleanup runs last: the brokers leave the server before it goes.
const nats = useNatsServers();
const bed = useTestBed();

const natsClients: NatsClient[] = [];
afterEach(async () => {
  await Promise.all(natsClients.splice(0).map((nc) => nc.close()));
});

/** Bounded waits: generous for a 2-core machine shared with other jobs. */
const WAIT = { timeout: 15_000, interval: 50 };

function federated(server: NatsServer): Promise<StartedBroker> {
  return bed.broker({ federation: parseFederationSetting({ upstream: server.url }, 'test') });
}

async function federationOf(c: RawClient): Promise<FederationStatus> {
  const res = await c.call('status');
  expect(res.error).toBeUndefined();
  return res.result.federation as FederationStatus;
}

/** Wait until the link of the broker `c` is on is up and the server has `subjects` for it. */
async function upWith(server: NatsServer, c: RawClient, subjects: string[]): Promise<void> {
  await expect.poll(async () => (await federationOf(c)).state, WAIT).toBe('up');
  const id = (await federationOf(c)).origin_id;
  await expect.poll(() => server.subjectsOf(id), WAIT).toEqual([...subjects].sort());
}

/** A plain NATS client on `server`, closed after the test. */
async function natsClient(server: NatsServer): Promise<NatsClient> {
  const nc = await connect({ servers: `127.0.0.1:${server.port}`, name: 'test foreign' });
  natsClients.push(nc);
  return nc;
}

/** What `c` received, without the broker's own local `system.` events. */
const topicsOf = (c: RawClient): string[] => c.deliveries().map((d: Frame) => d.topic as string).filter((t) => !t.startsWith('system.'));

describe('federation through NATS: the engine\'s plumbing is not imported', () => {
  it('with "#" subscribers on two brokers, QoS 1 acks, request replies and "$" subjects never reach them; a local "_INBOX." topic is not exported', async () => {
    const server = await nats.start();
    const { port: aPort, logs: logsA } = await loggedBroker(bed, { federation: parseFederationSetting({ upstream: server.url }, 'test') });
    const [a, b, c] = [{ port: aPort }, await federated(server), await federated(server)];
    const everythingA = await bed.connected(a.port, 'everything-a');
    await everythingA.call('subscribe', { patterns: ['#'] });
    const everythingB = await bed.connected(b.port, 'everything-b');
    await everythingB.call('subscribe', { patterns: ['#'] });
    const responder = await bed.connected(b.port, 'svc-b');
    await responder.call('subscribe', { patterns: ['svc.status'] });
    const requester = await bed.connected(c.port, 'app-c');
    await upWith(server, everythingA, ['>']);
    await upWith(server, everythingB, ['>']);
    await expect.poll(async () => (await federationOf(requester)).state, WAIT).toBe('up');
    // A wire spy: whatever our brokers publish, plumbing included.
    const spy = await natsClient(server);
    const wire: Msg[] = [];
    const spyErrors: Error[] = [];
    spy.subscribe('>', {
      callback: (err, m) => {
        if (err) spyErrors.push(err);
        else wire.push(m);
      },
    });
    await spy.flush();

    // A request from C answered on B: the answer travels to C's inbox, which A's and B's
    // ">" subscriptions match as well.
    const asked = requester.call('request', { topic: 'svc.status', payload: null, timeout: 10 });
    const req = await responder.waitDelivery('svc.status');
    await responder.call('reply', { reply_to: req.reply_to, result: { running: true } });
    expect((await asked).result).toEqual({ running: true });

    // QoS 1 both ways: each importer's ack goes to the exporter's inbox.
    const pubA = await bed.connected(a.port, 'pub-a');
    const pubB = await bed.connected(b.port, 'pub-b');
    for (let n = 1; n <= 5; n++) {
      await pubA.call('publish', { topic: 'jobs.a', payload: n, qos: 1 });
      await pubB.call('publish', { topic: 'jobs.b', payload: n, qos: 1 });
    }
    await everythingA.waitDeliveries(5, 'jobs.b');
    await everythingB.waitDeliveries(5, 'jobs.a');
    await expect.poll(async () => [(await federationOf(pubA)).queued, (await federationOf(pubB)).queued], WAIT).toEqual([0, 0]);

    // A foreign client's plumbing: a plain publish to an inbox, a JetStream API request.
    const foreign = await natsClient(server);
    foreign.publish('_INBOX.not-a-topic', '1');
    foreign.publish('$JS.API.INFO', '');
    // A local publish on an inbox subject would inject a reply into someone's request.
    await pubA.call('publish', { topic: '_INBOX.spoof', payload: 1, qos: 0 });

    // Fences: each after everything its connection sent above.
    await pubA.call('publish', { topic: 'fence.a', payload: null, qos: 0 });
    await pubB.call('publish', { topic: 'fence.b', payload: null, qos: 0 });
    foreign.publish('fence.foreign', '1');
    await foreign.flush();
    for (const fence of ['fence.a', 'fence.b', 'fence.foreign']) {
      await everythingA.waitDelivery(fence);
      await everythingB.waitDelivery(fence);
    }
    await expect.poll(() => wire.some((m) => m.subject === 'fence.a'), WAIT).toBe(true);

    const expected = (own: string, other: string): string[] =>
      ['svc.status', ...Array<string>(5).fill(own), ...Array<string>(5).fill(other), 'fence.a', 'fence.b', 'fence.foreign'].sort();
    // A also has the local "_INBOX.spoof" (local traffic is not the link's business).
    expect(topicsOf(everythingA).sort()).toEqual([...expected('jobs.a', 'jobs.b'), '_INBOX.spoof'].sort());
    expect(topicsOf(everythingB).sort()).toEqual(expected('jobs.b', 'jobs.a'));
    expect(wire.map((m) => m.subject)).not.toContain('_INBOX.spoof');
    expect(spyErrors).toEqual([]);
    // Everyday traffic, not a complaint: nothing about it in A's log above debug, where
    // the local "_INBOX.spoof" export is the one warning.
    expect(logsA.filter((l) => l.level !== 'debug' && l.component === 'federation').map((l) => [l.msg, l.subject ?? l.topic])).toEqual([
      ['federation: topic cannot be a NATS subject; not exported', '_INBOX.spoof'],
    ]);
  });
});

describe('federation through NATS: a foreign publisher is not taken on its word', () => {
  /** A broker whose log is kept, with a client subscribed to `patterns` once they are upstream. */
  async function watched(server: NatsServer, patterns: string[], subjects: string[]): Promise<{ sub: RawClient; logs: LogLine[] }> {
    const { port, logs } = await loggedBroker(bed, { federation: parseFederationSetting({ upstream: server.url }, 'test') });
    const sub = await bed.connected(port, 'saw-pc');
    await sub.call('subscribe', { patterns });
    await upWith(server, sub, subjects);
    return { sub, logs };
  }

  it('subjects that are not valid topics here are not imported; each reason is warned about once, the repeats at debug', async () => {
    const server = await nats.start();
    const { sub, logs } = await watched(server, ['h.#', 'hh.*'], ['h', 'h.>', 'hh.*']);
    const plc = await natsClient(server);
    // NATS delivers a wildcard-looking subject published as is to subscriptions it matches.
    for (const subject of ['h.*', 'h.#', 'h.+', 'hh.*', 'h.c\u0001d', 'h.del\u007fx', 'hh.>', 'h.ok']) plc.publish(subject, JSON.stringify(subject));
    plc.publish('h.fence', '1');
    await plc.flush();
    await sub.waitDelivery('h.fence');
    expect(topicsOf(sub)).toEqual(['h.ok', 'h.fence']);

    const notImported = logs.filter((l) => l.msg.includes('not a valid topic here'));
    const warned = notImported.filter((l) => l.level === 'warning');
    expect(warned.map((l) => [l.reason, l.subject])).toEqual([
      ['topic contains a wildcard (*, + or #)', 'h.*'],
      ['topic contains a control character', 'h.c\\u0001d'],
      ['a ">" level (a NATS wildcard)', 'hh.>'],
    ]);
    // The other wildcards and DEL (a control character too) only at debug.
    expect(notImported.filter((l) => l.level === 'debug').map((l) => l.subject)).toEqual(['h.#', 'h.+', 'hh.*', 'h.del\\u007fx']);
  });

  it("headers that are not what our brokers send are replaced by the broker's own values (time of import, QoS 0, sender nats), each warned about once", async () => {
    const server = await nats.start();
    const { sub, logs } = await watched(server, ['h.#'], ['h', 'h.>']);
    const plc = await natsClient(server);
    const hdr = (fields: Record<string, string>): ReturnType<typeof headers> => {
      const h = headers();
      for (const [k, v] of Object.entries(fields)) h.set(k, v);
      return h;
    };
    const before = Date.now();
    plc.publish('h.bad', '10', { headers: hdr({ 'Ahk-Time': 'not-a-time', 'Ahk-Qos': '7', 'Ahk-Sender': '', 'Ahk-Id': 'plc-msg-1' }) });
    plc.publish('h.bad2', '11', { headers: hdr({ 'Ahk-Time': '2024-02-30T10:30:00.000+00:00', 'Ahk-Sender': 'broker', 'Ahk-Id': 'x'.repeat(129) }) });
    // Valid ISO 8601 in another spelling: respelled as the contract's timestamps are.
    plc.publish('h.good', '12', { headers: hdr({ 'Ahk-Time': '2024-01-15T11:30:00+01:00', 'Ahk-Qos': '1', 'Ahk-Sender': 'plc-7', 'Ahk-Id': 'plc-msg-3' }) });
    plc.publish('h.fence', '1');
    await plc.flush();
    await sub.waitDelivery('h.fence');
    const after = Date.now();

    const [bad, bad2, good] = ['h.bad', 'h.bad2', 'h.good'].map((t) => sub.deliveries(t)[0] as Frame);
    expect(bad).toMatchObject({ payload: 10, sender: 'nats', qos: 0, message_id: 'plc-msg-1' });
    expect(bad2).toMatchObject({ payload: 11, sender: 'nats', qos: 0 });
    expect(bad2.message_id).not.toBe('x'.repeat(129));
    for (const d of [bad, bad2]) {
      expect(d.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
      const t = Date.parse(d.timestamp as string);
      expect(t >= before - 1 && t <= after + 1, `${d.timestamp as string} is the time of import`).toBe(true);
    }
    expect(good).toMatchObject({ payload: 12, sender: 'plc-7', qos: 1, message_id: 'plc-msg-3', timestamp: '2024-01-15T10:30:00.000+00:00' });

    const warned = logs.filter((l) => l.level === 'warning' && l.msg.includes('header is not valid'));
    expect(warned.map((l) => [l.header, l.value])).toEqual([
      ['Ahk-Sender', ''],
      ['Ahk-Qos', '7'],
      ['Ahk-Time', 'not-a-time'],
      ['Ahk-Id', 'x'.repeat(129)],
    ]);
  });
});
