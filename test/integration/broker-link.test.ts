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
