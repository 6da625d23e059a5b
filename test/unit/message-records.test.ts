/**
 * MessageRecords against a plain Map keyed by message id as the model: the same contents
 * in the same order after any mix of set (this broker's messages in order, out of order
 * and again; messages restored from the journal, by id alone), delete by message, by id
 * and by sequence number, upgrade by id and by sequence number, shift and clear.
 */
import { describe, expect, it } from 'vitest';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { IdSpace } from '../../src/broker/message-id.js';
import { MessageRecords } from '../../src/broker/message-records.js';
import type { SeqLane } from '../../src/broker/seq-lane.js';
import { shiftModel } from '../helpers/map-model.js';

const own = (): BrokerMessage => createMessage({ topic: 't', payload: null, sender: 's', qos: 1 });
/** A message as the journal restores it: an id from another broker process, no sequence number. */
const restored = (n: number): BrokerMessage => ({ ...own(), id: `0000000${n % 10}-0000-4000-8000-${String(n).padStart(12, '0')}`, idSpace: undefined, idSeq: undefined });

/** A message of another id space (as after a rollover), with sequence number `seq`. */
const ofSpace = (space: IdSpace, seq: number): BrokerMessage => ({ ...own(), idSpace: space, idSeq: seq, id: space.format(seq) });
const OTHER_SPACE = new IdSpace('ffffffff-ffff-4fff-8fff-');

describe('MessageRecords', () => {
  it("finds this broker's messages by their id string, and forgets the oldest first across both kinds", () => {
    const r = new MessageRecords<number>();
    const [a, b] = [own(), own()];
    const old = restored(1);
    r.set(a, 1);
    r.setById(old.id, 2);
    r.set(b, 3);
    expect([r.get(a.id), r.get(old.id), r.get(b.id), r.get(own().id)]).toEqual([1, 2, 3, undefined]);
    expect([...r.keys()]).toEqual([a.id, old.id, b.id]);
    expect(r.shift()).toBe(1);
    expect(r.shift()).toBe(2);
    expect(r.delete(b.id)).toBe(true);
    expect(r.delete(b.id)).toBe(false);
    expect([r.size, r.shift()]).toEqual([0, undefined]);
  });

  it('a message set again keeps its place; one that arrives out of order is kept in order of arrival', () => {
    const r = new MessageRecords<number>();
    const [a, b, c] = [own(), own(), own()];
    r.set(a, 1);
    r.set(c, 3);
    r.set(b, 2); // older sequence number, later arrival
    r.set(a, 10);
    expect([...r.values()]).toEqual([10, 3, 2]);
    expect(r.deleteMessage(b)).toBe(true);
    r.set(b, 20);
    expect([...r.keys()]).toEqual([a.id, c.id, b.id]);
    expect([r.get(b.id), r.get(c.id)]).toEqual([20, 3]);
  });

  it('upgrade replaces a value in place, in the ring and beside it, and leaves an unknown id unrecorded', () => {
    const r = new MessageRecords<{ n: number }>();
    const [a, b] = [own(), own()];
    const [old, later] = [restored(1), restored(2)];
    const [va, vOld, vb, vLater] = [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }];
    r.set(a, va);
    r.setById(old.id, vOld);
    r.set(b, vb);
    r.setById(later.id, vLater);
    const bump = (v: { n: number }): { n: number } => ({ n: v.n * 10 });
    expect(r.upgrade(a.id, bump, null)).toEqual({ n: 10 });
    expect(r.upgrade(old.id, bump, null)).toEqual({ n: 20 });
    // Returning the same value changes nothing.
    expect(r.upgrade(b.id, (v) => v, null)).toBe(vb);
    expect(r.upgradeOwn(b.idSpace!, b.idSeq!, (v) => v, null)).toBe(vb);
    // The argument reaches the upgrade.
    expect(r.upgradeOwn(b.idSpace!, b.idSeq!, (v, by: number) => (by === 1 ? v : { n: -1 }), 1)).toBe(vb);
    const unknown = own();
    expect([r.upgrade(unknown.id, bump, null), r.upgradeOwn(unknown.idSpace!, unknown.idSeq!, bump, null)]).toEqual([undefined, undefined]);
    expect(r.upgrade(restored(3).id, bump, null)).toBeUndefined();
    expect([r.size, [...r.keys()]]).toEqual([4, [a.id, old.id, b.id, later.id]]);
    expect([...r.values()].map((v) => v.n)).toEqual([10, 20, 3, 4]);
    expect([r.get(a.id)!.n, r.get(old.id)!.n]).toEqual([10, 20]);
    // The upgraded values are found and shifted like any other, in their places.
    expect([r.shift()!.n, r.shift()!.n, r.shift(), r.shift(), r.shift()]).toEqual([10, 20, vb, vLater, undefined]);
  });

  it('matches a Map through 50,000 random operations', () => {
    let seed = 4242;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pool: BrokerMessage[] = [];
    for (let i = 0; i < 400; i++) pool.push(i % 5 === 4 ? restored(i) : own());
    const r = new MessageRecords<number>();
    const model = new Map<string, number>();
    let fresh = 0;
    for (let i = 0; i < 50_000; i++) {
      const op = rand(100);
      // Mostly new messages in order, as routing makes them; sometimes an older one again.
      const msg = op < 30 && fresh < pool.length ? pool[fresh++]! : pool[rand(Math.max(1, fresh))]!;
      if (op < 45) {
        if (msg.idSeq === undefined) r.setById(msg.id, i);
        else r.set(msg, i);
        model.set(msg.id, i);
      } else if (op < 60) {
        expect(r.deleteMessage(msg)).toBe(model.delete(msg.id));
      } else if (op < 75) {
        // By number where the dispatcher reads an ack's id from its bytes; by string otherwise.
        const deleted = msg.idSpace !== undefined && rand(2) === 0 ? r.deleteOwn(msg.idSpace, msg.idSeq!) : r.delete(msg.id);
        expect(deleted).toBe(model.delete(msg.id));
      } else if (op < 92) {
        expect(r.shift()).toBe(shiftModel(model));
      } else if (op < 99) {
        const now = (_v: number, n: number): number => n;
        const found = model.has(msg.id);
        const got = msg.idSpace !== undefined && rand(2) === 0 ? r.upgradeOwn(msg.idSpace, msg.idSeq!, now, i) : r.upgrade(msg.id, now, i);
        expect(got).toBe(found ? i : undefined);
        if (found) model.set(msg.id, i);
      } else {
        r.clear();
        model.clear();
      }
      if (fresh === pool.length && rand(50) === 0) {
        fresh = 0;
        for (let k = 0; k < pool.length; k++) pool[k] = k % 5 === 4 ? restored(i * 1000 + k) : own();
      }
      expect(r.size).toBe(model.size);
      if (i % 499 === 0) expect([...r.keys()]).toEqual([...model.keys()]);
      expect(r.get(msg.id)).toBe(model.get(msg.id));
    }
    expect([...r.values()]).toEqual([...model.values()]);
  });

  it('matches a Map as a bounded record at 2,000 entries: acks, evictions, late arrivals and compactions', () => {
    let seed = 777;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const r = new MessageRecords<number>();
    const model = new Map<string, number>();
    const made: BrokerMessage[] = [];
    for (let i = 0; i < 60_000; i++) {
      const op = rand(100);
      if (op < 70) {
        // Mostly a new message; now and then one made earlier arrives late (a journal write).
        const msg = op < 65 || made.length === 0 ? own() : made[made.length - 1 - rand(Math.min(made.length, 3000))]!;
        if (op < 65) made.push(msg);
        r.set(msg, i);
        model.set(msg.id, i);
        if (r.size > 2000) expect(r.shift()).toBe(shiftModel(model));
      } else if (made.length > 0) {
        const msg = made[made.length - 1 - rand(Math.min(made.length, 2500))]!;
        if (op < 80) expect(r.deleteMessage(msg)).toBe(model.delete(msg.id));
        else if (op < 90) expect(r.deleteOwn(msg.idSpace!, msg.idSeq!)).toBe(model.delete(msg.id));
        else expect(r.delete(msg.id)).toBe(model.delete(msg.id));
      }
      expect(r.size).toBe(model.size);
      if (i % 997 === 0) expect([...r.keys()]).toEqual([...model.keys()]);
    }
    expect([...r.values()]).toEqual([...model.values()]);
    for (const [id, v] of model) expect(r.get(id)).toBe(v);
  });

  it('keeps messages of another id space (after a rollover) apart until the ring empties', () => {
    const r = new MessageRecords<number>();
    const [a, b] = [own(), own()];
    const [x, y] = [ofSpace(OTHER_SPACE, 5), ofSpace(OTHER_SPACE, 6)];
    r.set(a, 1);
    r.set(x, 2);
    r.set(b, 3);
    r.set(y, 4);
    expect([...r.keys()]).toEqual([a.id, x.id, b.id, y.id]);
    expect([r.get(x.id), r.get(y.id), r.get(b.id)]).toEqual([2, 4, 3]);
    r.set(x, 20);
    expect(r.deleteMessage(a) && r.deleteMessage(b)).toBe(true);
    // The ring is empty: the next message of the other space opens it in that space.
    const z = ofSpace(OTHER_SPACE, 9);
    r.set(z, 5);
    expect([...r.values()]).toEqual([20, 4, 5]);
    expect([r.delete(x.id), r.deleteOwn(OTHER_SPACE, 9), r.get(y.id)]).toEqual([true, true, 4]);
    // Beside the ring, by number: found through the id its number makes.
    r.set(a, 6);
    expect([r.upgradeOwn(OTHER_SPACE, 6, (v) => v * 10, null), r.deleteOwn(OTHER_SPACE, 6), r.deleteOwn(OTHER_SPACE, 6)]).toEqual([40, true, false]);
    expect([...r.keys()]).toEqual([a.id]);
  });

  it("a restored id of this broker's own space that is in the ring is updated there, not recorded twice", () => {
    const r = new MessageRecords<number>();
    const a = own();
    r.set(a, 1);
    r.setById(a.id, 2);
    expect([r.size, r.get(a.id), [...r.keys()]]).toEqual([1, 2, [a.id]]);
  });

  it('as a bounded record it keeps the newest entries and its memory stays proportional to them', () => {
    const r = new MessageRecords<number>();
    const kept: BrokerMessage[] = [];
    for (let i = 0; i < 100_000; i++) {
      const msg = own();
      r.set(msg, i);
      kept.push(msg);
      if (r.size > 1000) r.shift();
      // Acked in the middle now and then, like in-flight QoS 1 messages.
      if (i % 7 === 0) r.deleteMessage(kept[kept.length - 1 - (i % 500)]!);
    }
    expect(r.size).toBeLessThanOrEqual(1000);
    expect(r.get(kept.at(-1)!.id)).toBe(99_999);
    expect(r.get(kept[90_000]!.id)).toBeUndefined();
    // The ring holds live entries and at most twice as many dead ones (plus slack).
    const lane = (r as unknown as { lane: SeqLane<number> }).lane;
    expect(lane.length).toBeLessThanOrEqual(3 * 1000 + 64);
    expect(lane.capacity).toBeLessThanOrEqual(4096);
    // A longer backlog grows it; emptied, it gives back the arrays it grew to.
    for (let i = 0; i < 5000; i++) r.set(own(), i);
    expect(lane.capacity).toBeGreaterThanOrEqual(5000);
    while (r.size > 0) r.shift();
    expect([lane.length, lane.capacity]).toEqual([0, 16]);
  });
});
