/**
 * AckTracker against the plain model it replaced (a Set of pending and a Set of acked
 * client ids per message): the same answers to `ack` and `_internal.message_acks` after
 * any mix of routing (one subscriber by its id alone or in an array, a few, a large
 * fan-out, none), acks (again, from strangers), expired sessions, and records forgotten
 * at the bound.
 */
import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../src/broker/ack-tracker.js';
import { createMessage, type BrokerMessage } from '../../src/broker/message.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface ModelRecord {
  clients: Set<string>;
  pending: Set<string>;
}

const LIMIT = 50;
const CLIENTS = Array.from({ length: 30 }, (_, i) => `c${i}`);

describe('AckTracker', () => {
  it('answers as the Set-per-message model over 20,000 random operations (seeded)', () => {
    const rng = new Rng(15_301);
    const tracker = new AckTracker(LIMIT);
    const model = new Map<string, ModelRecord>();
    /** Each tracked message's id, and the message when this broker made it (acked by number, too). */
    const messages: { id: string; msg?: BrokerMessage }[] = [];
    /** Made and not yet tracked: tracked later, after newer ones (out of order, as behind a journal write). */
    const late: BrokerMessage[] = [];
    for (let step = 0; step < 20_000; step++) {
      const op = rng.int(0, 9);
      if (op <= 2 || messages.length === 0) {
        const fanout = rng.pick([0, 1, 1, 2, 3, 8, 9, 20, 30]);
        const targets = rng.shuffle([...CLIENTS]).slice(0, fanout);
        const kind = rng.int(0, 9);
        let id: string;
        let made: BrokerMessage | undefined;
        if (kind === 0) {
          // Restored from a journal: known by its id alone.
          id = `0000000${step % 10}-0000-4000-8000-${String(step).padStart(12, '0')}`;
          tracker.trackById(id, targets);
        } else {
          if (kind === 3) late.push(createMessage({ topic: 't', payload: null, sender: 's', qos: 1 }));
          const msg = kind <= 2 && late.length > 0 ? late.splice(rng.int(0, late.length - 1), 1)[0]! : createMessage({ topic: 't', payload: null, sender: 's', qos: 1 });
          id = msg.id;
          made = msg;
          // One target goes in as the router passes it: its client id alone (mostly).
          tracker.track(msg, targets.length === 1 && rng.int(0, 3) > 0 ? targets[0]! : targets);
        }
        model.set(id, { clients: new Set(), pending: new Set(targets) });
        if (model.size > LIMIT) model.delete(model.keys().next().value!);
        messages.push({ id, msg: made });
      } else if (op <= 7) {
        const { id, msg } = rng.pick(messages);
        const client = rng.pick(CLIENTS);
        const rec = model.get(id);
        let expected = false;
        if (rec?.pending.delete(client)) {
          rec.clients.add(client);
          expected = true;
        }
        // Else unknown, not routed to it, expired, or acked before: all false.
        // As a templated ack reads it (by number) or any other (by id string).
        const acked = msg !== undefined && rng.int(0, 1) === 0 ? tracker.ackOwn(msg.idSpace!, msg.idSeq!, client) : tracker.ack(id, client);
        expect(acked, `ack ${id} ${client}`).toBe(expected);
      } else if (op === 8) {
        const client = rng.pick(CLIENTS);
        const ids = Array.from({ length: rng.int(1, 10) }, () => rng.pick(messages).id);
        tracker.forgetClient(ids, client);
        for (const id of ids) model.get(id)?.pending.delete(client);
      } else {
        const id = rng.pick(messages).id;
        const rec = model.get(id);
        expect(tracker.get(id), id).toEqual(rec && { clients: [...rec.clients], pending: [...rec.pending] });
      }
    }
    expect(tracker.size).toBe(model.size);
    for (const [id, rec] of model) expect(tracker.get(id)).toEqual({ clients: [...rec.clients], pending: [...rec.pending] });
  });

  it('keeps each message acked by its one target apart from the others, though they share a record', () => {
    const tracker = new AckTracker();
    const [m1, m2, m3] = [1, 2, 3].map(() => createMessage({ topic: 't', payload: null, sender: 's', qos: 1 }));
    tracker.track(m1!, 'a');
    tracker.track(m2!, 'a');
    tracker.track(m3!, ['a']);
    expect([tracker.ack(m1!.id, 'a'), tracker.ackOwn(m2!.idSpace!, m2!.idSeq!, 'a'), tracker.ack(m3!.id, 'a')]).toEqual([true, true, true]);
    // What is said of one (a stranger's ack, an expired session, the same ack again) changes no other.
    expect(tracker.ack(m1!.id, 'b')).toBe(false);
    tracker.forgetClient([m1!.id, m2!.id], 'a');
    tracker.forgetClient([m2!.id], 'b');
    // The same ack again is not awaited any more: false, by id and by number.
    expect([tracker.ack(m2!.id, 'a'), tracker.ackOwn(m3!.idSpace!, m3!.idSeq!, 'a'), tracker.ackOwn(m1!.idSpace!, m1!.idSeq!, 'b')]).toEqual([false, false, false]);
    for (const m of [m1!, m2!, m3!]) expect(tracker.get(m.id), m.id).toEqual({ clients: ['a'], pending: [] });
    // A message routed to one client and acked by another is refused, and stays pending.
    const m4 = createMessage({ topic: 't', payload: null, sender: 's', qos: 1 });
    tracker.track(m4, 'b');
    expect(tracker.ackOwn(m4.idSpace!, m4.idSeq!, 'a')).toBe(false);
    expect(tracker.get(m4.id)).toEqual({ clients: [], pending: ['b'] });
    expect(tracker.ackOwn(m4.idSpace!, m4.idSeq! + 1000, 'b')).toBe(false);
  });

  it('a late target (a retained replay) is pending until it acks; a shared acked-alone record stays as it was', () => {
    const tracker = new AckTracker();
    const [m1, m2, m3, m4] = [1, 2, 3, 4].map(() => createMessage({ topic: 't', payload: null, sender: 's', qos: 1 }));
    tracker.track(m1!, 'a');
    tracker.track(m2!, 'a');
    tracker.track(m3!, ['a', 'b']);
    tracker.track(m4!, []);
    expect([tracker.ack(m1!.id, 'a'), tracker.ack(m2!.id, 'a')]).toEqual([true, true]);
    for (const m of [m1!, m3!, m4!]) tracker.addTarget(m.id, 'late');
    tracker.addTarget(m3!.id, 'b'); // a target already: no change
    tracker.addTarget('unknown-id', 'late');
    expect(tracker.get(m1!.id)).toEqual({ clients: ['a'], pending: ['late'] });
    expect(tracker.get(m2!.id)).toEqual({ clients: ['a'], pending: [] });
    expect(tracker.get(m3!.id)).toEqual({ clients: [], pending: ['a', 'b', 'late'] });
    expect(tracker.get(m4!.id)).toEqual({ clients: [], pending: ['late'] });
    expect([tracker.ack(m1!.id, 'late'), tracker.ackOwn(m4!.idSpace!, m4!.idSeq!, 'late'), tracker.ack(m1!.id, 'late')]).toEqual([true, true, false]);
    expect(tracker.get(m1!.id)).toEqual({ clients: ['a', 'late'], pending: [] });
    expect(tracker.get(m4!.id)).toEqual({ clients: ['late'], pending: [] });
    // A client whose session expired unacked and that subscribes anew: pending again.
    tracker.forgetClient([m3!.id], 'b');
    expect(tracker.get(m3!.id)).toEqual({ clients: [], pending: ['a', 'late'] });
    tracker.addTarget(m3!.id, 'b');
    expect(tracker.get(m3!.id)).toEqual({ clients: [], pending: ['a', 'b', 'late'] });
  });

  it('tracks a restored message by id, its client ids taken once', () => {
    const tracker = new AckTracker();
    tracker.trackById('m-1', new Set(['a', 'b']));
    tracker.trackById('m-2', ['a', 'a']);
    expect(tracker.ack('m-1', 'b')).toBe(true);
    expect(tracker.get('m-1')).toEqual({ clients: ['b'], pending: ['a'] });
    expect(tracker.get('m-2')).toEqual({ clients: [], pending: ['a'] });
    expect(tracker.ack('m-3', 'a')).toBe(false);
  });
});
