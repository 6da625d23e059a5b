/**
 * A message's ttl across the federation, through a real nats-server and a real Mosquitto:
 * the other broker keeps what is left of it, so a message is never delivered late there
 * either (to a session that was away, or as a retained message), and one that still has
 * time is delivered.
 *
 * The tests wait for the ttl itself to run out: the condition is the time, polled.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerConfig, FederationStatus } from '../../src/broker/index.js';
import { parseFederationSetting } from '../../src/broker/federation/federation-setting.js';
import { NO_MOSQUITTO, useMosquitto } from '../helpers/mosquitto.js';
import { useNatsServers } from '../helpers/nats-server.js';
import type { RawClient } from '../helpers/raw-client.js';
import { subscribe, useTestBed } from '../helpers/test-bed.js';

// Registered first, so their cleanup runs last: the brokers leave the servers before they go.
const nats = useNatsServers();
const mosquittos = useMosquitto();
const bed = useTestBed();

const WAIT = { timeout: 15_000, interval: 50 };

async function federationOf(c: RawClient): Promise<FederationStatus> {
  const res = await c.call('status');
  expect(res.error).toBeUndefined();
  return res.result.federation as FederationStatus;
}

/** Until `ms` (performance.now() time) has passed. */
async function until(ms: number): Promise<void> {
  await expect.poll(() => performance.now() >= ms, { timeout: 10_000, interval: 50 }).toBe(true);
}

const engines: { name: string; skip: boolean; upstream: () => Promise<string> }[] = [
  { name: 'NATS', skip: false, upstream: async () => (await nats.start()).url },
  { name: 'MQTT (Mosquitto)', skip: NO_MOSQUITTO, upstream: async () => (await mosquittos.start()).url },
];

for (const engine of engines) {
  describe.skipIf(engine.skip)(`ttl across the federation through ${engine.name}`, () => {
    it('what is left of a ttl holds on the other broker: a session that was away and a later subscriber get what has time left, nothing that ran out', async () => {
      const upstream = await engine.upstream();
      const fed: Partial<BrokerConfig> = { federation: parseFederationSetting({ upstream }, 'test') };
      const a = await bed.broker(fed);
      const b = await bed.broker(fed);
      // A session on B that goes away: QoS 1 messages wait for it there.
      const away = await bed.connected(b.port, 'away', { clean_session: false });
      await subscribe(away, 'ttl.#');
      const bWatch = await bed.connected(b.port, 'b-watch');
      await subscribe(bWatch, 'ttl.#');
      await expect.poll(async () => (await federationOf(bWatch)).subscribed.includes('ttl.#'), WAIT).toBe(true);
      away.close();
      await expect.poll(async () => ((await bWatch.call('status')).result.clients as { client_id: string; connected: boolean }[]).find((c) => c.client_id === 'away')?.connected, WAIT).toBe(false);
      const pub = await bed.connected(a.port, 'pub');
      await expect.poll(async () => (await federationOf(pub)).state, WAIT).toBe('up');

      const sentAt = performance.now();
      const publish = async (topic: string, payload: unknown, extra: Record<string, unknown>): Promise<void> => {
        expect((await pub.call('publish', { topic, payload, qos: 1, ...extra })).error).toBeUndefined();
      };
      await publish('ttl.short', 'short', { ttl: 1 });
      await publish('ttl.kept', 'kept', { ttl: 60 });
      await publish('ttl.retained', 'short retained', { ttl: 1, retain: true });
      await publish('ttl.forever', 'forever', {});
      // Each crossed (B's live subscriber saw it): B holds them for the session and its store.
      await bWatch.waitDeliveries(4, undefined, WAIT.timeout);
      await until(sentAt + 1500);

      const back = await bed.connected(b.port, 'away', { clean_session: false });
      const later = await bed.connected(b.port, 'later');
      await subscribe(later, 'ttl.#');
      // Markers published on B after both are back: what comes before them is all there is.
      const marker = await bed.connected(b.port, 'marker');
      expect((await marker.call('publish', { topic: 'ttl.marker', payload: 0, qos: 1 })).error).toBeUndefined();
      await back.waitDelivery('ttl.marker', () => true, WAIT.timeout);
      await later.waitDelivery('ttl.marker', () => true, WAIT.timeout);
      expect(back.deliveries().map((d: { topic: string }) => d.topic)).toEqual(['ttl.kept', 'ttl.forever', 'ttl.marker']);
      expect(later.deliveries().map((d: { topic: string }) => d.topic)).toEqual(['ttl.marker']);
    });
  });
}
