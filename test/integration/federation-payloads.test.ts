/**
 * Payloads across the federation, through a real nats-server and a real Mosquitto: they
 * arrive as the bytes their publisher sent (a broker of ours, or a foreign client on the
 * engine), and what a foreign client sends that the broker would not take as JSON (too
 * deep, not JSON) arrives as its text, a string, without hurting the link or the broker.
 *
 * Brokers run in this process: a throw that escaped an engine client's callback would
 * end the test worker, and a NATS subscription's reader that died would stop the message
 * sent last in each test from arriving.
 */
import { connect as natsConnect, type NatsConnection as NatsClient } from '@nats-io/transport-node';
import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerConfig, FederationStatus } from '../../src/broker/index.js';
import { parseFederationSetting } from '../../src/broker/federation/federation-setting.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { captureBodies, payloadBytes } from '../helpers/frame-bytes.js';
import { NO_MOSQUITTO, useMosquitto } from '../helpers/mosquitto.js';
import { useNatsServers } from '../helpers/nats-server.js';
import type { RawClient } from '../helpers/raw-client.js';
import { subscribe, useTestBed } from '../helpers/test-bed.js';

// Registered first, so their cleanup runs last: the brokers leave the servers before they go.
const nats = useNatsServers();
const mosquittos = useMosquitto();
const bed = useTestBed();

const natsClients: NatsClient[] = [];
const mqttClients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(natsClients.splice(0).map((nc) => nc.close()));
  await Promise.all(mqttClients.splice(0).map((c) => c.endAsync(true)));
});

const WAIT = { timeout: 15_000, interval: 50 };

/**
 * Payload texts whose spelling a parse and a serialisation would change: `1e400` would
 * become null (and a retained one would clear its topic), `-0` 0, `1.0` 1, the integer a
 * rounded one; escapes and the whitespace inside are the publisher's too.
 */
const SPELLED = ['1e400', '-0', '1.0', '12345678901234567890', '[1E+5, -1E-7, 0.50]', '{ "n" : 1.0e5 ,\n\t"s":"caf\\u00e9 \\ud83d\\ude00" }', '"日本 😀"'];

/** `depth` arrays inside one another. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

async function federationOf(c: RawClient): Promise<FederationStatus> {
  const res = await c.call('status');
  expect(res.error).toBeUndefined();
  return res.result.federation as FederationStatus;
}

/** Until the broker `c` is on is up and the upstream has acknowledged its subscription to `pattern`. */
async function waitSubscribed(c: RawClient, pattern: string): Promise<void> {
  await expect
    .poll(async () => {
      const f = await federationOf(c);
      return f.state === 'up' && f.subscribed.includes(pattern);
    }, WAIT)
    .toBe(true);
}

/** A raw client on `port` that keeps the bytes of every frame it is sent, subscribed to `pattern`. */
async function byteWatcher(port: number, pattern: string): Promise<{ c: RawClient; bodies: Buffer[] }> {
  const c = await bed.open(port);
  const bodies = captureBodies(c);
  const res = await c.call('connect', { client_id: 'byte-watcher', client_type: 'test', version: '1' });
  expect(res.error).toBeUndefined();
  await subscribe(c, pattern);
  return { c, bodies };
}

/** The payload bytes of the delivery on `topic` among `bodies`, as text. */
function deliveredText(bodies: Buffer[], topic: string, length: number): string {
  const head = `{"jsonrpc":"2.0","method":"message","params":{"topic":${JSON.stringify(topic)},`;
  const frame = bodies.find((b) => b.subarray(0, head.length).toString() === head);
  expect(frame, `a delivery on ${topic}`).toBeDefined();
  return payloadBytes(frame!, topic, length).toString();
}

/** Publish each of `texts` from a raw client on `port` as written, on `prefix`.0, .1, ... */
async function publishSpelled(port: number, prefix: string, texts: readonly string[]): Promise<void> {
  const pub = await bed.connected(port, 'spelling-pub');
  for (const [i, text] of texts.entries()) {
    const answer = pub.waitFor((f) => f.id === 100 + i, 5000, `answer ${100 + i}`);
    pub.writeRaw(encodeFrame(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"${prefix}.${i}","payload":${text},"qos":1},"id":${100 + i}}`));
    expect((await answer).error, text).toBeUndefined();
  }
}

/** A plain MQTT 5 client named `plc` on the server at `url`, connected, closed after the test. */
async function plainMqtt(url: string): Promise<MqttClient> {
  const client = mqttConnect(url, { protocolVersion: 5, clientId: 'plc', reconnectPeriod: 0 });
  mqttClients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

function engines(): { name: string; skip: boolean; start: () => Promise<Engine> }[] {
  return [
    {
      name: 'NATS',
      skip: false,
      start: async () => {
        const server = await nats.start();
        return {
          federation: { federation: parseFederationSetting({ upstream: server.url }, 'test') },
          foreign: async () => {
            const nc = await natsConnect({ servers: `127.0.0.1:${server.port}`, name: 'plc' });
            natsClients.push(nc);
            return {
              publish: async (topic, data) => {
                nc.publish(topic, data);
                await nc.flush();
              },
            };
          },
        };
      },
    },
    {
      name: 'MQTT (Mosquitto)',
      skip: NO_MOSQUITTO,
      start: async () => {
        const m = await mosquittos.start();
        return {
          federation: { federation: parseFederationSetting({ upstream: m.url }, 'test') },
          foreign: async () => {
            const client = await plainMqtt(m.url);
            return {
              publish: async (topic, data, retain = false) => {
                await client.publishAsync(topic.replaceAll('.', '/'), Buffer.from(data), { qos: 1, retain });
              },
            };
          },
        };
      },
    },
  ];
}

interface Engine {
  /** Broker settings that join it to this engine. */
  federation: Partial<BrokerConfig>;
  /** A client of the engine that is not one of our brokers (a PLC, a `nats pub`). */
  foreign(): Promise<{ publish(topic: string, data: Uint8Array | string, retain?: boolean): Promise<void> }>;
}

for (const engine of engines()) {
  describe.skipIf(engine.skip)(`payloads across the federation through ${engine.name}`, () => {
    it('arrive as the bytes their publisher sent: 1e400, -0, 1.0, big integers, escapes and inner whitespace kept', async () => {
      const e = await engine.start();
      const a = await bed.broker(e.federation);
      const b = await bed.broker(e.federation);
      const { c: watch, bodies } = await byteWatcher(b.port, 'spelled.#');
      await waitSubscribed(watch, 'spelled.#');
      await expect.poll(async () => (await federationOf(await bed.connected(a.port, 'a-status'))).state, WAIT).toBe('up');

      await publishSpelled(a.port, 'spelled', SPELLED);
      await watch.waitDeliveries(SPELLED.length, undefined, WAIT.timeout);
      expect(SPELLED.map((text, i) => deliveredText(bodies, `spelled.${i}`, Buffer.byteLength(text)))).toEqual(SPELLED);
    });

    it("a foreign client's JSON keeps its spelling; JSON too deep to take arrives as its text; the link goes on importing", async () => {
      const e = await engine.start();
      const b = await bed.broker(e.federation);
      const { c: watch, bodies } = await byteWatcher(b.port, 'plc.#');
      await waitSubscribed(watch, 'plc.#');
      const plc = await e.foreign();

      const spelled = '{"t" : 1e400, "big":12345678901234567890}';
      await plc.publish('plc.spelled', ` ${spelled}\n`);
      // A payload sits two levels inside its frame: 62 levels of its own are the most.
      await plc.publish('plc.deepest', nested(62));
      await plc.publish('plc.deeper', nested(63));
      // Parsed, this could not be serialised again: every delivery of it threw.
      await plc.publish('plc.deep', nested(100_000));
      await plc.publish('plc.last', '"still importing"');
      const last = await watch.waitDelivery('plc.last', () => true, WAIT.timeout);
      expect(last.payload).toBe('still importing');

      expect(deliveredText(bodies, 'plc.spelled', spelled.length)).toBe(spelled);
      const payloadOf = (topic: string): unknown => watch.deliveries(topic)[0]?.payload;
      expect(JSON.stringify(payloadOf('plc.deepest'))).toBe(nested(62));
      expect(payloadOf('plc.deeper')).toBe(nested(63));
      expect(payloadOf('plc.deep')).toBe(nested(100_000));
      expect(watch.deliveries().map((d: { topic: string }) => d.topic)).toEqual(['plc.spelled', 'plc.deepest', 'plc.deeper', 'plc.deep', 'plc.last']);
    });

    it('a retained clear crosses: null and "" on A clear what B kept, and what B still keeps is untouched', async () => {
      const e = await engine.start();
      const a = await bed.broker(e.federation);
      const b = await bed.broker(e.federation);
      const live = await bed.connected(b.port, 'live');
      await subscribe(live, 'kept.#');
      await waitSubscribed(live, 'kept.#');
      const pub = await bed.connected(a.port, 'pub');
      await expect.poll(async () => (await federationOf(pub)).state, WAIT).toBe('up');
      const retain = async (topic: string, payload: unknown): Promise<void> => {
        expect((await pub.call('publish', { topic, payload, retain: true, qos: 1 })).error).toBeUndefined();
      };
      await retain('kept.a', 1);
      await retain('kept.b', 2);
      await retain('kept.c', 3);
      await live.waitDeliveries(3, undefined, WAIT.timeout);
      await retain('kept.a', null);
      await retain('kept.c', '');
      await live.waitDeliveries(5, undefined, WAIT.timeout);

      const later = await bed.connected(b.port, 'later');
      const res = await later.call('subscribe', { patterns: ['kept.#'] });
      expect(res.error).toBeUndefined();
      // Retained messages follow the subscribe's answer at once; a marker published after
      // them on B itself shows that nothing else is coming.
      await (await bed.connected(b.port, 'marker')).call('publish', { topic: 'kept.marker', payload: 0 });
      await later.waitDelivery('kept.marker', () => true, WAIT.timeout);
      expect(later.deliveries().map((d: { topic: string; payload: unknown; retained?: boolean }) => [d.topic, d.payload, d.retained === true])).toEqual([
        ['kept.b', 2, true],
        ['kept.marker', 0, false],
      ]);
    });

    it('bytes that are not UTF-8 are read with U+FFFD in their place, JSON all the same; plain text is a string; an empty body null', async () => {
      const e = await engine.start();
      const b = await bed.broker(e.federation);
      const watch = await bed.connected(b.port, 'watch');
      await subscribe(watch, 'plc.#');
      await waitSubscribed(watch, 'plc.#');
      const plc = await e.foreign();

      await plc.publish('plc.latin1', Buffer.concat([Buffer.from('{"name":"M'), Buffer.from([0xfc]), Buffer.from('ller"}')]));
      await plc.publish('plc.text', 'not json at all');
      await plc.publish('plc.empty', '');
      const got = await watch.waitDeliveries(3, undefined, WAIT.timeout);
      expect(got.map((d: { topic: string; payload: unknown }) => [d.topic, d.payload])).toEqual([
        ['plc.latin1', { name: 'M\ufffdller' }],
        ['plc.text', 'not json at all'],
        ['plc.empty', null],
      ]);
    });
  });
}

describe.skipIf(NO_MOSQUITTO)('a retained payload too deep to take, waiting on the MQTT server', () => {
  it('reaches a broker that subscribes later as its text, at every start of that broker', async () => {
    const m = await mosquittos.start();
    const plcClient = await plainMqtt(m.url);
    await plcClient.publishAsync('plc/deep', nested(50_000), { qos: 1, retain: true });

    for (const round of [1, 2]) {
      const b = await bed.broker({ federation: parseFederationSetting({ upstream: m.url }, 'test') });
      const watch = await bed.connected(b.port, `watch-${round}`);
      await subscribe(watch, 'plc.#');
      const d = await watch.waitDelivery('plc.deep', () => true, WAIT.timeout);
      expect(d.payload).toBe(nested(50_000));
    }
  });
});
