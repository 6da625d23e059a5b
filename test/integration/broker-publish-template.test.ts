/**
 * The publish-template path (src/broker/publish-template.ts): after one plain publish
 * notification, frames that repeat its envelope byte for byte have only their payload
 * read. These tests send such frames over real TCP and check that nothing the general
 * path would refuse or treat differently slips through the shortcut.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/framing.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';
import type { RawClient } from '../helpers/raw-client.js';

const broker = useBrokerPerTest();
const { connected } = broker;

const envelope = (topic: string): string => `{"jsonrpc":"2.0","method":"publish","params":{"topic":${JSON.stringify(topic)},"payload":`;
/** A publish notification of `payloadText` (JSON text, sent as is) to `topic`. */
const publishFrame = (topic: string, payloadText: string): Buffer => encodeFrame(`${envelope(topic)}${payloadText}}}`);

/** Everything the publisher sent before this has been handled (one connection, in order). */
async function settled(pub: RawClient): Promise<void> {
  const res = await pub.call('ping');
  expect(res.result.pong).toBe(true);
}

async function pair(topic = 'tpl.t'): Promise<{ pub: RawClient; sub: RawClient }> {
  const sub = await connected('sub');
  await sub.call('subscribe', { patterns: [topic] });
  const pub = await connected('pub');
  return { pub, sub };
}

describe('publish template (repeated envelopes)', () => {
  it('delivers each payload of a stream of same-envelope publishes in order, as the bytes that were sent', async () => {
    const { pub, sub } = await pair();
    const texts = ['{"seq":0}', '{ "seq" : 1 , "x":[1,2,{"y":null}] }', '"\\u00e9t\u00e9"', '1.0e5', 'true', '[]', '{"s":"}}"}', ' {"seq":7} '];
    pub.writeRaw(Buffer.concat(texts.map((t) => publishFrame('tpl.t', t))));
    const got = await sub.waitDeliveries(texts.length, 'tpl.t');
    expect(got.map((d) => d.payload)).toEqual(texts.map((t) => JSON.parse(t)));
    // Stamped like any publish: now, by this sender, each with an id of its own.
    for (const d of got) {
      expect(d).toMatchObject({ sender: 'pub', qos: 0 });
      expect(Math.abs(Date.parse(d.timestamp as string) - Date.now())).toBeLessThan(60_000);
    }
    expect(new Set(got.map((d) => d.message_id)).size).toBe(texts.length);
    // Forwarded, not re-serialised: the publisher's spelling survives (1.0e5, spaces).
    const raw = await rawDeliveries(sub, pub, 'tpl.raw', ['1.0e5', '{ "a" : 1 }', ' \n\t"spaced" \r\n']);
    // Whitespace around the value belongs to the envelope, as on the first (scanned) frame.
    expect(raw).toEqual(['1.0e5', '{ "a" : 1 }', '"spaced"']);
  });

  it('a frame with the learned envelope but an invalid payload is refused like any invalid frame; one with more params is read in full; later frames still flow', async () => {
    const { pub, sub } = await pair();
    pub.writeRaw(publishFrame('tpl.t', '{"seq":0}'));
    pub.writeRaw(publishFrame('tpl.t', '{"seq":1'));
    pub.writeRaw(publishFrame('tpl.t', '{"seq":2} {"seq":3}'));
    // Valid JSON that only looks like a payload: a QoS 1 publish, which the shortcut must not read as QoS 0.
    pub.writeRaw(publishFrame('tpl.t', '{"a":1},"qos":1'));
    pub.writeRaw(publishFrame('tpl.t', '{"seq":4}'));
    await settled(pub);
    const errors = pub.frames.filter((f) => f.error !== undefined);
    expect(errors.map((f) => [f.error.code, f.id])).toEqual([
      [-32700, null],
      [-32700, null],
    ]);
    expect(sub.deliveries('tpl.t').map((d) => [d.payload, d.qos])).toEqual([
      [{ seq: 0 }, 0],
      [{ a: 1 }, 1],
      [{ seq: 4 }, 0],
    ]);
  });

  it('a payload nested past the depth limit is refused on the shortcut as on the general path', async () => {
    const { pub, sub } = await pair();
    pub.writeRaw(publishFrame('tpl.t', '{"seq":0}'));
    const deep = `${'['.repeat(63)}${']'.repeat(63)}`;
    pub.writeRaw(publishFrame('tpl.t', deep));
    const refused = await pub.waitFor((f) => f.error !== undefined);
    expect(refused.error.code).toBe(-32600);
    const ok = `${'['.repeat(62)}${']'.repeat(62)}`;
    pub.writeRaw(publishFrame('tpl.t', ok));
    await settled(pub);
    const got = sub.deliveries('tpl.t');
    expect(got).toHaveLength(2);
    expect(JSON.stringify(got[1].payload)).toBe(ok);
  });

  it('bytes that are not UTF-8 in the payload take the general path (decoded as the legacy code page)', async () => {
    const { pub, sub } = await pair();
    pub.writeRaw(publishFrame('tpl.t', '"first"'));
    const legacy = Buffer.concat([Buffer.from(`${envelope('tpl.t')}"caf`), Buffer.from([0xe9]), Buffer.from('"}}')]);
    pub.writeRaw(frameOf(legacy));
    await settled(pub);
    expect(sub.deliveries('tpl.t').map((d) => d.payload)).toEqual(['first', 'café']);
  });

  it('a different topic, an id, or extra params never reuse another envelope', async () => {
    const sub = await connected('sub');
    await sub.call('subscribe', { patterns: ['tpl.#'] });
    const pub = await connected('pub');
    pub.writeRaw(publishFrame('tpl.a', '1'));
    pub.writeRaw(publishFrame('tpl.b', '2'));
    pub.writeRaw(publishFrame('tpl.a', '3'));
    pub.writeRaw(encodeFrame(`${envelope('tpl.a')}4},"id":"p4"}`));
    pub.writeRaw(encodeFrame(`${envelope('tpl.a')}5,"qos":1}}`));
    const answered = await pub.waitFor((f) => f.id === 'p4');
    expect(answered.result.delivered).toBe(1);
    await settled(pub);
    const got = sub.deliveries().map((d) => [d.topic, d.payload, d.qos]);
    expect(got).toEqual([
      ['tpl.a', 1, 0],
      ['tpl.b', 2, 0],
      ['tpl.a', 3, 0],
      ['tpl.a', 4, 0],
      ['tpl.a', 5, 1],
    ]);
  });

  it('a reserved topic is refused every time, not only the first', async () => {
    const { pub } = await pair();
    pub.writeRaw(publishFrame('system.fake', '1'));
    pub.writeRaw(publishFrame('system.fake', '2'));
    await settled(pub);
    // Notifications get no error answer; the broker must not have routed either.
    const watcher = await connected('watcher');
    await watcher.call('subscribe', { patterns: ['system.fake'] });
    pub.writeRaw(publishFrame('system.fake', '3'));
    await settled(pub);
    expect(watcher.deliveries('system.fake')).toEqual([]);
  });
});

function frameOf(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** The payload bytes inside each delivery frame, as text: a second, raw view on `sub`'s socket. */
async function rawDeliveries(sub: RawClient, pub: RawClient, topic: string, texts: string[]): Promise<string[]> {
  const seen: Buffer[] = [];
  const onData = (chunk: Buffer): void => void seen.push(Buffer.from(chunk));
  sub.socket.on('data', onData);
  await sub.call('subscribe', { patterns: [topic] });
  pub.writeRaw(Buffer.concat(texts.map((t) => publishFrame(topic, t))));
  await sub.waitDeliveries(texts.length, topic);
  sub.socket.off('data', onData);
  const all = Buffer.concat(seen).toString('utf8');
  const marker = `"topic":${JSON.stringify(topic)},"payload":`;
  const out: string[] = [];
  for (let at = all.indexOf(marker); at !== -1; at = all.indexOf(marker, at + 1)) {
    const start = at + marker.length;
    out.push(all.slice(start, all.indexOf(',"timestamp":', start)));
  }
  return out;
}
