/**
 * The ack-template path (src/broker/ack-template.ts): after one plain `ack` notification,
 * frames that repeat its envelope have only their message id read. Over real TCP: acks
 * taken that way count as acks everywhere (`_internal.message_acks`, redelivery after a
 * reconnect), and nothing the general path treats differently slips through the shortcut.
 */
import { describe, expect, it } from 'vitest';
import type { AckTracker } from '../../src/broker/ack-tracker.js';
import { createMessage } from '../../src/broker/message.js';
import type { SessionStore } from '../../src/broker/session-store.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import type { RawClient } from '../helpers/raw-client.js';
import { useBrokerPerTest } from '../helpers/test-bed.js';

const broker = useBrokerPerTest();
const { connected } = broker;

const COMPACT = '{"jsonrpc":"2.0","method":"ack","params":{"message_id":"';
/** What the Python client's json.dumps writes. */
const PYTHON = '{"jsonrpc": "2.0", "method": "ack", "params": {"message_id": "';
const ackFrame = (head: string, id: string): Buffer => encodeFrame(`${head}${id}"}}`);

/** Everything `c` sent before this has been handled (one connection, in order). */
async function settled(c: RawClient): Promise<void> {
  expect((await c.call('ping')).result.pong).toBe(true);
}

/** `n` QoS 1 messages on `topic` from a new publisher, delivered to `sub`; their ids. */
async function published(sub: RawClient, topic: string, n: number): Promise<string[]> {
  const pub = await connected(`pub-${topic}`);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await pub.call('publish', { topic, payload: { i }, qos: 1 })).result.message_id as string);
  await sub.waitDeliveries(n, topic);
  return ids;
}

async function acksOf(c: RawClient, id: string): Promise<{ clients: string[]; pending: string[] }> {
  const res = await c.call('_internal.message_acks', { message_id: id });
  return { clients: res.result.clients, pending: res.result.pending };
}

describe('ack template (repeated envelopes)', () => {
  for (const [name, head] of [['compact', COMPACT], ["Python's", PYTHON]] as const) {
    it(`acks a stream of ${name} ack frames: each is recorded, and none is redelivered after a reconnect`, async () => {
      const sub = await connected('acker');
      await sub.call('subscribe', { patterns: ['at.t'] });
      const ids = await published(sub, 'at.t', 12);
      // The first teaches the envelope; the others (all but the last two) take the shortcut, in one write.
      sub.writeRaw(Buffer.concat(ids.slice(0, 10).map((id) => ackFrame(head, id))));
      await settled(sub);
      for (const id of ids.slice(0, 10)) expect(await acksOf(sub, id)).toEqual({ clients: ['acker'], pending: [] });
      for (const id of ids.slice(10)) expect(await acksOf(sub, id)).toEqual({ clients: [], pending: ['acker'] });
      sub.close();
      await sub.closed;
      // Only the two unacked messages come back to the same client id.
      const again = await connected('acker');
      const redelivered = await again.waitDeliveries(2, 'at.t');
      expect(redelivered.map((d) => [d.message_id, d.redelivered])).toEqual(ids.slice(10).map((id) => [id, true]));
      await settled(again);
      expect(again.deliveries('at.t')).toHaveLength(2);
    });
  }

  it('frames in the envelope that are not plain acks take the full path: escaped ids, requests, extra params, broken JSON', async () => {
    const sub = await connected('acker');
    await sub.call('subscribe', { patterns: ['at.t'] });
    const ids = await published(sub, 'at.t', 5);
    sub.writeRaw(ackFrame(COMPACT, ids[0]!));
    // The same id spelled with an escape for its first character: still that id.
    const escaped = `\\u00${ids[1]!.charCodeAt(0).toString(16)}${ids[1]!.slice(1)}`;
    sub.writeRaw(ackFrame(COMPACT, escaped));
    // A request in the same envelope gets its answer.
    sub.writeRaw(encodeFrame(`${COMPACT}${ids[2]}"},"id":"r1"}`));
    const answered = await sub.waitFor((f) => f.id === 'r1');
    expect(answered.result).toEqual({ acked: true });
    // Extra params: acked by the general path (which ignores names it does not know).
    sub.writeRaw(encodeFrame(`${COMPACT}${ids[3]}","extra":1}}`));
    // Not JSON, though it starts like an ack: a parse error, and nothing acked.
    sub.writeRaw(encodeFrame(`${COMPACT}${ids[4]}"}}}`));
    const refused = await sub.waitFor((f) => f.error !== undefined);
    expect(refused).toMatchObject({ id: null, error: { code: -32700 } });
    await settled(sub);
    for (const id of ids.slice(0, 4)) expect(await acksOf(sub, id)).toEqual({ clients: ['acker'], pending: [] });
    expect(await acksOf(sub, ids[4]!)).toEqual({ clients: [], pending: ['acker'] });
    // An unknown id on the shortcut is an ack of nothing; later ones still count.
    sub.writeRaw(Buffer.concat([ackFrame(COMPACT, 'no-such-id'), ackFrame(COMPACT, ids[4]!)]));
    await settled(sub);
    expect(await acksOf(sub, ids[4]!)).toEqual({ clients: ['acker'], pending: [] });
    expect(sub.frames.filter((f) => f.error !== undefined)).toHaveLength(1);
  });

  it('acks an id of another id space (a journal written by an earlier broker process) by its string', async () => {
    const sub = await connected('acker');
    await sub.call('subscribe', { patterns: ['at.t'] });
    const ids = await published(sub, 'at.t', 1);
    sub.writeRaw(ackFrame(COMPACT, ids[0]!));
    await settled(sub);
    // What a restore from an earlier process's journal records: ids of its id space, in flight to acker.
    const internals = broker.current.broker as unknown as { sessions: SessionStore; acks: AckTracker };
    const session = internals.sessions.get('acker')!;
    const foreign = ['0a0b0c0d-0e0f-4a0b-8c0d-00000000002a', '0a0b0c0d-0e0f-4a0b-8c0d-00000000002b'];
    for (const id of foreign) {
      session.inflight.setById(id, { ...createMessage({ topic: 'at.t', payload: null, sender: 'p', qos: 1 }), id, idSpace: undefined, idSeq: undefined });
      internals.acks.trackById(id, ['acker']);
    }
    sub.writeRaw(ackFrame(COMPACT, foreign[0]!));
    await settled(sub);
    expect(await acksOf(sub, foreign[0]!)).toEqual({ clients: ['acker'], pending: [] });
    expect(await acksOf(sub, foreign[1]!)).toEqual({ clients: [], pending: ['acker'] });
    expect([session.inflight.get(foreign[0]!), session.inflight.get(foreign[1]!)?.id]).toEqual([undefined, foreign[1]]);
  });

  it("one client's envelope never acks for another", async () => {
    const a = await connected('a');
    const b = await connected('b');
    await a.call('subscribe', { patterns: ['at.t'] });
    await b.call('subscribe', { patterns: ['at.t'] });
    const ids = await published(a, 'at.t', 3);
    await b.waitDeliveries(3, 'at.t');
    a.writeRaw(Buffer.concat(ids.map((id) => ackFrame(COMPACT, id))));
    b.writeRaw(ackFrame(PYTHON, ids[0]!));
    await settled(a);
    await settled(b);
    expect(await acksOf(a, ids[0]!)).toEqual({ clients: ['a', 'b'], pending: [] });
    for (const id of ids.slice(1)) expect(await acksOf(a, id)).toEqual({ clients: ['a'], pending: ['b'] });
  });
});
