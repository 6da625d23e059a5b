/**
 * No throw inside the broker ends the process or the connection: a failure injected into
 * each step a bug could break (through the broker's `faults` seam, no mocks) answers
 * -32603 for that call only, is logged with context, and the broker keeps serving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MessageBroker } from '../../src/broker/index.js';
import type { FaultPoint } from '../../src/broker/faults.js';
import { Logger } from '../../src/log/logger.js';
import { roundTrip, subscribe } from '../helpers/test-bed.js';
import { RawClient, type Frame } from '../helpers/raw-client.js';

interface Rig {
  port: number;
  logs: string[];
  /** Make the next `times` passes through `point` throw. */
  failNext(point: FaultPoint, times?: number): void;
  client(id: string): Promise<RawClient>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function rig(): Promise<Rig> {
  const armed = new Map<FaultPoint, number>();
  const logs: string[] = [];
  const logger = new Logger({ level: 'error', component: 'broker', sink: { write: (line: string) => logs.push(line) } });
  const broker = new MessageBroker(
    { host: '127.0.0.1', port: 0 },
    {
      logger,
      faults: (point) => {
        const left = armed.get(point) ?? 0;
        if (left === 0) return;
        armed.set(point, left - 1);
        throw new Error(`injected fault at ${point}`);
      },
    },
  );
  await broker.start();
  cleanups.push(() => broker.stop());
  return {
    port: broker.port,
    logs,
    failNext: (point, times = 1) => armed.set(point, times),
    async client(id) {
      const c = await RawClient.connected(broker.port, id);
      cleanups.push(() => c.close());
      return c;
    },
  };
}

const internal = (id: unknown) => ({ jsonrpc: '2.0', id, error: { code: -32603, message: expect.stringContaining('Internal error') } });

describe('a failure injected into', () => {
  it('dispatch: that call gets -32603 with its id and the next call on the same socket works', async () => {
    const r = await rig();
    const c = await r.client('c');
    r.failNext('dispatch');
    expect(await c.call('ping')).toEqual(internal(2));
    await roundTrip(c);
    expect(r.logs.join('')).toMatch(/ERROR .*internal error in method handler method=ping client_id=c .*injected fault at dispatch/);
  });

  it('encoding a batch answer: only the failed item becomes -32603; the others are answered', async () => {
    const r = await rig();
    const c = await r.client('c');
    r.failNext('encode');
    c.send([
      { jsonrpc: '2.0', method: 'ping', id: 'a' },
      { jsonrpc: '2.0', method: 'ping', id: 'b' },
      { jsonrpc: '2.0', method: 'subscriptions', id: 'c' },
    ]);
    const answer: Frame[] = await c.waitFor(Array.isArray);
    expect(answer[0]).toEqual(internal('a'));
    expect(answer[1].result.pong).toBe(true);
    expect(answer[2].result.client_id).toBe('c');
    expect(r.logs.join('')).toMatch(/ERROR .*response could not be serialised .*id=a/);
  });

  it('encoding a single answer: -32603 with its id', async () => {
    const r = await rig();
    const c = await r.client('c');
    r.failNext('encode');
    expect(await c.call('status')).toEqual(internal(2));
    await roundTrip(c);
  });

  it('a request follow-up: the requester gets -32603, the responder its accepted reply, and requests keep working', async () => {
    const r = await rig();
    const responder = await r.client('responder');
    await subscribe(responder, 'svc.x');
    const requester = await r.client('requester');
    r.failNext('request-follow-up');
    const first = requester.call('request', { topic: 'svc.x', payload: 1, timeout: 5 });
    const req = await responder.waitDelivery('svc.x');
    expect((await responder.call('reply', { reply_to: req.reply_to, result: 'one' })).result).toEqual({ accepted: true });
    expect(await first).toEqual(internal(2));
    // Inside a batch too, beside a call that succeeds.
    r.failNext('request-follow-up');
    requester.send([
      { jsonrpc: '2.0', method: 'request', params: { topic: 'svc.x', payload: 2, timeout: 5 }, id: 'r' },
      { jsonrpc: '2.0', method: 'ping', id: 'p' },
    ]);
    const req2 = await responder.waitDelivery('svc.x', (p) => p.payload === 2);
    await responder.call('reply', { reply_to: req2.reply_to, result: 'two' });
    const answer: Frame[] = await requester.waitFor(Array.isArray);
    expect(answer[0]).toEqual(internal('r'));
    expect(answer[1].result.pong).toBe(true);
    const third = requester.call('request', { topic: 'svc.x', payload: 3, timeout: 5 });
    const req3 = await responder.waitDelivery('svc.x', (p) => p.payload === 3);
    await responder.call('reply', { reply_to: req3.reply_to, result: 'three' });
    expect((await third).result).toBe('three');
    expect(r.logs.join('')).toMatch(/ERROR .*method=request client_id=requester .*injected fault at request-follow-up/);
  });

  it('retained replay: the failing message is skipped and logged, the others arrive, later replays are whole', async () => {
    const r = await rig();
    const pub = await r.client('pub');
    await pub.call('publish', { topic: 'r.a', payload: 'A', retain: true });
    await pub.call('publish', { topic: 'r.b', payload: 'B', retain: true });
    const sub = await r.client('sub');
    r.failNext('retained-replay');
    await subscribe(sub, 'r.#');
    await roundTrip(sub);
    const got = sub.deliveries().map((d) => d.payload);
    expect(got).toHaveLength(1);
    expect(['A', 'B']).toContain(got[0]);
    expect(r.logs.join('')).toMatch(/ERROR .*retained message could not be delivered; skipped client_id=sub topic=r\.[ab]/);
    const late = await r.client('late');
    await subscribe(late, 'r.#');
    await roundTrip(late);
    expect(late.deliveries().map((d) => d.payload).sort()).toEqual(['A', 'B']);
  });

  it('status: the status call and a request on topic "status" get -32603; everything else keeps working', async () => {
    const r = await rig();
    const c = await r.client('c');
    r.failNext('status', 2);
    expect(await c.call('status')).toEqual(internal(2));
    expect(await c.call('request', { topic: 'status' })).toEqual(internal(3));
    await roundTrip(c);
    expect((await c.call('status')).result.client_count).toBe(1);
  });
});
