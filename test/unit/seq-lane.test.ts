/**
 * SeqLane against a plain array of records as the model: after any mix of appends, kills
 * (oldest, newest, anywhere), and emptying, the same live records in the same order with
 * the same sequence and order numbers and values, found by the same sequence numbers; and
 * the dead ones it holds stay bounded.
 */
import { describe, expect, it } from 'vitest';
import { SeqLane } from '../../src/broker/seq-lane.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface ModelRecord {
  seq: number;
  order: number;
  value: string;
}

/** The lane's live records, oldest first. */
function liveOf(lane: SeqLane<string>): ModelRecord[] {
  const out: ModelRecord[] = [];
  for (let i = 0; i < lane.length; i++) if (lane.isLiveAt(i)) out.push({ seq: lane.seqAt(i), order: lane.orderAt(i), value: lane.valueAt(i) });
  return out;
}

describe('SeqLane', () => {
  it('holds what a plain array would over 100 seeded random runs, growing, compacting and emptying', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rng = new Rng(seed);
      const lane = new SeqLane<string>();
      let model: ModelRecord[] = [];
      // Small integers as this broker's numbers are, and (every other seed) numbers past 2^31.
      let seq = (seed % 2 === 0 ? 16 ** 11 : 0) + rng.int(0, 1000);
      let order = 0;
      const steps = rng.int(200, 3000);
      for (let step = 0; step < steps; step++) {
        const op = rng.int(0, 9);
        if (op <= 4 || model.length === 0) {
          seq += rng.int(1, 3);
          const value = `v${seq}`;
          lane.push(seq, order, value);
          model.push({ seq, order, value });
          order += rng.int(1, 2);
          continue;
        }
        // Kill the oldest (a record at its bound), the newest, or one anywhere (an ack).
        const k = op === 5 ? 0 : op === 6 ? model.length - 1 : rng.int(0, model.length - 1);
        const victim = model[k]!;
        const at = lane.find(victim.seq);
        expect(at, `seed ${seed} step ${step}: find ${victim.seq}`).toBeGreaterThanOrEqual(0);
        lane.kill(at);
        model = model.filter((r) => r !== victim);
        expect(lane.find(victim.seq)).toBe(-1);
        expect(lane.live).toBe(model.length);
        expect(lane.length, `seed ${seed}: dead ones stay bounded`).toBeLessThanOrEqual(2 * model.length + 64 + 1);
        if (step % 50 === 0) expect(liveOf(lane), `seed ${seed} step ${step}`).toEqual(model);
      }
      expect(liveOf(lane), `seed ${seed}`).toEqual(model);
      for (const r of model) expect(lane.valueAt(lane.find(r.seq))).toBe(r.value);
      expect(lane.lastSeq()).toBe(lane.length === 0 ? -1 : lane.seqAt(lane.length - 1));
      // Emptied from the front, it holds nothing and takes records again.
      while (lane.front() >= 0) lane.kill(lane.front());
      expect([lane.length, lane.live, liveOf(lane)]).toEqual([0, 0, []]);
      lane.push(seq + 1, order, 'again');
      expect(liveOf(lane)).toEqual([{ seq: seq + 1, order, value: 'again' }]);
    }
  });

  it('rebuilds without its dead records once they outnumber the live ones, keeping their order', () => {
    const lane = new SeqLane<string>();
    for (let i = 0; i < 1000; i++) lane.push(100 + i, i, `v${i}`);
    // Kill every record but each tenth, from the newest end, so none is at the front.
    for (let i = 999; i >= 1; i--) if (i % 10 !== 0) lane.kill(lane.find(100 + i));
    expect(lane.live).toBe(100);
    expect(lane.length).toBeLessThanOrEqual(2 * 100 + 64 + 1);
    expect(liveOf(lane)).toEqual(Array.from({ length: 100 }, (_, k) => ({ seq: 100 + 10 * k, order: 10 * k, value: `v${10 * k}` })));
  });

  it('finds by the guessed place and by search alike: every number, held or not, live or dead, in a turned ring', () => {
    const wrong: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed * 977);
      const lane = new SeqLane<string>();
      const live: number[] = []; // oldest first
      const dead = new Set<number>();
      let seq = rng.int(0, 50);
      let order = 0;
      // Mostly consecutive numbers (the guess's case), with gaps; about as many killed as
      // pushed, the oldest half the time (as at a bound), so the ring's head turns and wraps.
      for (let step = 0; step < 1500; step++) {
        seq += rng.chance(0.8) ? 1 : rng.int(2, 5);
        lane.push(seq, order++, `v${seq}`);
        live.push(seq);
        if (live.length > 1 && rng.chance(live.length > 300 ? 0.9 : 0.5)) {
          const [victim] = live.splice(rng.chance(0.5) ? 0 : rng.int(0, live.length - 1), 1);
          lane.kill(lane.find(victim!));
          dead.add(victim!);
        }
        if (step % 50 !== 0) continue;
        const liveSet = new Set(live);
        for (let s = live[0]! - 8; s <= seq + 3; s++) {
          const at = lane.find(s);
          const got = at < 0 ? 'none' : `${lane.seqAt(at)} ${lane.valueAt(at)}`;
          const expected = liveSet.has(s) ? `${s} v${s}` : 'none';
          if (got !== expected) wrong.push(`seed ${seed} step ${step}: find(${s}) gave ${got}, not ${expected}${dead.has(s) ? ' (killed)' : ''}`);
        }
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
