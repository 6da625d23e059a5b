/**
 * PendingBatches (src/client/pending-batches.ts): the client's one wait for a batch of
 * calls. Answers settle a batch in any order and only once; ids are found among several
 * open batches; a missing answer times out on a manual clock; a lost connection rejects
 * every batch.
 */
import { describe, expect, it } from 'vitest';
import { PendingBatches, type BatchAnswer } from '../../src/client/pending-batches.js';
import { PendingCalls } from '../../src/client/pending-calls.js';
import { ErrorCode, RpcError } from '../../src/protocol/errors.js';
import { ManualClock } from '../helpers/manual-clock.js';

const timeoutError = (method: string, ms: number): Error => new RpcError(ErrorCode.TIMEOUT, `no reply to "${method}" within ${ms} ms`);
const ok = (result: unknown): BatchAnswer => ({ ok: true, result });

/** Whether `p` has settled, after the promise jobs already queued have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('PendingBatches', () => {
  it('resolves once every id has its answer, in id order whatever the arrival order', async () => {
    const batches = new PendingBatches(new ManualClock(), timeoutError);
    const p = batches.wait(10, 4, 'publish', 1000);
    for (const id of [12, 10, 13]) expect(batches.answer(id, ok(id))).toBe(true);
    expect(await settled(p)).toBe(false);
    const refused = new RpcError(ErrorCode.INVALID_PARAMS, 'bad topic');
    expect(batches.answer(11, { ok: false, error: refused })).toBe(true);
    expect(await p).toEqual([ok(10), { ok: false, error: refused }, ok(12), ok(13)]);
    expect(batches.size).toBe(0);
  });

  it('takes an answer once, and none for ids outside every open batch', async () => {
    const batches = new PendingBatches(new ManualClock(), timeoutError);
    const p = batches.wait(5, 2, 'publish', 0);
    expect(batches.answer(5, ok('first'))).toBe(true);
    expect(batches.answer(5, ok('again'))).toBe(false);
    for (const id of [4, 7, 0, -1, 5.5]) expect(batches.answer(id, ok(id)), String(id)).toBe(false);
    expect(batches.answer(6, ok('second'))).toBe(true);
    expect(await p).toEqual([ok('first'), ok('second')]);
    expect(batches.answer(6, ok('late'))).toBe(false);
  });

  it('finds each id among many open batches, whichever settles first', async () => {
    const batches = new PendingBatches(new ManualClock(), timeoutError);
    const sizes = [1, 3, 500, 2, 7, 1, 40];
    const waits: { first: number; count: number; p: Promise<BatchAnswer[]> }[] = [];
    let next = 1;
    for (const count of sizes) {
      waits.push({ first: next, count, p: batches.wait(next, count, 'publish', 0) });
      next += count + 3; // gaps: ids of single calls between batches
    }
    // Answer the batches from the last to the first, each one's ids backwards.
    for (const { first, count } of [...waits].reverse()) {
      for (let id = first + count - 1; id >= first; id--) expect(batches.answer(id, ok(id))).toBe(true);
    }
    for (const { first, count, p } of waits) expect(await p).toEqual(Array.from({ length: count }, (_, k) => ok(first + k)));
    expect(batches.size).toBe(0);
  });

  it('rejects with the timeout error when an answer is missing after the timeout, and takes no late answer', async () => {
    const clock = new ManualClock();
    const batches = new PendingBatches(clock, timeoutError);
    const p = batches.wait(1, 3, 'publish', 2000);
    batches.answer(1, ok(1));
    batches.answer(3, ok(3));
    clock.advance(1999);
    expect(await settled(p)).toBe(false);
    clock.advance(1);
    await expect(p).rejects.toMatchObject({ code: ErrorCode.TIMEOUT, message: 'no reply to "publish" within 2000 ms' });
    expect(batches.answer(2, ok(2))).toBe(false);
    expect(batches.size).toBe(0);
  });

  it('clears the timer of a batch that completes', async () => {
    const clock = new ManualClock();
    const batches = new PendingBatches(clock, timeoutError);
    const p = batches.wait(1, 1, 'publish', 2000);
    expect(clock.pending()).toHaveLength(1);
    batches.answer(1, ok(1));
    await p;
    expect(clock.pending()).toHaveLength(0);
  });

  it('rejectAll rejects every open batch with its own method and clears their timers', async () => {
    const clock = new ManualClock();
    const batches = new PendingBatches(clock, timeoutError);
    const a = batches.wait(1, 2, 'publish', 1000);
    const b = batches.wait(3, 2, 'ack', 0);
    batches.answer(1, ok(1));
    batches.rejectAll((method) => new RpcError(ErrorCode.NOT_CONNECTED, `lost before "${method}"`));
    await expect(a).rejects.toMatchObject({ code: ErrorCode.NOT_CONNECTED, message: 'lost before "publish"' });
    await expect(b).rejects.toMatchObject({ message: 'lost before "ack"' });
    expect(clock.pending()).toHaveLength(0);
    expect(batches.answer(2, ok(2))).toBe(false);
  });
});

describe('PendingCalls with batches', () => {
  it('gives a batch consecutive ids that no single call shares, and settles each kind from responses', async () => {
    const calls = new PendingCalls(new ManualClock());
    const single = calls.create('ping', 0);
    const { first, promise } = calls.createBatch('publish', 3, 0);
    const after = calls.create('ping', 0);
    expect(first).toBe(single.id + 1);
    expect(after.id).toBe(first + 3);
    expect(calls.size).toBe(3);
    expect(calls.settle(first + 1, { error: { code: ErrorCode.INVALID_PARAMS, message: 'bad topic', data: { topic: 'a..b' } } })).toBe(true);
    expect(calls.settle(after.id, { result: 'pong' })).toBe(true);
    calls.failInBatch(first + 2, new RpcError(ErrorCode.INVALID_REQUEST, 'too large'));
    expect(calls.settle(first, { result: { message_id: 'm1' } })).toBe(true);
    const answers = await promise;
    expect(answers[0]).toEqual(ok({ message_id: 'm1' }));
    expect(answers[1]).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_PARAMS, message: 'bad topic', data: { topic: 'a..b' } } });
    expect((answers[1] as { error: unknown }).error).toBeInstanceOf(RpcError);
    expect(answers[2]).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_REQUEST } });
    expect(await after.promise).toBe('pong');
    expect(calls.settle(first, { result: 'late' })).toBe(false);
    expect(calls.size).toBe(1); // the first ping
  });
});
