/**
 * A publisher's order across the federation, through a real nats-server and a real
 * Mosquitto: messages that mix QoS 0 and QoS 1 reach a subscriber on the other broker in
 * the order they were published. QoS 1 exports wait for the upstream's ack, one at a
 * time; a QoS 0 export must wait behind them rather than overtake them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig, FederationStatus } from '../../src/broker/index.js';
import { parseFederationSetting } from '../../src/broker/federation/federation-setting.js';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { NO_MOSQUITTO, useMosquitto } from '../helpers/mosquitto.js';
import { useNatsServers } from '../helpers/nats-server.js';
import type { RawClient } from '../helpers/raw-client.js';
import { useTestBed } from '../helpers/test-bed.js';

// Registered first, so their cleanup runs last: the brokers leave the servers before they go.
const nats = useNatsServers();
const mosquittos = useMosquitto();
const bed = useTestBed();

const clients: BrokerClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
});

const WAIT = { timeout: 20_000, interval: 50 };
const COUNT = 300;

async function federationOf(c: RawClient): Promise<FederationStatus> {
  const res = await c.call('status');
  expect(res.error).toBeUndefined();
  return res.result.federation as FederationStatus;
}

const engines: { name: string; skip: boolean; upstream: () => Promise<string> }[] = [
  { name: 'NATS', skip: false, upstream: async () => (await nats.start()).url },
  { name: 'MQTT (Mosquitto)', skip: NO_MOSQUITTO, upstream: async () => (await mosquittos.start()).url },
];

for (const engine of engines) {
  describe.skipIf(engine.skip)(`order across the federation through ${engine.name}`, () => {
    it(`${COUNT} messages of one publisher, QoS 0 and QoS 1 mixed, arrive on the other broker in publish order, each once`, async () => {
      const upstream = await engine.upstream();
      const fed: Partial<BrokerConfig> = { federation: parseFederationSetting({ upstream }, 'test') };
      const a = await bed.broker(fed);
      const b = await bed.broker(fed);
      const sub = new BrokerClient('sub-b', { host: '127.0.0.1', port: b.port, autoReconnect: false, heartbeatInterval: 0 });
      clients.push(sub);
      await sub.connect();
      const got: number[] = [];
      await sub.subscribe('mix.#', (m: Message) => void got.push((m.payload as { n: number }).n));
      const bWatch = await bed.connected(b.port, 'b-watch');
      await expect.poll(async () => (await federationOf(bWatch)).subscribed.includes('mix.#'), WAIT).toBe(true);
      const pub = await bed.connected(a.port, 'mixer');
      await expect.poll(async () => (await federationOf(pub)).state, WAIT).toBe('up');

      // Sent without waiting for each answer: the broker takes them as fast as they come.
      // Two QoS 0 after each QoS 1, so a QoS 0 that overtook would show.
      const answers = Array.from({ length: COUNT }, (_, i) => pub.call('publish', { topic: `mix.${i % 7}`, payload: { n: i }, qos: i % 3 === 0 ? 1 : 0 }));
      for (const res of await Promise.all(answers)) expect(res.error).toBeUndefined();
      await expect.poll(() => got.length, WAIT).toBeGreaterThanOrEqual(COUNT);
      expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => i));
      expect(await federationOf(pub)).toMatchObject({ exported: COUNT, queued: 0, dropped: 0 });
    });
  });
}
