import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../src/broker/message.js';
import { DurableState } from '../../src/broker/persistence/durable-state.js';
import { encodeRecord } from '../../src/broker/persistence/record-codec.js';
import type { JournalRecord } from '../../src/broker/persistence/records.js';

const T0 = Date.UTC(2026, 0, 1);
const msg = (id: string, extra: Partial<BrokerMessage> = {}): BrokerMessage => ({
  id, topic: `t/${id}`, payload: { id }, sender: 'pub', timestamp: '2026-01-01T00:00:00.000Z', qos: 1, expiresAt: 0, ...extra,
});

function fold(records: readonly JournalRecord[], state = new DurableState()): DurableState {
  for (const r of records) state.apply(r, encodeRecord(r).length);
  return state;
}

const pendingIds = (s: DurableState, clientId: string): string[] | undefined => s.recovered().sessions.get(clientId)?.pending.map((m) => m.id);

describe('DurableState', () => {
  it('keeps a message pending per session until each acks or drops it', () => {
    const s = fold([
      { type: 'session', clientId: 'a', patterns: ['t.*'], expiresAt: null },
      { type: 'session', clientId: 'b', patterns: ['#'], expiresAt: null },
      { type: 'enqueue', message: msg('m1'), clientIds: ['a', 'b'] },
      { type: 'enqueue', message: msg('m2'), clientIds: ['a'] },
      { type: 'ack', clientId: 'a', messageId: 'm1' },
    ]);
    expect(pendingIds(s, 'a')).toEqual(['m2']);
    expect(pendingIds(s, 'b')).toEqual(['m1']);
    expect([s.messageCount, s.deliveryCount]).toEqual([2, 2]);
    fold([{ type: 'drop', clientId: 'b', messageId: 'm1' }, { type: 'ack', clientId: 'a', messageId: 'nope' }], s);
    expect(pendingIds(s, 'b')).toEqual([]);
    expect([s.messageCount, s.deliveryCount]).toEqual([1, 1]);
  });

  it('replaces a session\'s patterns and expiry but keeps its messages; session_end takes them all', () => {
    const s = fold([
      { type: 'session', clientId: 'a', patterns: ['x'], expiresAt: null },
      { type: 'enqueue', message: msg('m1'), clientIds: ['a'] },
      { type: 'session', clientId: 'a', patterns: ['y', 'z'], expiresAt: T0 + 5000 },
    ]);
    expect(s.recovered().sessions.get('a')).toEqual({ clientId: 'a', patterns: ['y', 'z'], expiresAt: T0 + 5000, pending: [msg('m1')] });
    fold([{ type: 'session_end', clientId: 'a' }], s);
    expect(s.recovered().sessions.size).toBe(0);
    expect([s.messageCount, s.deliveryCount, s.liveBytes]).toEqual([0, 0, 0]);
  });

  it('creates a session for an enqueue that names an unknown one: an acknowledged message is never dropped', () => {
    const s = fold([{ type: 'enqueue', message: msg('m1'), clientIds: ['ghost'] }]);
    expect(s.recovered().sessions.get('ghost')).toEqual({ clientId: 'ghost', patterns: [], expiresAt: null, pending: [msg('m1')] });
  });

  it('retains the last message per topic; unretain and a clearing payload clear it', () => {
    const s = fold([
      { type: 'retain', message: msg('r1', { topic: 'a' }) },
      { type: 'retain', message: msg('r2', { topic: 'a' }) },
      { type: 'retain', message: msg('r3', { topic: 'b' }) },
      { type: 'retain', message: msg('r4', { topic: 'c' }) },
      { type: 'unretain', topic: 'b' },
      { type: 'retain', message: msg('r5', { topic: 'c', payload: null }) },
    ]);
    expect([...s.recovered().retained.entries()]).toEqual([['a', msg('r2', { topic: 'a' })]]);
    expect(s.liveBytes).toBe(encodeRecord({ type: 'retain', message: msg('r2', { topic: 'a' }) }).length);
  });

  it('does not revive what expired: messages past their TTL, detached sessions past their expiry', () => {
    const s = fold([
      { type: 'session', clientId: 'attached', patterns: ['#'], expiresAt: null },
      { type: 'session', clientId: 'gone', patterns: ['#'], expiresAt: T0 },
      { type: 'session', clientId: 'later', patterns: ['#'], expiresAt: T0 + 1 },
      { type: 'enqueue', message: msg('old', { expiresAt: T0 }), clientIds: ['attached', 'later'] },
      { type: 'enqueue', message: msg('fresh', { expiresAt: T0 + 1 }), clientIds: ['attached', 'gone'] },
      { type: 'enqueue', message: msg('forever'), clientIds: ['later'] },
      { type: 'retain', message: msg('r-old', { topic: 'a', expiresAt: T0 - 1 }) },
      { type: 'retain', message: msg('r-new', { topic: 'b', expiresAt: T0 + 60_000 }) },
    ]);
    expect(s.prune(T0)).toEqual({ messages: 1, retained: 1, sessions: 1 });
    const r = s.recovered();
    expect([...r.sessions.keys()]).toEqual(['attached', 'later']);
    expect(pendingIds(s, 'attached')).toEqual(['fresh']);
    expect(pendingIds(s, 'later')).toEqual(['forever']);
    expect([...r.retained.keys()]).toEqual(['b']);
  });

  it('rebuilds itself exactly from its snapshot records, order of every session included (seeded random histories)', () => {
    let seed = 0x5eed;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const records: JournalRecord[] = [];
      const clients = ['a', 'b', 'c', 'd'];
      let id = 0;
      for (let i = 0; i < 200; i++) {
        const c = clients[rand(clients.length)]!;
        const pick = rand(10);
        if (pick < 4) records.push({ type: 'enqueue', message: msg(`m${id++}`), clientIds: clients.filter(() => rand(2) === 0) });
        else if (pick < 6) records.push({ type: rand(2) ? 'ack' : 'drop', clientId: c, messageId: `m${rand(id + 1)}` });
        else if (pick < 7) records.push({ type: 'session', clientId: c, patterns: [`p${rand(5)}`], expiresAt: rand(2) ? null : T0 + rand(100) });
        else if (pick < 8) records.push({ type: 'session_end', clientId: c });
        else if (pick < 9) records.push({ type: 'retain', message: msg(`r${i}`, { topic: `topic${rand(4)}`, payload: rand(5) ? i : '' }) });
        else records.push({ type: 'unretain', topic: `topic${rand(4)}` });
      }
      const live = fold(records);
      const rebuilt = fold(live.snapshotRecords());
      expect(rebuilt.recovered(), `round ${round}`).toEqual(live.recovered());
      expect([rebuilt.messageCount, rebuilt.deliveryCount, rebuilt.sessionCount, rebuilt.retainedCount]).toEqual([
        live.messageCount, live.deliveryCount, live.sessionCount, live.retainedCount,
      ]);
      // About the size of the snapshot's own records: what bounds disk use after compaction.
      const snapshotBytes = live.snapshotRecords().reduce((n, r) => n + encodeRecord(r).length, 0);
      expect(rebuilt.liveBytes).toBe(snapshotBytes);
    }
  });

  it('shares nothing mutable with what it hands out', () => {
    const s = fold([{ type: 'session', clientId: 'a', patterns: ['x'], expiresAt: null }, { type: 'enqueue', message: msg('m1'), clientIds: ['a'] }]);
    const r = s.recovered();
    r.sessions.get('a')!.patterns.push('changed');
    r.sessions.get('a')!.pending.length = 0;
    r.sessions.clear();
    expect(s.recovered().sessions.get('a')).toEqual({ clientId: 'a', patterns: ['x'], expiresAt: null, pending: [msg('m1')] });
  });
});
