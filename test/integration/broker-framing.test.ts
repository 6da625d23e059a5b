import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { largestDelivery } from '../../src/broker/config.js';
import { encodeFrame, encodeJsonFrame } from '../../src/protocol/index.js';
import { loggedBroker, roundTrip, useBrokerPerTest, useTestBed } from '../helpers/test-bed.js';

const broker = useBrokerPerTest({ max_message_size: 64 * 1024 });
const { open, connected } = broker;

describe('framing', () => {
  it('decodes one frame delivered one byte per TCP write', async () => {
    const c = await open();
    const bytes = encodeJsonFrame({ jsonrpc: '2.0', id: 7, method: 'ping' });
    for (const byte of bytes) {
      c.writeRaw(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const res = await c.waitFor((f) => f.id === 7);
    expect(res.result.pong).toBe(true);
  });

  it('decodes many frames arriving in one write, in order', async () => {
    const c = await open();
    const many = Buffer.concat(Array.from({ length: 200 }, (_, i) => encodeJsonFrame({ jsonrpc: '2.0', id: i + 1, method: 'ping' })));
    c.writeRaw(many);
    await c.waitFor((f) => f.id === 200);
    expect(c.frames.map((f) => f.id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('handles a frame whose header and body straddle writes with the next frame', async () => {
    const c = await open();
    const all = Buffer.concat([encodeJsonFrame({ jsonrpc: '2.0', id: 1, method: 'ping' }), encodeJsonFrame({ jsonrpc: '2.0', id: 2, method: 'ping' })]);
    c.writeRaw(all.subarray(0, 2));
    await new Promise((r) => setImmediate(r));
    c.writeRaw(all.subarray(2, 30));
    await new Promise((r) => setImmediate(r));
    c.writeRaw(all.subarray(30));
    await c.waitFor((f) => f.id === 2);
    expect(c.frames.map((f) => f.id)).toEqual([1, 2]);
  });

  it('answers an empty frame (N == 0) with -32700 and id null, and keeps the connection', async () => {
    const c = await open();
    c.writeRaw(Buffer.from([0, 0, 0, 0]));
    const err = await c.waitFor((f) => f.error);
    expect(err).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect((await c.call('ping')).result.pong).toBe(true);
  });

  it('answers JSON that does not parse with -32700 and keeps the connection', async () => {
    const c = await open();
    c.writeRaw(encodeFrame('{"jsonrpc": "2.0", "method": "ping", "id": 1'));
    const err = await c.waitFor((f) => f.error);
    expect(err).toMatchObject({ id: null, error: { code: -32700 } });
    expect(err.error.message).toMatch(/Parse error/);
    expect((await c.call('ping')).result.pong).toBe(true);
  });

  it('decodes a frame that is not valid UTF-8 with the legacy code page (Windows-1252)', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['jobs.#'] });
    const ahk = await connected('ahk');
    // What an AHK v1 script sends: ANSI text, "Café Müller – 5€" in cp1252.
    const json = '{"jsonrpc":"2.0","method":"publish","params":{"topic":"jobs.note","payload":{"text":"Café Müller – 5€"}}}';
    const ansi = iconv.encode(json, 'windows-1252');
    expect(Buffer.from(json, 'utf8').equals(ansi)).toBe(false);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(ansi.length);
    ahk.writeRaw(Buffer.concat([header, ansi]));
    const msg = await sub.waitDelivery('jobs.note');
    expect(msg.payload).toEqual({ text: 'Café Müller – 5€' });
  });

  it('uses a configured legacy code page for non-UTF-8 frames', async () => {
    await broker.restart({ legacy_encoding: 'windows-1251' });
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['t'] });
    const pub = await connected('pub');
    const ansi = iconv.encode('{"jsonrpc":"2.0","method":"publish","params":{"topic":"t","payload":"Привет"}}', 'windows-1251');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(ansi.length);
    pub.writeRaw(Buffer.concat([header, ansi]));
    expect((await sub.waitDelivery('t')).payload).toBe('Привет');
  });

  it('delivers a Windows-1252 frame as large as allowed, three times larger in UTF-8, with max_output_bytes at its least', async () => {
    // Large enough that the 64 KiB for the envelope cannot hide a missing third.
    const max = 1024 * 1024;
    await broker.restart({ max_message_size: max, max_output_bytes: largestDelivery(max) });
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['t.big'] });
    const pub = await connected('pub');
    const head = '{"jsonrpc":"2.0","id":5,"method":"publish","params":{"topic":"t.big","qos":1,"payload":"';
    // Euro signs up to max_message_size: one byte each in cp1252, three in UTF-8.
    const text = '€'.repeat(max - head.length - 3);
    const ansi = iconv.encode(`${head}${text}"}}`, 'windows-1252');
    expect(ansi.length).toBe(max);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(ansi.length);
    pub.writeRaw(Buffer.concat([header, ansi]));
    expect((await pub.waitFor((f) => f.id === 5)).result).toMatchObject({ delivered: 1 });
    const msg = await sub.waitDelivery('t.big');
    expect(msg.payload).toBe(text);
    // Still connected: closed for the output limit, it would be owed the message again at every reconnect.
    await sub.call('ack', { message_id: msg.message_id });
    const { clients } = (await pub.call('status')).result;
    expect(clients.find((c: { client_id: string }) => c.client_id === 'sub')).toMatchObject({ connected: true, unacked: 0 });
  });

  it('treats a UTF-8 length header counted in characters as framing corruption, not a crash', async () => {
    // Old AHK clients used StrLen (characters) for the header: the frame ends early.
    const c = await open();
    const json = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"ü"}}';
    const body = Buffer.from(json, 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(json.length); // one byte short
    c.writeRaw(Buffer.concat([header, body]));
    const err = await c.waitFor((f) => f.error);
    expect(err.error.code).toBe(-32700);
  });

  it('closes with -32600 and data.max_message_size when a frame exceeds the limit', async () => {
    const c = await open();
    const big = encodeJsonFrame({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(70 * 1024) } });
    c.writeRaw(big);
    const err = await c.waitFor((f) => f.error);
    expect(err).toMatchObject({ id: null, error: { code: -32600, data: { max_message_size: 64 * 1024 } } });
    await c.waitClosed();
  });

  it('rejects a 4 GiB length header from its 4 bytes alone', async () => {
    const c = await open();
    c.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const err = await c.waitFor((f) => f.error);
    expect(err.error).toMatchObject({ code: -32600, data: { max_message_size: 64 * 1024, declared: 0xffffffff } });
    await c.waitClosed();
  });

  it('delivers what a client published before its oversize frame', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['a.#'] });
    const pub = await connected('pub');
    const frames = [1, 2, 3].map((i) => encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'a.b', payload: i } }));
    pub.writeRaw(Buffer.concat([...frames, Buffer.from([0x7f, 0, 0, 0])]));
    await pub.waitClosed();
    const got = await sub.waitDeliveries(3, 'a.b');
    expect(got.map((m) => m.payload)).toEqual([1, 2, 3]);
  });
});

describe('frames that are not JSON, in the log', () => {
  const bed = useTestBed();

  const NOT_JSON = 'frame is not JSON; answered -32700 (parse error)';
  const ONLY_DEBUG = 'more frames that are not JSON on this connection; further ones are logged at debug only';

  it('logs the first 3 per connection at WARNING with the client id and a short escaped excerpt, then one WARNING, then debug', async () => {
    const { port, logs } = await loggedBroker(bed);
    const ahk = await bed.connected(port, 'legacy-ahk');
    const long = `{"topic":"x\u0001y\n${'z'.repeat(500)}`;
    const bad = [encodeFrame(long), encodeFrame('{bad'), Buffer.from([0, 0, 0, 0]), encodeFrame('fourth'), encodeFrame('fifth')];
    ahk.writeRaw(Buffer.concat(bad));
    await roundTrip(ahk);
    // The answers stay as the contract says: -32700, id null, the connection open.
    const errors = ahk.frames.filter((f) => f.error);
    expect(errors).toHaveLength(5);
    for (const e of errors) expect(e).toMatchObject({ id: null, error: { code: -32700 } });

    const mine = logs.filter((l) => l.client_id === 'legacy-ahk' && (l.msg === NOT_JSON || l.msg === ONLY_DEBUG));
    expect(mine.map((l) => [l.level, l.msg])).toEqual([
      ['warning', NOT_JSON],
      ['warning', NOT_JSON],
      ['warning', NOT_JSON],
      ['warning', ONLY_DEBUG],
      ['debug', NOT_JSON],
      ['debug', NOT_JSON],
    ]);
    const first = mine[0]!;
    expect(first.excerpt).toBe(`{"topic":"x\\u0001y\\n${'z'.repeat(60 - 14)}...`);
    expect(first).toMatchObject({ bytes: Buffer.byteLength(long), remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(String(first.error)).not.toMatch(/[\u0000-\u001f]/);
    expect(mine[1]).toMatchObject({ excerpt: '{bad', bytes: 4 });
    expect(mine[2]).toMatchObject({ excerpt: '', bytes: 0, error: 'empty frame (length 0)' });
    expect(mine[3]).toMatchObject({ logged: 3 });
    expect(mine[5]).toMatchObject({ excerpt: 'fifth' });
  });

  it('names the remote address before connect, and counts each connection on its own', async () => {
    const { port, logs } = await loggedBroker(bed);
    const anon = await bed.open(port);
    anon.writeRaw(encodeFrame('not json'));
    await anon.waitFor((f) => f.error?.code === -32700);
    const local = `127.0.0.1:${anon.socket.localPort}`;
    expect(logs.filter((l) => l.msg === NOT_JSON)).toEqual([
      expect.objectContaining({ level: 'warning', remote: local, excerpt: 'not json' }),
    ]);
    expect(logs.find((l) => l.msg === NOT_JSON)!.client_id).toBeUndefined();

    const other = await bed.connected(port, 'other');
    other.writeRaw(encodeFrame('{'));
    await other.waitFor((f) => f.error?.code === -32700);
    expect(logs.filter((l) => l.msg === NOT_JSON && l.client_id === 'other')).toEqual([expect.objectContaining({ level: 'warning', excerpt: '{' })]);
  });
});

describe('an oversize header behind a frame that closed the connection', () => {
  const bed = useTestBed();

  it('is not reported: the disconnect is answered, and no WARNING says a frame was too large', async () => {
    const { port, logs } = await loggedBroker(bed, { max_message_size: 64 * 1024 });
    const c = await bed.connected(port, 'leaving');
    // One write: a disconnect, then garbage whose first bytes read as a 2 GiB header.
    c.writeRaw(Buffer.concat([encodeJsonFrame({ jsonrpc: '2.0', id: 9, method: 'disconnect' }), Buffer.from([0x7f, 0, 0, 0, 1, 2])]));
    const bye = await c.waitFor((f) => f.id === 9);
    expect(bye.result).toMatchObject({ disconnected: true });
    await c.waitClosed();
    expect(c.frames.filter((f) => f.error !== undefined)).toEqual([]);
    expect(logs.filter((l) => l.msg === 'frame too large; closing connection')).toEqual([]);
    expect(logs.some((l) => l.msg === 'client disconnected' && l.client_id === 'leaving')).toBe(true);
  });
});
