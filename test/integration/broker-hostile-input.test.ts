/**
 * Frames that used to crash or bloat the broker, over real TCP against a real broker:
 * deep JSON, ids that cannot be echoed, answers too large to serialise, a second
 * `connect` with bad params, and clients that never read. Each case checks the exact
 * answer, that nothing already accepted is lost, and that the broker keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeJsonFrame, MAX_JSON_DEPTH } from '../../src/protocol/index.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';

const { broker, open, connected } = useTestBed();

/** `inner` wrapped in `levels` arrays. */
const nested = (levels: number, inner = '1'): string => '['.repeat(levels) + inner + ']'.repeat(levels);
/** The reproduction's 5,000-level array. */
const D = nested(5000);

const rpc = (method: string, params: string, id: string): string => `{"jsonrpc":"2.0","method":"${method}","params":${params},"id":${id}}`;

/** The broker still answers: a ping on `c` and a status call on a fresh client. */
async function stillServing(port: number, c: RawClient): Promise<void> {
  await roundTrip(c);
  const other = await connected(port, `probe-${Math.random().toString(36).slice(2)}`);
  expect((await other.call('status')).result.version).toBeTypeOf('string');
}

function expectDepthRefusal(f: Frame): void {
  expect(f).toEqual({
    jsonrpc: '2.0',
    error: { code: -32600, message: expect.stringContaining('nested deeper than 64'), data: { max_depth: MAX_JSON_DEPTH } },
    id: null,
  });
}

describe('JSON nesting depth', () => {
  it('refuses the batch of the crash report (request + 5,000-deep topic) with one -32600 and keeps serving', async () => {
    const { port } = await broker();
    const c = await connected(port, 'attacker');
    const batch = `[${rpc('request', '{"topic":"a.b","timeout":1}', '1')},${rpc('publish', `{"topic":${D}}`, '2')}]`;
    c.writeRaw(encodeFrame(batch));
    expectDepthRefusal(await c.waitFor((f) => f.error?.code === -32600));
    await stillServing(port, c);
    // Nothing of the refused batch ran: no request is pending.
    expect((await c.call('status')).result.pending_requests).toBe(0);
  });

  it('answers each call of a batch whose nesting is allowed, in order: -32005 for the request, -32602 with its id for the array topic', async () => {
    const { port } = await broker();
    const c = await connected(port, 'batcher');
    const batch = `[${rpc('request', '{"topic":"a.b","timeout":1}', '1')},${rpc('publish', `{"topic":${nested(10)}}`, '"x"')}]`;
    c.writeRaw(encodeFrame(batch));
    const answer = await c.waitFor(Array.isArray);
    expect(answer).toHaveLength(2);
    expect(answer[0]).toMatchObject({ id: 1, error: { code: -32005 } });
    expect(answer[1]).toMatchObject({ id: 'x', error: { code: -32602 } });
  });

  it('refuses a 5,000-deep topic with -32600 and id null before looking at the call', async () => {
    const { port } = await broker();
    const c = await connected(port, 'p');
    c.writeRaw(encodeFrame(rpc('publish', `{"topic":${D}}`, '"x"')));
    expectDepthRefusal(await c.waitFor((f) => f.error !== undefined));
    await stillServing(port, c);
  });

  it('accepts exactly 64 levels end to end (published, retained, delivered) and refuses 65', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'deep.#');
    const pub = await connected(port, 'pub');
    // Frame object (1) > params (2) > payload: 62 more levels make 64.
    const ok = rpc('publish', `{"topic":"deep.ok","payload":${nested(62)},"retain":true}`, '"ok"');
    const tooDeep = rpc('publish', `{"topic":"deep.bad","payload":${nested(63)}}`, '"bad"');
    pub.writeRaw(Buffer.concat([encodeFrame(ok), encodeFrame(tooDeep)]));
    expect((await pub.waitFor((f) => f.id === 'ok')).result.delivered).toBe(1);
    expectDepthRefusal(await pub.waitFor((f) => f.error !== undefined));
    const delivered = await sub.waitDelivery('deep.ok');
    expect(JSON.stringify(delivered.payload)).toBe(nested(62));
    // The retained copy replays to a late subscriber at the same depth.
    const late = await connected(port, 'late');
    await subscribe(late, 'deep.#');
    expect(JSON.stringify((await late.waitDelivery('deep.ok')).payload)).toBe(nested(62));
    await roundTrip(sub);
    expect(sub.deliveries('deep.bad')).toEqual([]);
  });

  it('does not count brackets inside strings, escaped quotes included', async () => {
    const { port } = await broker();
    const c = await connected(port, 'strings');
    const payload = JSON.stringify({ text: '[{'.repeat(5000) + '\\"[[[' });
    c.writeRaw(encodeFrame(rpc('publish', `{"topic":"s.t","payload":${payload}}`, '7')));
    expect((await c.waitFor((f) => f.id === 7)).result).toMatchObject({ delivered: 0 });
  });

  it('refuses 10,000 unclosed brackets (not JSON at all) for their depth, without parsing', async () => {
    const { port } = await broker();
    const c = await connected(port, 'unclosed');
    c.writeRaw(encodeFrame('['.repeat(10_000)));
    expectDepthRefusal(await c.waitFor((f) => f.error !== undefined));
    await stillServing(port, c);
  });

  it('a responder replying with a 5,000-deep result is refused; the requester times out; nothing crashes', async () => {
    const { port } = await broker();
    const responder = await connected(port, 'responder');
    await subscribe(responder, 'svc.deep');
    const requester = await connected(port, 'requester');
    const pending = requester.call('request', { topic: 'svc.deep', timeout: 0.5 });
    const req = await responder.waitDelivery('svc.deep');
    responder.writeRaw(encodeFrame(rpc('reply', `{"reply_to":"${req.reply_to}","result":${D}}`, '9')));
    expectDepthRefusal(await responder.waitFor((f) => f.error !== undefined));
    expect((await pending).error.code).toBe(-32002);
    await stillServing(port, responder);
  });

  it('a retained deep payload cannot poison the store: other retained messages still replay', async () => {
    const { port } = await broker();
    const pub = await connected(port, 'pub');
    pub.writeRaw(encodeFrame(rpc('publish', `{"topic":"t.a","payload":${D},"retain":true}`, '1')));
    expectDepthRefusal(await pub.waitFor((f) => f.error !== undefined));
    expect((await pub.call('publish', { topic: 't.b', payload: 1, retain: true })).result).toBeDefined();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 't.#');
    const got = await sub.waitDelivery('t.b');
    expect(got).toMatchObject({ payload: 1, retained: true });
    await roundTrip(sub);
    expect(sub.deliveries().map((d) => d.topic)).toEqual(['t.b']);
  });
});

describe('ids that cannot be echoed exactly', () => {
  it.each([
    ['1e400', 'parses as Infinity'],
    ['9007199254740993', 'parses as 2^53'],
    ['9007199254740992', 'is 2^53'],
    ['1.5', 'has a fraction'],
    ['-9007199254740992', 'is -2^53'],
  ])('refuses id %s (%s) with -32600 and id null', async (id) => {
    const { port } = await broker();
    const c = await open(port);
    c.writeRaw(encodeFrame(`{"jsonrpc":"2.0","method":"ping","id":${id}}`));
    const f = await c.waitFor((x) => x.error !== undefined);
    expect(f).toMatchObject({ id: null, error: { code: -32600, message: expect.stringContaining('2^53') } });
    expect(c.frames.filter((x) => x.result !== undefined)).toEqual([]);
  });

  it('echoes the largest safe integers, negative ones and zero exactly', async () => {
    const { port } = await broker();
    const c = await open(port);
    const raw = (id: string): Buffer => encodeFrame(`{"jsonrpc":"2.0","method":"ping","id":${id}}`);
    c.writeRaw(Buffer.concat([raw('9007199254740991'), raw('-9007199254740991'), raw('0')]));
    for (const id of [9007199254740991, -9007199254740991, 0]) {
      expect((await c.waitFor((f) => f.id === id)).result.pong).toBe(true);
    }
  });

  it('refuses an unechoable id inside a batch for that call only', async () => {
    const { port } = await broker();
    const c = await open(port);
    c.writeRaw(encodeFrame(`[{"jsonrpc":"2.0","method":"ping","id":1e400},{"jsonrpc":"2.0","method":"ping","id":"ok"}]`));
    const answer = await c.waitFor(Array.isArray);
    expect(answer).toEqual([
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -32600 }), id: null },
      { jsonrpc: '2.0', result: expect.objectContaining({ pong: true }), id: 'ok' },
    ]);
  });
});

describe('a second connect on a connected socket', () => {
  it('is -32600 even with too many positional params (-32600 wins over -32602), and the session is untouched', async () => {
    const { port } = await broker();
    const c = await connected(port, 'first');
    c.send({ jsonrpc: '2.0', method: 'connect', params: ['q', 't', '1', null, false, 0], id: 'again' });
    expect(await c.waitFor((f) => f.id === 'again')).toMatchObject({ error: { code: -32600, data: { client_id: 'first' } } });
    c.send({ jsonrpc: '2.0', method: 'connect', params: { client_id: 7 }, id: 'typed' });
    expect(await c.waitFor((f) => f.id === 'typed')).toMatchObject({ error: { code: -32600 } });
    expect((await c.call('subscriptions')).result.client_id).toBe('first');
  });
});

describe('answers too large to send', () => {
  /** A client holding `n` patterns of about `size` characters each. */
  async function withBigPatterns(port: number, id: string, n: number, size: number): Promise<RawClient> {
    const c = await connected(port, id);
    const patterns = Array.from({ length: n }, (_, i) => `big.${String(i).padStart(4, '0')}.${'p'.repeat(size)}`);
    expect((await c.call('subscribe', { patterns }, 10_000)).result.subscribed).toHaveLength(n);
    return c;
  }

  it('sends a batch of large subscriptions answers whole while it fits max_output_bytes', async () => {
    const { port } = await broker({ max_output_bytes: 4 * 1024 * 1024 });
    const c = await withBigPatterns(port, 'big', 100, 5000); // ~0.5 MB per answer
    c.send([1, 2, 3].map((id) => ({ jsonrpc: '2.0', method: 'subscriptions', id })));
    const answer = await c.waitFor(Array.isArray, 10_000);
    expect(answer.map((r: Frame) => [r.id, r.result.patterns.length])).toEqual([
      [1, 100],
      [2, 100],
      [3, 100],
    ]);
  });

  it('closes with output_limit instead of building a batch answer past max_output_bytes; the broker keeps serving', async () => {
    const { port, broker: b } = await broker({ max_output_bytes: 4 * 1024 * 1024 });
    const watcher = await connected(port, 'watcher');
    await subscribe(watcher, 'system.client.disconnected');
    const c = await withBigPatterns(port, 'greedy', 200, 5000); // ~1 MB per answer
    c.send(Array.from({ length: 50 }, (_, id) => ({ jsonrpc: '2.0', method: 'subscriptions', id })));
    await c.waitClosed(10_000);
    expect(c.frames.filter(Array.isArray)).toEqual([]);
    const event = await watcher.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'greedy');
    expect(event.payload.reason).toBe('output_limit');
    await stillServing(port, watcher);
    // The session outlives the connection, as after any disconnect.
    expect(b.status().session_count).toBe(3);
  });
});

describe('a client that never reads', () => {
  it('is closed with output_limit once its unsent answers pass max_output_bytes; other clients are untouched', async () => {
    const { port } = await broker({ max_output_bytes: 2 * 1024 * 1024, max_message_size: 512 * 1024 });
    const watcher = await connected(port, 'watcher');
    await subscribe(watcher, 'system.client.disconnected', 'chat.#');
    const reader = await connected(port, 'reader');
    await subscribe(reader, 'chat.#');
    const deaf = await connected(port, 'deaf');
    deaf.socket.pause();
    // Pipelined pings, never read: each ~60-byte answer waits in the kernel, then the broker.
    const ping = encodeJsonFrame({ jsonrpc: '2.0', method: 'ping', id: 1 });
    const burst = Buffer.concat(Array.from({ length: 5000 }, () => ping));
    let writes = 0;
    while (!deaf.isClosed && writes < 2000) {
      writes++;
      if (!deaf.socket.write(burst)) await Promise.race([new Promise((r) => deaf.socket.once('drain', r)), deaf.closed]);
    }
    await deaf.waitClosed(10_000);
    const event = await watcher.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'deaf');
    expect(event.payload.reason).toBe('output_limit');
    // Everyone else still gets everything.
    const pub = await connected(port, 'pub');
    for (let i = 0; i < 20; i++) pub.notify('publish', { topic: 'chat.x', payload: i });
    await reader.waitDeliveries(20, 'chat.x');
    expect(reader.deliveries('chat.x').map((d) => d.payload)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('also counts queued deliveries: a subscriber that stops reading large messages is closed, not grown', async () => {
    const { port, broker: b } = await broker({ max_output_bytes: 4 * 1024 * 1024, max_queue_size: 100_000 });
    const watcher = await connected(port, 'watcher');
    await subscribe(watcher, 'system.client.disconnected');
    const stuck = await connected(port, 'stuck');
    await subscribe(stuck, 'bulk.#');
    stuck.socket.pause();
    const pub = await connected(port, 'pub');
    const body = 'b'.repeat(64 * 1024);
    const closedEvent = (p: Frame): boolean => p.payload.client_id === 'stuck';
    // Loopback may buffer tens of MB in the kernel before the broker's own queue grows, so
    // publish until the close, bounded at 128 MB. A paused socket does not see its FIN, so
    // the watcher's event says when.
    for (let i = 0; i < 2000 && !watcher.deliveries('system.client.disconnected').some(closedEvent); i += 20) {
      for (let j = i; j < i + 20; j++) pub.notify('publish', { topic: 'bulk.x', payload: body });
      await roundTrip(pub);
    }
    const event = await watcher.waitDelivery('system.client.disconnected', closedEvent);
    expect(event.payload.reason).toBe('output_limit');
    stuck.socket.resume();
    await stuck.waitClosed(10_000);
    const session = (b.status().clients as Frame[]).find((s) => s.client_id === 'stuck');
    expect(session).toMatchObject({ connected: false, queued: 0 });
  });
});
