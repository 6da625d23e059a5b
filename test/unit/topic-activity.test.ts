/**
 * The topic table behind `/api/topics`: counts, newest first, and bounded in what it
 * returns and in what it keeps, however many one-off topics go by.
 */
import { describe, expect, it } from 'vitest';
import { createMessage } from '../../src/broker/message.js';
import { TopicActivity } from '../../src/broker/monitor/topic-activity.js';

const msg = (topic: string, payload: unknown = null, sender = 'tester', at = Date.now()) => createMessage({ topic, payload, sender }, at);

describe('TopicActivity', () => {
  it('counts messages per topic and keeps the last sender, payload and timestamp', () => {
    const t = new TopicActivity();
    const first = msg('jobs.activated', { job: 1 }, 'a', Date.UTC(2026, 0, 1, 10, 0, 0));
    const last = msg('jobs.activated', { job: 2 }, 'b', Date.UTC(2026, 0, 1, 10, 0, 5));
    t.record(first);
    t.record(msg('jobs.done', 'x', 'c'));
    t.record(last);
    const jobs = t.recent().find((e) => e.topic === 'jobs.activated')!;
    expect(jobs).toMatchObject({ messages: 2, lastSender: 'b', lastAt: last.timestamp });
    // The message's own payload, not a copy.
    expect(jobs.lastPayload).toBe(last.payload);
    expect(t.recent().find((e) => e.topic === 'jobs.done')!.messages).toBe(1);
  });

  it('lists the most recently used topic first', () => {
    const t = new TopicActivity();
    for (const topic of ['a', 'b', 'c']) t.record(msg(topic));
    t.record(msg('a'));
    expect(t.recent().map((e) => e.topic)).toEqual(['a', 'c', 'b']);
    t.record(msg('b'));
    expect(t.recent().map((e) => e.topic)).toEqual(['b', 'a', 'c']);
  });

  it('is empty before any message', () => {
    expect(new TopicActivity().recent()).toEqual([]);
  });

  it('after 1,000 distinct topics returns at most `limit`, and they are the newest', () => {
    const t = new TopicActivity(100);
    for (let i = 0; i < 1000; i++) t.record(msg(`one-off.${i}`));
    const recent = t.recent();
    expect(recent).toHaveLength(100);
    expect(recent.map((e) => e.topic)).toEqual(Array.from({ length: 100 }, (_, i) => `one-off.${999 - i}`));
  });

  it('keeps a busy topic among the newest while one-off topics stream past it', () => {
    const t = new TopicActivity(10);
    for (let i = 0; i < 1000; i++) {
      t.record(msg(`reply.${i}`));
      if (i % 5 === 0) t.record(msg('jobs.heartbeat'));
    }
    const recent = t.recent();
    expect(recent).toHaveLength(10);
    const busy = recent.find((e) => e.topic === 'jobs.heartbeat');
    expect(busy?.messages).toBe(200);
  });

  it('never holds more than twice the limit: a topic followed by 2 * limit others is forgotten', () => {
    const limit = 10;
    const t = new TopicActivity(limit);
    t.record(msg('x'));
    for (let i = 0; i < 2 * limit; i++) t.record(msg(`other.${i}`));
    // Remembering "x" now would take 2 * limit + 1 entries: it must start counting afresh.
    t.record(msg('x'));
    expect(t.recent()[0]).toMatchObject({ topic: 'x', messages: 1 });
  });

  it('keeps counting a topic that stays among the newest `limit` across trims', () => {
    const limit = 10;
    const t = new TopicActivity(limit);
    t.record(msg('x'));
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < limit - 1; i++) t.record(msg(`r${round}.${i}`));
      t.record(msg('x'));
    }
    expect(t.recent()[0]).toMatchObject({ topic: 'x', messages: 51 });
    expect(t.recent()).toHaveLength(limit);
  });

  it('after many rounds of one-off topics the newest `limit` are still exact', () => {
    const limit = 10;
    const t = new TopicActivity(limit);
    for (let i = 0; i < 10_000; i++) t.record(msg(`flood.${i}`));
    expect(t.recent().map((e) => e.topic)).toEqual(Array.from({ length: limit }, (_, i) => `flood.${9_999 - i}`));
    expect(t.recent().every((e) => e.messages === 1)).toBe(true);
  });

  it('a limit of 100 is the default', () => {
    expect(new TopicActivity().limit).toBe(100);
  });
});
