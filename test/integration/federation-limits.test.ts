/**
 * Federation at the upstream's limits, with real servers: a message larger than the NATS
 * server's `max_payload` or the MQTT server's maximum packet size is not exported (one
 * WARNING, counted as dropped) and holds nothing up; a message from upstream larger than
 * this broker's `max_message_size` is not imported; a frozen NATS server does not hold up
 * the broker's stop; the MQTT link redials with growing delays.
 */
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connect as natsConnect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFederationSetting } from '../../src/broker/federation/federation-setting.js';
import { Logger } from '../../src/log/logger.js';
import type { FederationStatus } from '../../src/broker/federation/federation.js';
import { NO_MOSQUITTO, useMosquitto } from '../helpers/mosquitto.js';
import { useNatsServers, type NatsServer } from '../helpers/nats-server.js';
import type { RawClient } from '../helpers/raw-client.js';
import { loggedBroker, useTestBed, type LogLine } from '../helpers/test-bed.js';

// Registered first, so their cleanup runs last: the brokers leave the servers before they go.
const nats = useNatsServers();
const mosquittos = useMosquitto();
const bed = useTestBed();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const WAIT = { timeout: 15_000, interval: 20 };

async function federationOf(c: RawClient): Promise<FederationStatus> {
  return (await c.call('status')).result.federation as FederationStatus;
}

/** Two brokers on one upstream, each with a client: `b`'s subscribed to `pattern` once that is upstream. */
async function pair(upstream: string, pattern: string, brokerB: { max_message_size?: number } = {}): Promise<{ a: RawClient; b: RawClient; logsA: LogLine[]; logsB: LogLine[] }> {
  const A = await loggedBroker(bed, { federation: parseFederationSetting({ upstream }, 'test') });
  const B = await loggedBroker(bed, { federation: parseFederationSetting({ upstream }, 'test'), ...brokerB });
  const a = await bed.connected(A.port, 'pub-a');
  const b = await bed.connected(B.port, 'sub-b');
  await b.call('subscribe', { patterns: [pattern] });
  await expect.poll(async () => (await federationOf(a)).state, WAIT).toBe('up');
  await expect.poll(async () => (await federationOf(b)).subscribed, WAIT).toEqual([pattern]);
  return { a, b, logsA: A.logs, logsB: B.logs };
}

const warnings = (logs: LogLine[]): Array<[string, unknown]> => logs.filter((l) => l.level === 'warning').map((l) => [l.msg, l.topic]);

/** Publish small, too large (QoS 1 and 0) and small again from `a`; `b` must get both small ones, in order. */
async function bigBetweenSmall(a: RawClient, b: RawClient, big: string): Promise<void> {
  for (const [payload, qos] of [[1, 1], [big, 1], [big, 0], [2, 1]] as const) {
    const res = await a.call('publish', { topic: 'lim.x', payload, qos });
    expect(res.error).toBeUndefined();
  }
  await b.waitDeliveries(2, 'lim.x');
  expect(b.deliveries('lim.x').map((d) => d.payload)).toEqual([1, 2]);
  await expect.poll(async () => (await federationOf(a)).queued, WAIT).toBe(0);
}

describe('an export larger than the upstream takes', () => {
  it("NATS: over the server's max_payload, not sent: a WARNING, counted as dropped, the exports after it flow", async () => {
    const dir = bed.tempDir('nats-limits-');
    const conf = path.join(dir, 'nats.conf');
    writeFileSync(conf, 'max_payload: 2048\n');
    const server = await nats.start({ args: ['-c', conf] });
    const { a, b, logsA } = await pair(server.url, 'lim.*');
    await bigBetweenSmall(a, b, 'x'.repeat(3000));
    expect((await federationOf(a)).dropped).toBe(2);
    expect(warnings(logsA).filter(([msg]) => String(msg).includes('max_payload'))).toEqual([
      ["federation: message larger than the NATS server's max_payload; not exported", 'lim.x'],
    ]);
    expect(logsA.find((l) => String(l.msg).includes('max_payload'))).toMatchObject({ max_payload: 2048, bytes: expect.any(Number) });
  });

  it.skipIf(NO_MOSQUITTO)("MQTT: over the server's maximum packet size, not sent: a WARNING, counted as dropped, the link stays up and the exports after it flow", async () => {
    const m = await mosquittos.start({ maxPacketSize: 2048 });
    const { a, b, logsA } = await pair(m.url, 'lim.*');
    await bigBetweenSmall(a, b, 'x'.repeat(3000));
    const status = await federationOf(a);
    expect(status).toMatchObject({ state: 'up', dropped: 2 });
    expect(warnings(logsA)).toEqual([["federation: message larger than the MQTT server's maximum packet size; not exported", 'lim.x']]);
    // Never cut off by the server: no outage on either side.
    expect(logsA.filter((l) => String(l.msg).includes('federation down'))).toEqual([]);
    expect(m.output).not.toContain('oversize');
  });

  it.skipIf(NO_MOSQUITTO)('MQTT: a message just under the limit is sent (the size is counted as the server counts it)', async () => {
    const m = await mosquittos.start({ maxPacketSize: 2048 });
    const { a, b, logsA } = await pair(m.url, 'lim.*');
    // Grown a byte at a time until the link refuses: the last one it sent arrived whole.
    let sent = 0;
    for (let n = 1700; n < 2100; n++) {
      await a.call('publish', { topic: 'lim.x', payload: 'y'.repeat(n), qos: 1 });
      await expect.poll(async () => (await federationOf(a)).queued, WAIT).toBe(0);
      if ((await federationOf(a)).dropped > 0) break;
      sent = n;
    }
    expect(sent).toBeGreaterThan(1700);
    await b.waitDeliveries(sent - 1700 + 1, 'lim.x');
    expect(b.deliveries('lim.x').at(-1)!.payload).toHaveLength(sent);
    expect(m.output).not.toContain('oversize');
    expect(warnings(logsA)).toHaveLength(1);
  });
});

describe('a request larger than the upstream takes', () => {
  it.skipIf(NO_MOSQUITTO)("MQTT: over the server's maximum packet size, the requester hears so at once (-32600); the link stays up", async () => {
    const m = await mosquittos.start({ maxPacketSize: 2048 });
    const { port, logs } = await loggedBroker(bed, { federation: parseFederationSetting({ upstream: m.url }, 'test') });
    const app = await bed.connected(port, 'app');
    await expect.poll(async () => (await federationOf(app)).state, WAIT).toBe('up');
    const res = await app.call('request', { topic: 'svc.big', payload: 'x'.repeat(3000), timeout: 10 });
    expect(res.error).toMatchObject({ code: -32600, message: expect.stringContaining("larger than the MQTT server's maximum packet size (2048)") });
    // A small one after it still crosses (and times out: nobody answers it upstream).
    const small = await app.call('request', { topic: 'svc.small', payload: 1, timeout: 0.5 });
    expect(small.error?.code).toBe(-32002);
    expect((await federationOf(app)).state).toBe('up');
    expect(logs.filter((l) => String(l.msg).startsWith('federation down'))).toEqual([]);
    expect(m.output).not.toContain('oversize');
  });
});

describe('an import larger than max_message_size', () => {
  it('is not imported, with a WARNING; the next one is', async () => {
    const server = await nats.start();
    const { b, logsB } = await pair(server.url, 'big.*', { max_message_size: 4096 });
    const foreign = await natsConnect({ servers: `127.0.0.1:${server.port}`, name: 'test foreign' });
    cleanups.push(() => foreign.close());
    foreign.publish('big.huge', JSON.stringify('z'.repeat(5000)));
    foreign.publish('big.text', 'plain text '.repeat(500));
    foreign.publish('big.small', '"ok"');
    await foreign.flush();
    await b.waitDelivery('big.small');
    expect(b.deliveries().map((d) => d.topic).filter((t) => t.startsWith('big.'))).toEqual(['big.small']);
    const warned = logsB.filter((l) => l.level === 'warning' && String(l.msg).includes('max_message_size'));
    // One WARNING a minute: the second is at debug.
    expect(warned).toEqual([expect.objectContaining({ msg: 'federation: a message from upstream is larger than max_message_size; not imported', topic: 'big.huge', max_message_size: 4096 })]);
  });
});

describe('stopping while the upstream does not answer', () => {
  it('NATS: a frozen server holds the stop up for at most a few seconds, with a WARNING', async () => {
    const server: NatsServer = await nats.start();
    const logs: LogLine[] = [];
    const logger = new Logger({ level: 'debug', format: 'json', component: 'broker', sink: { write: (l) => logs.push(JSON.parse(l) as LogLine) } });
    const broker = await bed.broker({ federation: parseFederationSetting({ upstream: server.url }, 'test') }, { logger });
    const c = await bed.connected(broker.port, 'sub');
    await c.call('subscribe', { patterns: ['frozen.*'] });
    await expect.poll(async () => (await federationOf(c)).subscribed, WAIT).toEqual(['frozen.*']);
    process.kill(server.pid!, 'SIGSTOP');
    cleanups.push(() => void process.kill(server.pid!, 'SIGCONT'));
    // Stopped once the kernel says so (state T), not when kill() returns.
    await expect.poll(() => readFileSync(`/proc/${server.pid!}/stat`, 'utf8').split(') ')[1]![0], WAIT).toBe('T');
    const started = Date.now();
    await broker.stop();
    // Draining waits 2 s at most; a stuck drain took 35-90 s.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(logs.filter((l) => l.level !== 'info').map((l) => l.msg), JSON.stringify(logs.slice(-8))).toContain('federation: the NATS server did not take our last messages in time; closing without them');
  });
});

describe('redialling', () => {
  it('MQTT pointed at a server that is not MQTT (NATS): the WARNING asks whether it is one', async () => {
    const server = await nats.start();
    const { logs } = await loggedBroker(bed, { federation: parseFederationSetting({ upstream: `mqtt://127.0.0.1:${server.port}` }, 'test') });
    await expect.poll(() => logs.find((l) => l.level === 'warning' && String(l.msg).startsWith('federation down')), WAIT).toBeDefined();
    const down = logs.find((l) => l.level === 'warning' && String(l.msg).startsWith('federation down'))!;
    expect(down.reason).toMatch(new RegExp(`\\(is 127\\.0\\.0\\.1:${server.port} an MQTT 5 server\\?\\)$`));
  });

  it('MQTT: an upstream that closes every connection is dialled with growing delays', async () => {
    // A listener that is no MQTT server: it closes each connection at once.
    const dials: number[] = [];
    const listener = net.createServer((socket) => {
      dials.push(Date.now());
      socket.destroy();
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => listener.close(() => resolve())));
    const { port } = listener.address() as net.AddressInfo;
    await loggedBroker(bed, { federation: parseFederationSetting({ upstream: `mqtt://127.0.0.1:${port}` }, 'test') });
    await expect.poll(() => dials.length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(5);
    const gaps = dials.slice(1).map((t, i) => t - dials[i]!);
    // 0.5, 1, 2, 4 s (each a step later than its failure): fixed at 0.5 s, the fourth gap
    // would be 0.5 s too.
    expect(gaps[3]).toBeGreaterThanOrEqual(1500);
    expect(gaps[3]).toBeGreaterThan(gaps[0]! * 2);
  });
});
