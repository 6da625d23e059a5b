/**
 * BrokerLink in-process, against a real broker through a real TCP relay: what the bridge
 * publishes while its broker is unreachable is kept, in order, and published once the
 * link is back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerLink } from '../../bridge/broker-link.js';
import { silentLogger } from '../../src/log/logger.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';
import { TcpRelay } from '../helpers/tcp-relay.js';
import { ManualClock } from '../helpers/manual-clock.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('BrokerLink outbox', () => {
  it('keeps events published while the broker is unreachable and publishes them, in order, on reconnect', async () => {
    const broker: StartedBroker = await startBroker();
    cleanups.push(() => broker.stop());
    const relay = await TcpRelay.start(broker.port);
    cleanups.push(() => relay.close());
    const watcher = await RawClient.connected(broker.port, 'watcher');
    cleanups.push(() => watcher.close());
    await watcher.call('subscribe', { patterns: ['scripts.#'] });

    const link = new BrokerLink({ host: '127.0.0.1', port: relay.port, clientId: 'bridge', log: silentLogger() });
    cleanups.push(() => link.stop());
    expect(await link.start()).toBe('joined');
    link.publish('scripts.cad.started', { n: 0 });
    await watcher.waitDelivery('scripts.cad.started');

    // The line drops and stays down; the port stays taken, so the link cannot host.
    const lost = new Promise((resolve) => link.client.once('disconnected', resolve));
    relay.blackhole();
    await lost;
    for (let n = 1; n <= 5; n++) link.publish('scripts.cad.output', { n });
    const back = new Promise((resolve) => link.client.once('connected', resolve));
    relay.resume();
    await back;
    await watcher.waitDeliveries(5, 'scripts.cad.output', 10_000);
    expect(watcher.deliveries('scripts.cad.output').map((d: Frame) => d.payload.n)).toEqual([1, 2, 3, 4, 5]);
    expect(link.role).toBe('joined');
  });
});

describe('BrokerLink takeover', () => {
  it('hosts the broker itself after its jittered delay, on its clock, once the broker it joined is gone', async () => {
    const broker: StartedBroker = await startBroker();
    cleanups.push(() => broker.stop());
    const clock = new ManualClock();
    const link = new BrokerLink({ host: '127.0.0.1', port: broker.port, clientId: 'bridge', log: silentLogger(), clock });
    cleanups.push(() => link.stop());
    expect(await link.start()).toBe('joined');

    const lost = new Promise((resolve) => link.client.once('disconnected', resolve));
    await broker.stop();
    await lost;
    const [delay] = clock.pending();
    expect(clock.pending()).toHaveLength(1);
    expect(delay).toBeGreaterThanOrEqual(100);
    expect(delay).toBeLessThan(500);
    clock.advance(delay! - 1);
    expect(link.role).toBe('joined'); // not before its delay
    const hosting = new Promise((resolve) => link.once('role', resolve));
    clock.advance(1);
    expect(await hosting).toBe('hosting');
    expect(link.hostedBroker?.port).toBe(broker.port);
    await new Promise((resolve) => (link.client.isConnected ? resolve(undefined) : link.client.once('connected', resolve)));
    const watcher = await RawClient.connected(broker.port, 'watcher');
    cleanups.push(() => watcher.close());
    expect((await watcher.call('request', { topic: 'status', payload: null })).result).toMatchObject({ clients: expect.arrayContaining([expect.objectContaining({ client_id: 'bridge' })]) as unknown });
  });
});
