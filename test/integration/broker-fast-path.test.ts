/**
 * The broker's fast path (call-scan.ts, RawJson payloads, delivery frames written into a
 * chunk) over real TCP against a real broker: payload bytes are forwarded as the
 * publisher wrote them and still read as the same JSON value, frames the scan leaves to
 * the general path are answered exactly as JSON.parse reads them (duplicate keys: the
 * last wins; escaped keys; `__proto__`; more than 16 params; legacy code pages), retained
 * clears and QoS 1 redelivery work with raw payloads, a raw reply result reaches the
 * requester intact, and a batch read by the scan is answered as the general path answers it.
 */
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../src/broker/handlers/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { scanBatch, scanCall } from '../../src/protocol/call-scan.js';
import type { Connection } from '../../src/broker/connection.js';
import type { StartedBroker } from '../helpers/broker-fixture.js';
import { roundTrip, subscribe, useTestBed } from '../helpers/test-bed.js';
import type { Frame, RawClient } from '../helpers/raw-client.js';
import { captureBodies, payloadBytes } from '../helpers/frame-bytes.js';

const { broker, open, connected, tempDir } = useTestBed();

const rawOf = (method: string): readonly string[] | undefined => METHODS.get(method)?.rawParams;

/** `text` as the fast path sees it: assert that it takes it (or not), so each case tests the path it names. */
function body(text: string | Buffer, fast: boolean): Buffer {
  const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  expect(scanCall(b, 0, b.length, rawOf) !== null, `fast path for ${b.toString('latin1')}`).toBe(fast);
  return b;
}

/** Open, start capturing raw frames (before any arrive, so frame boundaries line up), then connect. */
async function connectedWithBytes(port: number, clientId: string, params: Record<string, unknown> = {}): Promise<{ c: RawClient; bodies: Buffer[] }> {
  const c = await open(port);
  const bodies = captureBodies(c);
  const res = await c.call('connect', { client_id: clientId, client_type: 'test', version: '1', ...params });
  expect(res.error).toBeUndefined();
  return { c, bodies };
}

/**
 * Send `bytes` as one frame and wait for the answer with `id`. Ids from 100 up: RawClient's
 * own calls (connect, subscribe) count from 1.
 */
async function exchange(c: RawClient, bytes: Buffer, id: unknown): Promise<Frame> {
  if (typeof id === 'number') expect(id >= 100 || id === 0).toBe(true);
  const answer = c.waitFor((f) => !Array.isArray(f) && !f.method && f.id === id, 5000, `answer ${JSON.stringify(id)}`);
  c.writeRaw(frameOf(bytes));
  return answer;
}

function frameOf(bytes: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([header, bytes]);
}

const publishFrame = (params: string, id: number | string): string => `{"jsonrpc":"2.0","method":"publish","params":${params},"id":${JSON.stringify(id)}}`;

describe('payloads on the fast path', () => {
  it('are delivered as the same JSON value, and as the very bytes the publisher sent', async () => {
    const { port } = await broker();
    const { c: sub, bodies } = await connectedWithBytes(port, 'sub');
    await subscribe(sub, 'fast.#');
    const pub = await connected(port, 'pub');
    const payloads = [
      '{ "n" : 1.0e5 ,\n\t"s":"caf\\u00e9 \\ud83d\\ude00" , "a" : [ true , null , -0 , 0.50 ] ,"e":{ } }',
      '"\\u00e9\\n\\/"',
      '1E+5',
      '[ ]',
      '"日本 😀"',
      '-0.0',
    ];
    for (const [i, text] of payloads.entries()) {
      const res = await exchange(pub, body(publishFrame(`{ "topic" : "fast.fmt${i}" , "payload" :  ${text}  }`, 100 + i), true), 100 + i);
      expect(res.result.delivered).toBe(1);
    }
    await sub.waitDeliveries(payloads.length);
    for (const [i, text] of payloads.entries()) {
      const topic = `fast.fmt${i}`;
      const delivered = sub.deliveries(topic)[0];
      expect(delivered.payload, topic).toEqual(JSON.parse(text));
      const frame = bodies.find((b) => b.includes(`"topic":"${topic}"`))!;
      expect(payloadBytes(frame, topic, Buffer.byteLength(text)).toString(), topic).toBe(text);
    }
  });

  it('a windows-1252 frame from a legacy client still works (the general path decodes it)', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'legacy.#');
    const pub = await connected(port, 'pub');
    const text = publishFrame('{"topic":"legacy.caf\u00e9","payload":{"name":"Ren\u00e9e","price":"5 \u20ac"}}', 'l1');
    const bytes = Buffer.from(text.replace('\u20ac', '\u0080'), 'latin1'); // 0x80 is "€" in windows-1252
    const res = await exchange(pub, body(bytes, false), 'l1');
    expect(res.result.delivered).toBe(1);
    const d = await sub.waitDelivery('legacy.caf\u00e9');
    expect(d.payload).toEqual({ name: 'Ren\u00e9e', price: '5 \u20ac' });
  });

  it('the general path delivers the very bytes too: positional params, a BOM, escaped or repeated keys, a legacy code page', async () => {
    // What JSON.parse cannot hold: serialised again, 1e400 became null and the digits past
    // a double's precision were lost.
    const text = '[ 1e400 , -0 , 1.0 , 12345678901234567890 , { "a" : 1 , "a" : 2 } ]';
    const { port } = await broker();
    const { c: sub, bodies } = await connectedWithBytes(port, 'sub');
    await subscribe(sub, 'gen.#');
    const pub = await connected(port, 'pub');
    const frames: [string, Buffer][] = [
      ['gen.positional', Buffer.from(publishFrame(`[ "gen.positional" , ${text} ]`, 101))],
      ['gen.bom', Buffer.from(`\ufeff${publishFrame(`{"topic":"gen.bom","payload":${text}}`, 102)}`)],
      ['gen.escaped', Buffer.from(publishFrame(`{"topic":"gen.escaped","pay\\u006coad":${text}}`, 103))],
      ['gen.repeated', Buffer.from(publishFrame(`{"topic":"gen.repeated","payload":"first","payload":${text}}`, 104))],
      // 0xE9 is "é" in windows-1252: not UTF-8, so the frame is decoded as the legacy code page.
      ['gen.legacy', Buffer.from(publishFrame(`{"topic":"gen.legacy","payload":[${text},"caf\u00e9"]}`, 105), 'latin1')],
    ];
    for (const [i, [topic, bytes]] of frames.entries()) {
      const res = await exchange(pub, body(bytes, false), 101 + i);
      expect(res.result?.delivered, topic).toBe(1);
    }
    await sub.waitDeliveries(frames.length);
    for (const [topic] of frames) {
      const expected = topic === 'gen.legacy' ? `[${text},"café"]` : text;
      const frame = bodies.find((b) => b.includes(`"topic":"${topic}"`))!;
      expect(payloadBytes(frame, topic, Buffer.byteLength(expected)).toString(), topic).toBe(expected);
    }
    // Retained by position: 1e400 is kept as written, not taken for null (which would clear the topic).
    const retained = await exchange(pub, body(publishFrame('["gen.kept", 1e400, 0, 0, true]', 106), false), 106);
    expect(retained.error).toBeUndefined();
    const { c: late, bodies: lateBodies } = await connectedWithBytes(port, 'late');
    await subscribe(late, 'gen.kept');
    await late.waitDeliveries(1);
    expect(payloadBytes(lateBodies.find((b) => b.includes('"topic":"gen.kept"'))!, 'gen.kept', 5).toString()).toBe('1e400');
    // And null by position still clears it, as by name.
    expect((await exchange(pub, body(publishFrame('["gen.kept", null, 0, 0, true]', 107), false), 107)).error).toBeUndefined();
    const later = await connected(port, 'later');
    await subscribe(later, 'gen.kept');
    await roundTrip(later);
    expect(later.deliveries()).toEqual([]);
  });

  it('a retained publish with payload "" clears the retained topic', async () => {
    const { port } = await broker();
    const pub = await connected(port, 'pub');
    for (const [id, params] of [
      [101, '{"topic":"ret.a","payload":{"v":1},"retain":true}'],
      [102, '{"topic":"ret.b","payload":[2],"retain":true}'],
      [103, '{"topic":"ret.a","payload": "" ,"retain":true}'],
    ] as const) {
      const res = await exchange(pub, body(publishFrame(params, id), true), id);
      expect(res.error).toBeUndefined();
    }
    const late = await connected(port, 'late');
    await subscribe(late, 'ret.#');
    // Retained messages follow the subscribe answer at once: a round trip has them all.
    await roundTrip(late);
    expect(late.deliveries().map((d) => [d.topic, d.payload, d.retained])).toEqual([['ret.b', [2], true]]);
    await exchange(pub, body(publishFrame('{"topic":"ret.b","payload":"","retain":true}', 105), true), 105);
    const later = await connected(port, 'later');
    await subscribe(later, 'ret.#');
    await roundTrip(later);
    expect(later.deliveries()).toEqual([]);
  });

  it('a QoS 1 message for an offline session is redelivered intact after the publisher sent many more', async () => {
    const { port } = await broker({ max_queue_size: 1000 });
    const off = await connected(port, 'offline');
    await subscribe(off, 'keep.#');
    const online = await connected(port, 'online');
    await subscribe(online, 'keep.#');
    const watcher = await connected(port, 'watcher');
    await subscribe(watcher, 'system.client.disconnected');
    off.close();
    await watcher.waitDelivery('system.client.disconnected', (p) => p.payload.client_id === 'offline');

    const pub = await connected(port, 'pub');
    const kept = '{"k":"the kept one \\u00e9 \u00e9","n":[1,2,3],"pad":"' + 'k'.repeat(3000) + '"}';
    const first = await exchange(pub, body(publishFrame(`{"topic":"keep.one","payload":${kept},"qos":1}`, 'kept'), true), 'kept');
    expect(first.result.delivered).toBe(2);
    // Many more frames through the same socket, so that its receive buffers have been
    // replaced many times over before the offline subscriber comes back.
    const filler = '{"f":"' + 'f'.repeat(2000) + '"}';
    const notification = frameOf(body(`{"jsonrpc":"2.0","method":"publish","params":{"topic":"other.t","payload":${filler}}}`, true));
    for (let i = 0; i < 400; i++) pub.writeRaw(notification);
    await roundTrip(pub);

    const back = await open(port);
    const bytes = captureBodies(back);
    const res = await back.call('connect', { client_id: 'offline', client_type: 'test', version: '1' });
    expect(res.result.session_present).toBe(true);
    const d = await back.waitDelivery('keep.one');
    expect(d.payload).toEqual(JSON.parse(kept));
    expect(d.message_id).toBe(first.result.message_id);
    const frame = bytes.find((b) => b.includes('"topic":"keep.one"'))!;
    expect(payloadBytes(frame, 'keep.one', Buffer.byteLength(kept)).toString()).toBe(kept);
    const onlineGot = await online.waitDelivery('keep.one');
    expect(onlineGot.payload).toEqual(JSON.parse(kept));
  });

  it('a reply result in raw JSON reaches the requester as the same value; a null result is not accepted', async () => {
    const { port } = await broker();
    const responder = await connected(port, 'responder');
    await subscribe(responder, 'svc.#');
    const requester = await open(port);
    const answers = captureBodies(requester);
    expect((await requester.call('connect', { client_id: 'requester', client_type: 'test', version: '1' })).error).toBeUndefined();
    const answer = requester.waitFor((f) => f.id === 'req-1', 10_000, 'request answer');
    requester.writeRaw(frameOf(body('{"jsonrpc":"2.0","method":"request","params":{"topic":"svc.echo","payload":{ "q" : 1.5e1 },"timeout":10},"id":"req-1"}', true)));
    const req = await responder.waitDelivery('svc.echo');
    expect(req.payload).toEqual({ q: 15 });
    const token: string = req.reply_to;

    const nullReply = await exchange(responder, body(`{"jsonrpc":"2.0","method":"reply","params":{"reply_to":${JSON.stringify(token)},"result": null },"id":"r0"}`, true), 'r0');
    expect(nullReply.result).toEqual({ accepted: false });

    const result = '{ "ok" : true, "v" : 1.0e2, "s" : "\\u00e9\u00e9", "list" : [ 1 , [ ] , { } ] }';
    const accepted = await exchange(responder, body(`{"jsonrpc":"2.0","method":"reply","params":{"reply_to":${JSON.stringify(token)},"result":${result}},"id":"r1"}`, true), 'r1');
    expect(accepted.result).toEqual({ accepted: true });
    const got = await answer;
    expect(got).toEqual({ jsonrpc: '2.0', result: JSON.parse(result), id: 'req-1' });
    // The result went out as the responder's bytes.
    const frame = answers.find((b) => b.includes('"id":"req-1"'))!;
    expect(frame.toString()).toBe(`{"jsonrpc":"2.0","result":${result},"id":"req-1"}`);
    // A later reply is not accepted either.
    const late = await exchange(responder, body(`{"jsonrpc":"2.0","method":"reply","params":{"reply_to":${JSON.stringify(token)},"result":1},"id":"r2"}`, true), 'r2');
    expect(late.result).toEqual({ accepted: false });
  });
});

describe('frames the fast path leaves to the general path are answered as JSON.parse reads them', () => {
  it('duplicate keys: the last one wins, at the top level and in params', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'dup.#');
    const c = await connected(port, 'c');
    expect(await exchange(c, body('{"jsonrpc":"2.0","method":"ping","method":"nope","id":101}', false), 101)).toMatchObject({ error: { code: -32601, message: 'Method not found: nope' } });
    expect(await exchange(c, body('{"jsonrpc":"2.0","method":"nope","method":"ping","id":102}', false), 102)).toMatchObject({ result: { pong: true } });
    const twoIds = c.waitFor((f) => f.id === 104);
    c.writeRaw(frameOf(body('{"jsonrpc":"2.0","method":"ping","id":103,"id":104}', false)));
    expect(await twoIds).toMatchObject({ result: { pong: true } });
    const res = await exchange(c, body(publishFrame('{"topic":"dup.first","payload":1,"topic":"dup.last","payload":2}', 105), false), 105);
    expect(res.result.delivered).toBe(1);
    const d = await sub.waitDelivery('dup.last');
    expect(d.payload).toBe(2);
    await roundTrip(sub);
    expect(sub.deliveries('dup.first')).toEqual([]);
  });

  it('escaped keys and method names are read by their value', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'esc.#');
    const c = await connected(port, 'c');
    expect(await exchange(c, body('{"jsonrpc":"2.0","m\\u0065thod":"p\\u0069ng","id":101}', false), 101)).toMatchObject({ result: { pong: true } });
    expect(await exchange(c, body('{"jsonrpc":"2.0","method":"p\\u0069ng","id":103}', false), 103)).toMatchObject({ result: { pong: true } });
    const res = await exchange(c, body(publishFrame('{"\\u0074opic":"esc.a","pay\\u006coad":{"v":"\\u00e9"}}', 102), false), 102);
    expect(res.result.delivered).toBe(1);
    expect((await sub.waitDelivery('esc.a')).payload).toEqual({ v: 'é' });
  });

  it('a "__proto__" param is an ordinary (ignored) member, not the params\' prototype', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'proto.#');
    const c = await connected(port, 'c');
    const res = await exchange(c, body(publishFrame('{"topic":"proto.a","payload":1,"__proto__":{"qos":1,"retain":true}}', 101), false), 101);
    expect(res.result.delivered).toBe(1);
    const d = await sub.waitDelivery('proto.a');
    expect(d.qos).toBe(0);
    // Not retained either: a late subscriber gets nothing.
    const late = await connected(port, 'late');
    await subscribe(late, 'proto.#');
    await roundTrip(late);
    expect(late.deliveries()).toEqual([]);
  });

  it('more than 16 params: every one is read, the 17th and later too', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'many.#');
    const c = await connected(port, 'c');
    // Exactly 17, the last one the topic; then 18 with payload and qos last as well.
    const extra = (n: number): string => Array.from({ length: n }, (_, k) => `"x${k}":${k}`).join(',');
    const res = await exchange(c, body(publishFrame(`{${extra(16)},"topic":"many.a"}`, 101), false), 101);
    expect(res.result).toMatchObject({ delivered: 1 });
    expect(await sub.waitDelivery('many.a')).toMatchObject({ payload: null, qos: 0 });
    const res2 = await exchange(c, body(publishFrame(`{${extra(15)},"topic":"many.b","payload":"p","qos":1}`, 102), false), 102);
    expect(res2.result).toMatchObject({ delivered: 1 });
    expect(await sub.waitDelivery('many.b')).toMatchObject({ payload: 'p', qos: 1 });
  });

  it('ids the contract refuses, a BOM, trailing bytes, an empty object, a batch, a bad jsonrpc', async () => {
    const { port } = await broker();
    const c = await connected(port, 'c');
    const next = async (bytes: Buffer): Promise<Frame> => {
      const before = c.frames.length;
      c.writeRaw(frameOf(bytes));
      await c.waitFor(() => c.frames.length > before);
      return c.frames[before];
    };
    for (const id of ['1.5', 'true', '9007199254740992', '{"a":1}', '[1]']) {
      expect(await next(body(`{"jsonrpc":"2.0","method":"ping","id":${id}}`, false)), id).toMatchObject({ id: null, error: { code: -32600 } });
    }
    expect(await next(body(`\ufeff{"jsonrpc":"2.0","method":"ping","id":7}`, false))).toMatchObject({ id: 7, result: { pong: true } });
    expect(await next(body('{"jsonrpc":"2.0","method":"ping","id":8}x', false))).toMatchObject({ id: null, error: { code: -32700 } });
    expect(await next(body('{"jsonrpc":"2.0","method":"ping","id":8}{}', false))).toMatchObject({ id: null, error: { code: -32700 } });
    expect(await next(body('{}', false))).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await next(body('[{"jsonrpc":"2.0","method":"ping","id":9}]', false))).toMatchObject([{ id: 9, result: { pong: true } }]);
    expect(await next(body('{"jsonrpc":"2.00","method":"ping","id":10}', false))).toMatchObject({ id: 10, error: { code: -32600 } });
    expect(await next(body('{"jsonrpc":"2.0","method":"ping","params":["x"],"id":11}', false))).toMatchObject({ id: 11, error: { code: -32602 } });
    expect(await next(body('{"jsonrpc":"2.0","method":"ping","extra":1,"id":12}', false))).toMatchObject({ id: 12, result: { pong: true } });
  });

  it('the same calls on the fast path get the same answers', async () => {
    const { port } = await broker();
    const c = await connected(port, 'c');
    expect(await exchange(c, body('{"jsonrpc":"2.0","method":"nope","id":101}', true), 101)).toMatchObject({ error: { code: -32601, message: 'Method not found: nope' } });
    expect(await exchange(c, body('{ "id" : -0 , "method" : "ping" , "jsonrpc" : "2.0" }', true), 0)).toMatchObject({ result: { pong: true } });
    expect(await exchange(c, body('{"jsonrpc":"2.0","method":"ping","id":102.0}', true), 102)).toMatchObject({ result: { pong: true } });
    expect(await exchange(c, body('{"jsonrpc":"2.0","method":"ping","id":"\\u00e9"}', true), 'é')).toMatchObject({ result: { pong: true } });
  });
});

describe('batches on the fast path', () => {
  const calls = (tag: string, payloads: string[]): string[] => [
    publishFrame(`{ "topic" : "batch.${tag}.a" , "payload" : ${payloads[0]} }`, 100),
    `{"jsonrpc":"2.0","method":"publish","params":{"topic":"batch.${tag}.n","payload":${payloads[1]}}}`,
    publishFrame('{"topic":"bad..topic","payload":1}', 101),
    publishFrame(`{"topic":"batch.${tag}.c","payload":${payloads[2]},"qos":1}`, 102),
    '{"jsonrpc":"2.0","method":"nope","id":103}',
    '{"jsonrpc":"2.0","method":"ping","id":104}',
  ];
  const payloads = ['{ "n" : 1.0e5 , "s" : "caf\\u00e9" }', '"日本 😀"', '[ 1 , -0.50 ]'];

  it('are taken in order with the payload bytes as sent, and answered as one array, requests only', async () => {
    const { port } = await broker();
    const { c: sub, bodies } = await connectedWithBytes(port, 'sub');
    await subscribe(sub, 'batch.#');
    const pub = await connected(port, 'pub');
    const b = Buffer.from(`[ ${calls('fast', payloads).join(' ,\n\t')} ]`);
    expect(scanBatch(b, 0, b.length, rawOf)).toHaveLength(6);
    const answer = pub.waitFor((f) => Array.isArray(f), 5000, 'the batch answer');
    pub.writeRaw(frameOf(b));
    const answers = (await answer) as unknown as Frame[];
    expect(answers.map((a) => a.id)).toEqual([100, 101, 102, 103, 104]);
    expect(answers[0]).toMatchObject({ result: { message_id: expect.any(String), delivered: 1 } });
    expect(answers[1]).toMatchObject({ error: { code: -32602 } });
    expect(answers[2]).toMatchObject({ result: { message_id: expect.any(String), delivered: 1 } });
    expect(answers[3]).toMatchObject({ error: { code: -32601, message: 'Method not found: nope' } });
    expect(answers[4]).toMatchObject({ result: { pong: true } });
    const delivered = await sub.waitDeliveries(3);
    expect(delivered.map((f) => f.topic)).toEqual(['batch.fast.a', 'batch.fast.n', 'batch.fast.c']);
    expect(delivered.map((f) => f.message_id)).toEqual([answers[0]!.result.message_id, expect.any(String), answers[2]!.result.message_id]);
    for (const [i, topic] of ['batch.fast.a', 'batch.fast.n', 'batch.fast.c'].entries()) {
      expect(delivered[i]!.payload, topic).toEqual(JSON.parse(payloads[i]!));
      const frame = bodies.find((f) => f.includes(`"topic":"${topic}"`))!;
      expect(payloadBytes(frame, topic, Buffer.byteLength(payloads[i]!)).toString(), topic).toBe(payloads[i]);
    }
  });

  it('one element the scan cannot read sends the whole batch down the general path, with the same answers', async () => {
    const { port } = await broker();
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'batch.#');
    const pub = await connected(port, 'pub');
    const general = calls('slow', payloads);
    // A duplicate key in the last element: JSON.parse keeps the last, the scan declines.
    general[5] = '{"jsonrpc":"2.0","method":"ping","id":0,"id":104}';
    const b = Buffer.from(`[${general.join(',')}]`);
    expect(scanBatch(b, 0, b.length, rawOf)).toBeNull();
    const answer = pub.waitFor((f) => Array.isArray(f), 5000, 'the batch answer');
    pub.writeRaw(frameOf(b));
    const answers = (await answer) as unknown as Frame[];
    expect(answers.map((a) => [a.id, a.error?.code ?? 'ok'])).toEqual([[100, 'ok'], [101, -32602], [102, 'ok'], [103, -32601], [104, 'ok']]);
    const delivered = await sub.waitDeliveries(3);
    expect(delivered.map((f) => f.topic)).toEqual(['batch.slow.a', 'batch.slow.n', 'batch.slow.c']);
    expect(delivered.map((f) => f.payload)).toEqual(payloads.map((p) => JSON.parse(p)));
  });
});

describe("a client's batches of publishes, read through its envelope after the first", () => {
  /**
   * Counts the batch elements `clientId`'s connection reads through its envelopes from now
   * on (the reader exists once the connection sent its first batch).
   */
  function countTaken(b: StartedBroker, clientId: string): { taken: number } {
    const connections = (b.broker as unknown as { connections: Set<Connection> }).connections;
    const conn = [...connections].find((c) => c.clientId === clientId);
    const reader = conn?.batchPublishReader;
    expect(reader?.size, `the envelopes of ${clientId}`).toBeGreaterThan(0);
    const counter = { taken: 0 };
    const read = reader!.read.bind(reader);
    reader!.read = (body, i, end) => {
      const call = read(body, i, end);
      if (call !== null) counter.taken++;
      return call;
    };
    return counter;
  }

  /** A publish request as publishBatch and `bridge tail` write it. */
  const element = (topic: string, payload: string, id: number): string => `{"jsonrpc":"2.0","method":"publish","params":{"topic":"${topic}","payload":${payload},"qos":1},"id":${id}}`;
  const PAYLOADS = ['{"seq":1,"window":"Untitled - Notepad"}', 'null', '"caf\\u00e9 日本"', '[1,-0.50e1]', '{"queue_id":"f:0","a":{"b":[true,false]}}', '7'];

  it('are answered in order, and delivered with their payload bytes as sent', async () => {
    const b = await broker();
    const { port } = b;
    const { c: sub, bodies } = await connectedWithBytes(port, 'sub');
    await subscribe(sub, 'env.#');
    const pub = await connected(port, 'pub');
    let id = 100;
    const sent: { topic: string; payload: string; id: number }[] = [];
    let counter = { taken: 0 };
    for (let batch = 0; batch < 3; batch++) {
      if (batch === 1) counter = countTaken(b, 'pub');
      const items = Array.from({ length: 40 }, (_, k) => ({ topic: `env.t${k % 3}`, payload: PAYLOADS[(k + batch) % PAYLOADS.length]!, id: id++ }));
      const answer = pub.waitFor((f) => Array.isArray(f) && (f as unknown as Frame[])[0]?.id === items[0]!.id, 5000, `answer of batch ${batch}`);
      pub.writeRaw(frameOf(Buffer.from(`[${items.map((i) => element(i.topic, i.payload, i.id)).join(',')}]`)));
      const answers = (await answer) as unknown as Frame[];
      expect(answers.map((a) => a.id)).toEqual(items.map((i) => i.id));
      for (const a of answers) expect(a.result).toMatchObject({ message_id: expect.any(String), delivered: 1 });
      sent.push(...items);
    }
    // The first batch taught the three envelopes; the next two were read through them.
    expect(counter.taken).toBe(80);
    const delivered = await sub.waitDeliveries(sent.length);
    await roundTrip(sub);
    expect(delivered.map((d) => [d.topic, d.qos])).toEqual(sent.map((s) => [s.topic, 1]));
    const deliveries = bodies.filter((b) => b.includes('"method":"message"'));
    expect(deliveries).toHaveLength(sent.length);
    sent.forEach((s, k) => {
      expect(delivered[k]!.payload, `${k}`).toEqual(JSON.parse(s.payload));
      expect(payloadBytes(deliveries[k]!, s.topic, Buffer.byteLength(s.payload)).toString(), `${k}`).toBe(s.payload);
    });
  });

  it('an element its envelope cannot read is scanned, and one the scan refuses sends the batch down the general path', async () => {
    const b = await broker();
    const { port } = b;
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'env.#');
    const pub = await connected(port, 'pub');
    const send = async (elements: string[]): Promise<Frame[]> => {
      const first = JSON.parse(elements[0]!).id as number;
      const answer = pub.waitFor((f) => Array.isArray(f) && (f as unknown as Frame[])[0]?.id === first, 5000, 'the batch answer');
      pub.writeRaw(frameOf(Buffer.from(`[${elements.join(',')}]`)));
      return (await answer) as unknown as Frame[];
    };
    await send([element('env.a', '1', 100)]);
    const counter = countTaken(b, 'pub');
    const answers = await send([
      element('env.a', '2', 101),
      element('bad..topic', '3', 102),
      element('env.a', '4', 103).replace('"qos":1', '"qos":2'),
      element('env.a', '5 ', 104),
      element('env.a', '6', 105).replace('"payload":6', '"payload":6,"retain":false'),
    ]);
    expect(answers.map((a) => [a.id, a.error?.code ?? 'ok'])).toEqual([[101, 'ok'], [102, -32602], [103, -32602], [104, 'ok'], [105, 'ok']]);
    // Only the first element is written as the one that taught the envelope.
    expect(counter.taken).toBe(1);
    // A payload that is not JSON fails the whole frame as a parse error; nothing of it is published.
    const broken = pub.waitFor((f) => !Array.isArray(f) && f.error !== undefined, 5000, 'the parse error');
    pub.writeRaw(frameOf(Buffer.from(`[${element('env.a', '7', 106)},${element('env.a', '{"x":}', 107)}]`)));
    expect(await broken).toMatchObject({ id: null, error: { code: -32700 } });
    await roundTrip(pub);
    await roundTrip(sub);
    expect(sub.deliveries().map((d) => d.payload)).toEqual([1, 2, 5, 6]);
  });

  it("publishes the handler refuses are refused one by one, with the general path's errors", async () => {
    const b = await broker({ allow_anonymous: true, anonymous_permissions: { publish: { deny: ['env.denied.#'] } } });
    const { port } = b;
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'env.#');
    const pub = await connected(port, 'pub');
    let id = 100;
    const batchOf = async (topic: string, count: number): Promise<Frame[]> => {
      const ids = Array.from({ length: count }, () => id++);
      const answer = pub.waitFor((f) => Array.isArray(f) && (f as unknown as Frame[])[0]?.id === ids[0], 5000, `the answer for ${topic}`);
      pub.writeRaw(frameOf(Buffer.from(`[${ids.map((i) => element(topic, `{"i":${i}}`, i)).join(',')}]`)));
      return (await answer) as unknown as Frame[];
    };
    // Each topic's first batch teaches its envelope from its first element; the second is read through it.
    for (const [topic, code] of [['bad..topic', ErrorCode.INVALID_PARAMS], ['system.mine', ErrorCode.PUBLISH_ERROR], ['env.denied.x', ErrorCode.PUBLISH_ERROR]] as const) {
      const first = await batchOf(topic, 3);
      const counter = countTaken(b, 'pub');
      const second = await batchOf(topic, 4);
      expect(counter.taken, topic).toBe(4);
      const errors = [...first, ...second].map((a) => [a.error?.code, a.error?.message, a.error?.data]);
      expect(errors[0]![0], topic).toBe(code);
      for (const e of errors) expect(e, topic).toEqual(errors[0]);
    }
    // Accepted ones around them still go through, in order.
    const ok = await batchOf('env.ok', 5);
    expect(ok.every((a) => a.result?.delivered === 1)).toBe(true);
    await roundTrip(sub);
    expect(sub.deliveries().map((d) => [d.topic, (d.payload as { i: number }).i])).toEqual(ok.map((a) => ['env.ok', a.id]));
  });

  it('with persistence on, the publishes read through the envelope are journaled and answered in order', async () => {
    const b = await broker({ persistence_enabled: true, persistence_path: tempDir('env-journal-') });
    const { port } = b;
    const sub = await connected(port, 'sub');
    await subscribe(sub, 'env.#');
    const pub = await connected(port, 'pub');
    let id = 100;
    const answers: Frame[] = [];
    let counter = { taken: 0 };
    for (let batch = 0; batch < 3; batch++) {
      if (batch === 1) counter = countTaken(b, 'pub');
      const ids = Array.from({ length: 50 }, () => id++);
      const answer = pub.waitFor((f) => Array.isArray(f) && (f as unknown as Frame[])[0]?.id === ids[0], 5000, `answer of batch ${batch}`);
      pub.writeRaw(frameOf(Buffer.from(`[${ids.map((i) => element('env.j', `{"i":${i}}`, i)).join(',')}]`)));
      answers.push(...((await answer) as unknown as Frame[]));
    }
    expect(counter.taken).toBe(100);
    expect(answers.map((a) => a.id)).toEqual(Array.from({ length: 150 }, (_, k) => 100 + k));
    for (const a of answers) expect(a.result).toMatchObject({ message_id: expect.any(String), delivered: 1 });
    const delivered = await sub.waitDeliveries(150);
    expect(delivered.map((d) => (d.payload as { i: number }).i)).toEqual(answers.map((a) => a.id));
    expect(delivered.map((d) => d.message_id)).toEqual(answers.map((a) => a.result.message_id));
  });
});
