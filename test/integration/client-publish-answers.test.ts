/**
 * The client reads a batch of publish answers from the broker's bytes (publish-answers.ts):
 * the broker's real answers, in memory and journaled, must be what that reader takes, and
 * `publishBatch` must give every message its id as the subscriber sees it.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { readPublishAnswers } from '../../src/client/publish-answers.js';
import { encodeJsonFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { startBroker, type StartedBroker } from '../helpers/broker-fixture.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const brokers: StartedBroker[] = [];
const clients: BrokerClient[] = [];
const sockets: net.Socket[] = [];
const tempDir = useTempDirs();

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function broker(overrides: Parameters<typeof startBroker>[0] = {}): Promise<StartedBroker> {
  const b = await startBroker(overrides);
  brokers.push(b);
  return b;
}

async function connected(id: string, port: number): Promise<BrokerClient> {
  const c = new BrokerClient(id, { host: '127.0.0.1', port });
  clients.push(c);
  await c.connect();
  return c;
}

/** A raw connection that hands over each frame's body as bytes, for reading answers as they are sent. */
async function rawBodies(port: number): Promise<{ send(value: unknown): void; next(): Promise<Buffer> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const bodies: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  const decoder = new FrameDecoder(64 * 1024 * 1024);
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (body) => {
      const copy = Buffer.from(body);
      const waiter = waiters.shift();
      if (waiter) waiter(copy);
      else bodies.push(copy);
    }),
  );
  return {
    send: (value) => socket.write(encodeJsonFrame(value)),
    next: () => {
      const body = bodies.shift();
      return body ? Promise.resolve(body) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** `count` publish requests as one batch, ids from `firstId`. */
const publishBatchFrame = (count: number, firstId: number, qos: 0 | 1): unknown[] =>
  Array.from({ length: count }, (_, i) => ({ jsonrpc: '2.0', method: 'publish', params: { topic: 'answers.item', payload: { i }, qos }, id: firstId + i }));

describe('publish answers read from the broker bytes', () => {
  for (const journaled of [false, true]) {
    it(`the broker's answer to a batch of publishes is what the reader takes (${journaled ? 'journaled' : 'in memory'})`, async () => {
      const b = await broker(journaled ? { persistence_enabled: true, persistence_path: tempDir('answers-') } : {});
      const subs = [await connected('sub-1', b.port), await connected('sub-2', b.port)];
      for (const s of subs) await s.subscribe('answers.*', () => {});
      const raw = await rawBodies(b.port);
      raw.send({ jsonrpc: '2.0', method: 'connect', params: { client_id: 'raw-pub', client_type: 'test', version: '1' }, id: 1 });
      expect(JSON.parse((await raw.next()).toString('utf8'))).toMatchObject({ id: 1, result: { client_id: 'raw-pub' } });

      for (const qos of [0, 1] as const) {
        const firstId = 100 + qos * 1000;
        raw.send(publishBatchFrame(300, firstId, qos));
        const body = await raw.next();
        const parsed = JSON.parse(body.toString('utf8')) as { id: number; result: { message_id: string; delivered: number } }[];
        expect(parsed.map((r) => r.id)).toEqual(Array.from({ length: 300 }, (_, i) => firstId + i));
        expect(new Set(parsed.map((r) => r.result.delivered))).toEqual(new Set([2]));
        const answers = readPublishAnswers(body);
        expect(answers, 'the reader no longer takes what the broker writes').not.toBeNull();
        expect(answers!.ids).toEqual(parsed.map((r) => r.id));
        expect(answers!.results).toEqual(parsed.map((r) => r.result));
      }
    });
  }

  it('publishBatch gives every message the id its subscriber receives, in order, and fires published for each', async () => {
    const b = await broker();
    const sub = await connected('sub', b.port);
    const got: Message[] = [];
    let allArrived!: () => void;
    const all = new Promise<void>((resolve) => (allArrived = resolve));
    await sub.subscribe('answers.*', (m) => {
      got.push(m);
      if (got.length === 1500) allArrived();
    });
    const pub = await connected('pub', b.port);
    const published: string[] = [];
    pub.on('published', (id) => published.push(id));
    const items = Array.from({ length: 1500 }, (_, i) => ({ topic: 'answers.item', payload: { i }, qos: 1 as const }));
    const outcomes = await pub.publishBatch(items);
    await all;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const ids = outcomes.map((o) => (o.ok ? o.messageId : ''));
    expect(new Set(ids).size).toBe(1500);
    expect(published).toEqual(ids);
    expect(got.map((m) => m.messageId)).toEqual(ids);
    expect(got.map((m) => (m.payload as { i: number }).i)).toEqual(items.map((_, i) => i));
  });
});
