/**
 * The broker gives each socket read's memory back as soon as the read is handled
 * (connection.ts), so nothing may keep a view of a read past its handling: a payload kept
 * for later must be the broker's own copy. Over real TCP, frames that each keep their
 * payload (a retained message, QoS 1 messages for an offline session, journaled or not)
 * arrive together in one write, some split across reads, and what is delivered later
 * must be exactly what was sent.
 */
import { describe, expect, it } from 'vitest';
import { encodeJsonFrame } from '../../src/protocol/framing.js';
import { useTestBed } from '../helpers/test-bed.js';

const { broker, connected, tempDir } = useTestBed();

/** Distinct payloads of several sizes: small, past a frame-store slot (2 KiB), and past 64 KiB (a read). */
const PAYLOADS = [
  { n: 1, text: 'a small one' },
  { n: 2, text: 'ü'.repeat(1500) },
  { n: 3, text: 'x'.repeat(70 * 1024) },
  { n: 4, list: [1, 2, 3], nested: { ok: true } },
];

describe.each([false, true])('payloads kept past their read (journaled: %s)', (journaled) => {
  it('a retained message and QoS 1 messages for an offline session are delivered as they were sent', async () => {
    const b = await broker(journaled ? { persistence_enabled: true, persistence_path: tempDir('read-release-') } : {});
    const keeper = await connected(b.port, 'keeper');
    expect((await keeper.call('subscribe', { patterns: ['kept.q1'] })).error).toBeUndefined();
    // A clean disconnect: the session, offline, keeps what is published for it.
    expect((await keeper.call('disconnect')).result).toEqual({ disconnected: true });
    await keeper.waitClosed();
    const pub = await connected(b.port, 'pub');

    const frames: Buffer[] = [];
    let id = 100;
    frames.push(encodeJsonFrame({ jsonrpc: '2.0', id: id++, method: 'publish', params: { topic: 'kept.retained', payload: PAYLOADS[0], retain: true } }));
    for (const payload of PAYLOADS) frames.push(encodeJsonFrame({ jsonrpc: '2.0', id: id++, method: 'publish', params: { topic: 'kept.q1', payload, qos: 1 } }));
    frames.push(encodeJsonFrame({ jsonrpc: '2.0', id: id++, method: 'publish', params: { topic: 'kept.retained.big', payload: PAYLOADS[2], retain: true } }));
    const answered = pub.waitFor((f) => f.id === id - 1 && !f.method, 10_000, 'the last publish answered');
    pub.writeRaw(Buffer.concat(frames));
    expect((await answered).error).toBeUndefined();
    // Reads after those, to be handled (and given back) before anything is delivered.
    for (let i = 0; i < 20; i++) pub.writeRaw(encodeJsonFrame({ jsonrpc: '2.0', method: 'publish', params: { topic: 'noise', payload: 'y'.repeat(8000) } }));
    await pub.call('subscriptions', {});

    const back = await connected(b.port, 'keeper');
    const redelivered = await back.waitDeliveries(PAYLOADS.length, 'kept.q1', 10_000);
    expect(redelivered.map((d) => d.payload)).toEqual(PAYLOADS);

    const late = await connected(b.port, 'late');
    expect((await late.call('subscribe', { patterns: ['kept.retained', 'kept.retained.big'] })).error).toBeUndefined();
    expect((await late.waitDelivery('kept.retained')).payload).toEqual(PAYLOADS[0]);
    expect((await late.waitDelivery('kept.retained.big')).payload).toEqual(PAYLOADS[2]);
  });
});
