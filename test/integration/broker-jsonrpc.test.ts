import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/index.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';
import type { RawClient } from '../helpers/raw-client.js';

const broker = useBrokerPerTest();
const { open, connected } = broker;

/** Send raw JSON text and wait for the next frame (a response or error). */
async function exchange(c: RawClient, text: string): Promise<unknown> {
  const before = c.frames.length;
  c.writeRaw(encodeFrame(text));
  await c.waitFor(() => c.frames.length > before);
  return c.frames[before];
}

/** Prove nothing was answered: send a ping after it and check the ping's response comes first. */
async function expectNoResponseTo(c: RawClient, text: string): Promise<void> {
  const before = c.frames.length;
  c.writeRaw(encodeFrame(text));
  const pong = await c.call('ping');
  expect(pong.result.pong).toBe(true);
  expect(c.frames.slice(before).filter((f) => f !== pong && !f.method)).toEqual([]);
}

describe('JSON-RPC 2.0 (specification examples)', () => {
  it('rpc call with positional parameters', async () => {
    const c = await connected('a');
    const res = await exchange(c, '{"jsonrpc":"2.0","method":"subscribe","params":[["x.y"]],"id":1}');
    expect(res).toEqual({ jsonrpc: '2.0', result: { subscribed: ['x.y'] }, id: 1 });
  });

  it('echoes string ids', async () => {
    const c = await open();
    const res = await exchange(c, '{"jsonrpc":"2.0","method":"ping","id":"abc-1"}');
    expect(res).toMatchObject({ jsonrpc: '2.0', id: 'abc-1', result: { pong: true } });
  });

  it('answers a request with id null (it is a request, not a notification)', async () => {
    const c = await open();
    const res = await exchange(c, '{"jsonrpc":"2.0","method":"ping","id":null}');
    expect(res).toMatchObject({ id: null, result: { pong: true } });
  });

  it('never answers a notification, not even an unknown method', async () => {
    const c = await connected('a');
    await expectNoResponseTo(c, '{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}');
    await expectNoResponseTo(c, '{"jsonrpc":"2.0","method":"publish","params":{"topic":"system.x"}}');
    await expectNoResponseTo(c, '{"jsonrpc":"2.0","method":"subscribe","params":{"patterns":"not-an-array"}}');
  });

  it('rpc call of non-existent method: -32601', async () => {
    const c = await open();
    const res = await exchange(c, '{"jsonrpc":"2.0","method":"foobar","id":"1"}');
    expect(res).toMatchObject({ id: '1', error: { code: -32601 } });
  });

  it('rpc call with invalid JSON: -32700, id null', async () => {
    const c = await open();
    const res = await exchange(c, '{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]');
    expect(res).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it('rpc call with invalid Request object (method not a string): -32600', async () => {
    const c = await open();
    expect(await exchange(c, '{"jsonrpc":"2.0","method":1,"params":"bar"}')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await exchange(c, '{"jsonrpc":"2.0","method":1,"id":5}')).toMatchObject({ id: 5, error: { code: -32600 } });
  });

  it('wrong jsonrpc version or missing member: -32600 echoing a usable id', async () => {
    const c = await open();
    expect(await exchange(c, '{"jsonrpc":"1.0","method":"ping","id":9}')).toMatchObject({ id: 9, error: { code: -32600 } });
    expect(await exchange(c, '{"method":"ping","id":10}')).toMatchObject({ id: 10, error: { code: -32600 } });
    expect(await exchange(c, '{"jsonrpc":"2.0","method":"ping","id":{"x":1}}')).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await exchange(c, '{"jsonrpc":"2.0","method":"ping","id":[1]}')).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('params that is neither object nor array: -32600', async () => {
    const c = await connected('a');
    expect(await exchange(c, '{"jsonrpc":"2.0","method":"publish","params":"x.y","id":3}')).toMatchObject({ id: 3, error: { code: -32600 } });
    expect(await exchange(c, '{"jsonrpc":"2.0","method":"ping","params":42,"id":4}')).toMatchObject({ id: 4, error: { code: -32600 } });
  });

  it('a response object sent to the broker is an invalid request', async () => {
    const c = await open();
    expect(await exchange(c, '{"jsonrpc":"2.0","result":1,"id":8}')).toMatchObject({ id: 8, error: { code: -32600 } });
    expect(await exchange(c, '{"jsonrpc":"2.0","error":"oops","id":8}')).toMatchObject({ id: 8, error: { code: -32600 } });
  });

  it('batch, invalid JSON: a single -32700', async () => {
    const c = await open();
    const res = await exchange(c, '[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method"]');
    expect(res).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it('batch, empty array: a single -32600 (not an array)', async () => {
    const c = await open();
    const res = await exchange(c, '[]');
    expect(Array.isArray(res)).toBe(false);
    expect(res).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('batch, invalid but not empty: one -32600 per element', async () => {
    const c = await open();
    expect(await exchange(c, '[1]')).toEqual([{ jsonrpc: '2.0', error: expect.objectContaining({ code: -32600 }), id: null }]);
    const res = (await exchange(c, '[1,2,3]')) as unknown[];
    expect(res).toHaveLength(3);
    for (const r of res) expect(r).toMatchObject({ id: null, error: { code: -32600 } });
  });

  it('batch, mixed: responses for requests only, in a single array', async () => {
    const c = await connected('a');
    const res = (await exchange(
      c,
      JSON.stringify([
        { jsonrpc: '2.0', method: 'ping', id: '1' },
        { jsonrpc: '2.0', method: 'publish', params: { topic: 'n.x', payload: 1 } },
        { jsonrpc: '2.0', method: 'subscribe', params: { patterns: ['q.*'] }, id: '2' },
        { foo: 'boo' },
        { jsonrpc: '2.0', method: 'foo.get', params: { name: 'myself' }, id: '5' },
        { jsonrpc: '2.0', method: 'status', id: '9' },
      ]),
    )) as { id: unknown; result?: unknown; error?: { code: number } }[];
    expect(res).toHaveLength(5);
    const byId = new Map(res.map((r) => [r.id, r]));
    expect(byId.get('1')!.result).toMatchObject({ pong: true });
    expect(byId.get('2')!.result).toEqual({ subscribed: ['q.*'] });
    expect(byId.get(null)!.error!.code).toBe(-32600);
    expect(byId.get('5')!.error!.code).toBe(-32601);
    expect(byId.get('9')!.result).toMatchObject({ client_count: 1 });
  });

  it('batch of notifications only: nothing at all is returned', async () => {
    const c = await connected('a');
    await expectNoResponseTo(
      c,
      '[{"jsonrpc":"2.0","method":"notify_sum","params":[1,2,4]},{"jsonrpc":"2.0","method":"publish","params":{"topic":"x","payload":7}}]',
    );
  });

  it('a batch holding a request waits for it and still answers the others', async () => {
    const responder = await connected('responder');
    await responder.call('subscribe', { patterns: ['svc.echo'] });
    const c = await connected('a');
    c.writeRaw(
      encodeFrame(
        JSON.stringify([
          { jsonrpc: '2.0', method: 'request', params: { topic: 'svc.echo', payload: { n: 1 }, timeout: 5 }, id: 1 },
          { jsonrpc: '2.0', method: 'ping', id: 2 },
        ]),
      ),
    );
    const delivery = await responder.waitDelivery('svc.echo');
    await responder.call('reply', { reply_to: delivery.reply_to, result: { echoed: delivery.payload } });
    const batch = await c.waitFor((f) => Array.isArray(f));
    expect(batch).toEqual([
      { jsonrpc: '2.0', result: { echoed: { n: 1 } }, id: 1 },
      expect.objectContaining({ id: 2, result: expect.objectContaining({ pong: true }) }),
    ]);
  });
});

describe('connection state and error precedence', () => {
  it('allows connect, ping and disconnect before connect; other methods get -32001', async () => {
    const c = await open();
    expect((await c.call('ping')).result.pong).toBe(true);
    for (const method of ['subscribe', 'unsubscribe', 'publish', 'request', 'reply', 'ack', 'status', 'subscriptions', '_internal.message_acks']) {
      const res = await c.call(method, {});
      expect(res.error.code, method).toBe(-32001);
    }
  });

  it('-32600 wins over -32601 and -32001; -32601 over -32001; -32001 over -32602', async () => {
    const c = await open();
    expect(await exchange(c, '{"jsonrpc":"2.0","method":"nosuch","params":7,"id":"raw-1"}')).toMatchObject({ error: { code: -32600 } });
    expect((await c.call('nosuch', { x: 1 })).error.code).toBe(-32601);
    expect((await c.call('publish', { topic: 42 })).error.code).toBe(-32001);
  });

  it('disconnect before connect answers and closes', async () => {
    const c = await open();
    expect((await c.call('disconnect')).result).toEqual({ disconnected: true });
    await c.waitClosed();
  });

  it('a second connect on the same socket is -32600', async () => {
    const c = await connected('a');
    const res = await c.call('connect', { client_id: 'b' });
    expect(res.error.code).toBe(-32600);
    expect((await c.call('subscriptions')).result.client_id).toBe('a');
  });

  it('validates connect params with -32602', async () => {
    const c = await open();
    expect((await c.call('connect', {})).error.code).toBe(-32602);
    expect((await c.call('connect', { client_id: '' })).error.code).toBe(-32602);
    expect((await c.call('connect', { client_id: 'x'.repeat(129) })).error.code).toBe(-32602);
    expect((await c.call('connect', { client_id: 5 })).error.code).toBe(-32602);
    expect((await c.call('connect', { client_id: 'broker' })).error.code).toBe(-32602);
    expect((await c.call('connect', { client_id: 'ok', clean_session: 'yes' })).error.code).toBe(-32602);
    const ok = await c.call('connect', { client_id: 'x'.repeat(128) });
    expect(ok.result.client_id).toBe('x'.repeat(128));
  });

  it('connect result carries the contract fields', async () => {
    const c = await open();
    const res = await c.call('connect', { client_id: 'ds_pas', client_type: 'python', version: '2.0' });
    expect(res.result).toEqual({
      client_id: 'ds_pas',
      server_version: expect.any(String),
      heartbeat_interval: 5,
      heartbeat_timeout: 30,
      max_message_size: 1024 * 1024,
      max_queue_size: 10_000,
      session_expiry: 3600,
      session_present: false,
    });
  });

  it('rejects too many positional params with -32602', async () => {
    const c = await connected('a');
    expect((await c.call('ping', [1])).error.code).toBe(-32602);
  });

  it('ping returns pong with a contract timestamp', async () => {
    const c = await open();
    const res = await c.call('ping');
    expect(res.result.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
  });
});
