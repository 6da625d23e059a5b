/**
 * A broker answers a requester in the turn its reply comes (pending-answer.ts): these pin
 * that the answer is handed over synchronously, once, whether it came before or after
 * the dispatcher listened, and that a timeout settles it the same way.
 */
import { describe, expect, it } from 'vitest';
import { PendingAnswer } from '../../src/broker/pending-answer.js';
import { PendingReplies } from '../../src/protocol/pending-replies.js';
import { ManualClock } from '../helpers/manual-clock.js';

type Heard = [failed: boolean, value: unknown];

function listen(answer: PendingAnswer): Heard[] {
  const heard: Heard[] = [];
  answer.onSettled((failed, value) => heard.push([failed, value]));
  return heard;
}

describe('PendingAnswer', () => {
  it('hands a result to its listener in the same call, once; later settles are ignored', () => {
    const answer = new PendingAnswer();
    const heard = listen(answer);
    expect(heard).toEqual([]);
    answer.resolve({ pid: 1 });
    expect(heard).toEqual([[false, { pid: 1 }]]);
    answer.resolve('second');
    answer.reject(new Error('late'));
    expect(heard).toEqual([[false, { pid: 1 }]]);
  });

  it('an answer that came before anyone listened is handed over when the listener arrives', () => {
    const answer = new PendingAnswer();
    const err = new Error('no responders');
    answer.reject(err);
    expect(listen(answer)).toEqual([[true, err]]);
  });

  it('has one listener', () => {
    const answer = new PendingAnswer();
    listen(answer);
    expect(() => listen(answer)).toThrow(RangeError);
  });

  it('toPromise resolves or rejects with the answer', async () => {
    const ok = new PendingAnswer();
    const okPromise = ok.toPromise();
    ok.resolve(7);
    await expect(okPromise).resolves.toBe(7);
    const bad = new PendingAnswer();
    bad.reject(new Error('timed out'));
    await expect(bad.toPromise()).rejects.toThrow('timed out');
  });
});

describe('PendingReplies.openSettling', () => {
  const timeoutError = (topic: string, ms: number): Error => new Error(`no reply on ${topic} within ${ms} ms`);

  it('settles in the call that resolves it, and only once', () => {
    const replies = new PendingReplies<string, string>({ clock: new ManualClock(), timeoutError });
    const answer = new PendingAnswer();
    const heard = listen(answer);
    replies.openSettling('t1', 'svc.q', 5000, answer);
    expect(replies.size).toBe(1);
    expect(replies.resolve('t1', 'yes')).toBe(true);
    expect(heard).toEqual([[false, 'yes']]);
    expect(replies.resolve('t1', 'again')).toBe(false);
    expect(replies.size).toBe(0);
  });

  it('a timeout rejects with the configured error, and a reply after it is not accepted', () => {
    const clock = new ManualClock();
    const replies = new PendingReplies<string, string>({ clock, timeoutError });
    const answer = new PendingAnswer();
    const heard = listen(answer);
    replies.openSettling('t1', 'svc.q', 5000, answer);
    clock.advance(4999);
    expect(heard).toEqual([]);
    clock.advance(1);
    expect(heard).toHaveLength(1);
    expect(heard[0]![0]).toBe(true);
    expect((heard[0]![1] as Error).message).toBe('no reply on svc.q within 5000 ms');
    expect(replies.resolve('t1', 'late')).toBe(false);
  });

  it('refuses a key that is already waiting, for both forms', () => {
    const replies = new PendingReplies<string, string>({ clock: new ManualClock(), timeoutError });
    replies.openSettling('k', 'a', 0, new PendingAnswer());
    expect(() => replies.openSettling('k', 'b', 0, new PendingAnswer())).toThrow(RangeError);
    expect(() => replies.open('k', 'b', 0)).toThrow(RangeError);
  });

  it('rejectWhere settles the matching entries through their own settle', () => {
    const replies = new PendingReplies<string, string>({ clock: new ManualClock(), timeoutError });
    const a = new PendingAnswer();
    const b = new PendingAnswer();
    const heardA = listen(a);
    const heardB = listen(b);
    replies.openSettling('a', 'conn-1', 0, a);
    replies.openSettling('b', 'conn-2', 0, b);
    expect(replies.rejectWhere(() => new Error('requester disconnected'), (meta) => meta === 'conn-1')).toBe(1);
    expect(heardA.map(([failed]) => failed)).toEqual([true]);
    expect(heardB).toEqual([]);
  });
});
