import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from '../../src/broker/subscription-index.js';
import { patternError, topicError, topicMatches } from '../../src/protocol/topics.js';
import { Rng } from '../helpers/fuzz/prng.js';

interface Sub {
  name: string;
}
const sub = (name: string): Sub => ({ name });
const names = (subs: readonly Sub[]): string[] => subs.map((s) => s.name).sort();

describe('SubscriptionIndex add/remove/size', () => {
  it('reports new pairs and counts them', () => {
    const idx = new SubscriptionIndex<Sub>();
    const a = sub('a');
    const b = sub('b');
    expect(idx.size).toBe(0);
    expect(idx.add('jobs.*', a)).toBe(true);
    expect(idx.add('jobs.*', a)).toBe(false); // same pair
    expect(idx.add('jobs.*', b)).toBe(true); // same pattern, other subscriber
    expect(idx.add('jobs.+', a)).toBe(true); // `+` is a distinct pattern string
    expect(idx.add('#', a)).toBe(true);
    expect(idx.add('jobs.#', a)).toBe(true);
    expect(idx.add('jobs', a)).toBe(true);
    expect(idx.size).toBe(6);
  });

  it('compares subscribers by identity', () => {
    const idx = new SubscriptionIndex<Sub>();
    expect(idx.add('x', sub('same'))).toBe(true);
    expect(idx.add('x', sub('same'))).toBe(true);
    expect(idx.size).toBe(2);
    expect(idx.match('x')).toHaveLength(2);
  });

  it('remove reports whether the pair existed', () => {
    const idx = new SubscriptionIndex<Sub>();
    const a = sub('a');
    const b = sub('b');
    idx.add('jobs.*', a);
    idx.add('jobs.+', a);
    idx.add('jobs.#', a);
    expect(idx.remove('jobs.*', b)).toBe(false); // other subscriber
    expect(idx.remove('jobs.x', a)).toBe(false); // pattern never added
    expect(idx.remove('jobs.x.y', a)).toBe(false); // path does not exist at all
    expect(idx.remove('jobs', a)).toBe(false); // node exists, no pattern ends there
    expect(idx.remove('#', a)).toBe(false);
    expect(idx.size).toBe(3);
    expect(idx.remove('jobs.*', a)).toBe(true);
    expect(idx.remove('jobs.*', a)).toBe(false);
    expect(idx.size).toBe(2);
    // Removing `jobs.*` left `jobs.+` and `jobs.#` of the same subscriber intact.
    expect(names(idx.match('jobs.created'))).toEqual(['a']);
    expect(idx.remove('jobs.+', a)).toBe(true);
    expect(names(idx.match('jobs.created'))).toEqual(['a']); // still via jobs.#
    expect(idx.remove('jobs.#', a)).toBe(true);
    expect(idx.match('jobs.created')).toEqual([]);
    expect(idx.size).toBe(0);
  });

  it('works with primitive subscribers', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a.*', 'c1');
    idx.add('a.b', 'c2');
    expect([...idx.match('a.b')].sort()).toEqual(['c1', 'c2']);
    expect(idx.match('a.c')).toEqual(['c1']);
  });

  it('clear removes everything', () => {
    const idx = new SubscriptionIndex<Sub>();
    const a = sub('a');
    idx.add('a.b', a);
    idx.add('#', a);
    expect(idx.match('a.b')).toEqual([a]);
    idx.clear();
    expect(idx.size).toBe(0);
    expect(idx.match('a.b')).toEqual([]);
    expect(idx.add('a.b', a)).toBe(true); // usable after clear
    expect(idx.match('a.b')).toEqual([a]);
  });
});

describe('SubscriptionIndex match', () => {
  it('implements the contract table', () => {
    const idx = new SubscriptionIndex<string>();
    for (const p of ['jobs.activated', 'jobs.*', 'jobs.+', 'scripts.#', 'scripts.+.started', '#']) idx.add(p, p);
    const m = (t: string): string[] => [...idx.match(t)].sort();
    expect(m('jobs.activated')).toEqual(['#', 'jobs.*', 'jobs.+', 'jobs.activated']);
    expect(m('jobs.created')).toEqual(['#', 'jobs.*', 'jobs.+']);
    expect(m('jobs')).toEqual(['#']);
    expect(m('jobs.a.b')).toEqual(['#']);
    expect(m('scripts')).toEqual(['#', 'scripts.#']);
    expect(m('scripts.notepad.started')).toEqual(['#', 'scripts.#', 'scripts.+.started']);
    expect(m('scripts.notepad.stopped')).toEqual(['#', 'scripts.#']);
    expect(m('other')).toEqual(['#']);
  });

  it('returns each subscriber once however many of its patterns match', () => {
    const idx = new SubscriptionIndex<Sub>();
    const a = sub('a');
    const b = sub('b');
    for (const p of ['#', 'x.#', 'x.y', 'x.*', 'x.+', '*.y', '+.+', 'x.y.#']) idx.add(p, a);
    idx.add('x.y', b);
    const result = idx.match('x.y');
    expect(result).toHaveLength(2);
    expect(names(result)).toEqual(['a', 'b']);
    expect(idx.match('x')).toEqual([a]);
  });

  it('# matches the parent level and everything below, nothing beside', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a.#', 's');
    expect(idx.match('a')).toEqual(['s']);
    expect(idx.match('a.b')).toEqual(['s']);
    expect(idx.match('a.b.c.d')).toEqual(['s']);
    expect(idx.match('b')).toEqual([]);
    expect(idx.match('ab')).toEqual([]);
  });

  it('is deterministic for the same sequence of operations', () => {
    const build = (): SubscriptionIndex<string> => {
      const idx = new SubscriptionIndex<string>();
      ['#', 'a.*', 'a.+', 'a.b', '*.b', 'a.#'].forEach((p, i) => idx.add(p, `s${i}`));
      return idx;
    };
    expect(build().match('a.b')).toEqual(build().match('a.b'));
  });

  it('returns a frozen array that callers cannot corrupt', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a', 's');
    const r = idx.match('a');
    expect(Object.isFrozen(r)).toBe(true);
    expect(() => (r as string[]).push('x')).toThrow(TypeError);
    expect(idx.match('a')).toEqual(['s']);
    expect(Object.isFrozen(idx.match('nothing'))).toBe(true);
  });

  it('handles patterns deeper than the call stack would allow recursively', () => {
    const idx = new SubscriptionIndex<string>();
    const topic = Array.from({ length: 30_000 }, () => 'a').join('.');
    expect(topicError(topic)).toBeNull();
    idx.add(topic, 'deep');
    idx.add(topic.slice(0, -1) + '*', 'deep-star');
    expect([...idx.match(topic)].sort()).toEqual(['deep', 'deep-star']);
    expect(idx.remove(topic, 'deep')).toBe(true);
    expect(idx.remove(topic.slice(0, -1) + '*', 'deep-star')).toBe(true);
    expect(idx.match(topic)).toEqual([]);
  });
});

describe('SubscriptionIndex cache', () => {
  it('repeated matches return the cached array', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a.*', 's');
    const first = idx.match('a.b');
    expect(idx.match('a.b')).toBe(first);
  });

  it('is invalidated by add', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a.*', 's1');
    expect(idx.match('a.b')).toEqual(['s1']);
    expect(idx.match('c')).toEqual([]);
    idx.add('a.b', 's2');
    idx.add('#', 's3');
    expect([...idx.match('a.b')].sort()).toEqual(['s1', 's2', 's3']);
    expect(idx.match('c')).toEqual(['s3']); // a cached empty result is dropped too
  });

  it('is invalidated by remove', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a.*', 's1');
    idx.add('a.b', 's2');
    expect([...idx.match('a.b')].sort()).toEqual(['s1', 's2']);
    idx.remove('a.*', 's1');
    expect(idx.match('a.b')).toEqual(['s2']);
  });

  it('is invalidated by clear', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a', 's');
    expect(idx.match('a')).toEqual(['s']);
    idx.clear();
    expect(idx.match('a')).toEqual([]);
  });

  it('an earlier result stays intact after a change', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a', 's1');
    const before = idx.match('a');
    idx.add('a', 's2');
    expect(before).toEqual(['s1']);
    expect([...idx.match('a')].sort()).toEqual(['s1', 's2']);
  });

  it('stays correct past the cache bound and for long topics', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('t.*', 's');
    for (let i = 0; i < 3000; i++) expect(idx.match(`t.${i}`)).toEqual(['s']);
    for (let i = 0; i < 3000; i += 7) expect(idx.match(`t.${i}`)).toEqual(['s']);
    const long = `t.${'x'.repeat(5000)}`;
    expect(idx.match(long)).toEqual(['s']);
    expect(idx.match(long)).toEqual(['s']);
    idx.remove('t.*', 's');
    expect(idx.match(long)).toEqual([]);
    expect(idx.match('t.5')).toEqual([]);
  });
});

describe('SubscriptionIndex pruning', () => {
  it('removing every pair leaves an empty index', () => {
    const idx = new SubscriptionIndex<Sub>();
    const subs = [sub('a'), sub('b'), sub('c')];
    const patterns = ['#', 'a', 'a.b', 'a.b.c', 'a.*.c', 'a.+.#', 'a.#', '*', '+.+', 'x.y.z.#'];
    for (const s of subs) for (const p of patterns) idx.add(p, s);
    expect(idx.size).toBe(subs.length * patterns.length);
    expect(idx.match('a.b.c')).toHaveLength(3);
    for (const s of subs) for (const p of [...patterns].reverse()) expect(idx.remove(p, s)).toBe(true);
    expect(idx.size).toBe(0);
    for (const t of ['a', 'a.b', 'a.b.c', 'x.y.z', 'q']) expect(idx.match(t)).toEqual([]);
    // The trie itself is empty again: no child, wildcard or subscriber set left behind.
    const root = (idx as unknown as { root: Record<string, unknown> }).root;
    expect(root.children).toBeUndefined();
    expect(root.star).toBeUndefined();
    expect(root.plus).toBeUndefined();
    expect(root.exact).toBeUndefined();
    expect(root.hash).toBeUndefined();
  });

  it('pruning a branch keeps sibling and ancestor patterns', () => {
    const idx = new SubscriptionIndex<string>();
    idx.add('a', 'parent');
    idx.add('a.b.c', 'deep');
    idx.add('a.x', 'sibling');
    expect(idx.remove('a.b.c', 'deep')).toBe(true);
    expect(idx.match('a')).toEqual(['parent']);
    expect(idx.match('a.x')).toEqual(['sibling']);
    expect(idx.match('a.b.c')).toEqual([]);
    // Re-adding through the pruned path works.
    expect(idx.add('a.b.c', 'deep')).toBe(true);
    expect(idx.match('a.b.c')).toEqual(['deep']);
  });
});

describe('SubscriptionIndex randomized equivalence with topicMatches', () => {
  it('matches a brute-force scan over many patterns, subscribers and topics', () => {
    const rng = new Rng(0x5eed); // seeded, so the randomized test is reproducible
    const rand = (): number => rng.next();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const words = ['a', 'b', 'c', 'jobs', 'x'];
    const randomTopic = (): string => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(words)).join('.');
    const randomPattern = (): string => {
      if (rand() < 0.03) return '#';
      const len = 1 + Math.floor(rand() * 4);
      const levels = Array.from({ length: len }, () => (rand() < 0.3 ? pick(['*', '+']) : pick(words)));
      if (rand() < 0.25) levels.push('#');
      return levels.join('.');
    };

    const subs = Array.from({ length: 40 }, (_, i) => sub(`s${i}`));
    const idx = new SubscriptionIndex<Sub>();
    const pairs = new Map<Sub, Set<string>>(subs.map((s) => [s, new Set<string>()]));
    const topics = Array.from({ length: 150 }, randomTopic);
    const expectedFor = (topic: string): string[] =>
      subs.filter((s) => [...pairs.get(s)!].some((p) => topicMatches(p, topic))).map((s) => s.name).sort();

    let nonEmpty = 0;
    let checks = 0;
    for (let round = 0; round < 60; round++) {
      // Mutate: mostly adds early on, then a mix, with removals of known pairs.
      for (let k = 0; k < 25; k++) {
        const s = pick(subs);
        const own = pairs.get(s)!;
        if (own.size > 0 && rand() < 0.4) {
          const p = pick([...own]);
          expect(idx.remove(p, s)).toBe(true);
          own.delete(p);
        } else {
          const p = randomPattern();
          expect(patternError(p)).toBeNull();
          expect(idx.add(p, s)).toBe(!own.has(p));
          own.add(p);
        }
      }
      const total = [...pairs.values()].reduce((n, set) => n + set.size, 0);
      expect(idx.size).toBe(total);
      // Query twice to exercise both the miss and the cached path.
      for (let q = 0; q < 2; q++) {
        for (const t of topics) {
          const got = idx.match(t);
          expect(new Set(got).size).toBe(got.length); // each subscriber once
          const expected = expectedFor(t);
          expect(names(got), `round ${round} topic ${t}`).toEqual(expected);
          if (expected.length > 0) nonEmpty++;
          checks++;
        }
      }
    }
    // The generated workload actually exercises matches, not just empty results.
    expect(nonEmpty).toBeGreaterThan(checks / 2);

    // Drain everything: the index must end empty.
    for (const [s, own] of pairs) for (const p of own) expect(idx.remove(p, s)).toBe(true);
    expect(idx.size).toBe(0);
    for (const t of topics) expect(idx.match(t)).toEqual([]);
  });
});
