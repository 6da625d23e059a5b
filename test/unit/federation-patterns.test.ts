/**
 * The federation's pattern algebra (which patterns cover or overlap others, what to
 * subscribe upstream) and the NATS adapter's subject mapping. Besides worked examples,
 * each function is checked against the broker's own matcher (`topicMatches`) over every
 * pattern of up to three levels and every topic of up to four: a level `c` that no
 * pattern names and one more level than any pattern make each counterexample findable,
 * so agreement over this universe is agreement everywhere.
 */
import { describe, expect, it } from 'vitest';
import { covers, matchesAny, overlaps, upstreamInterest } from '../../src/broker/federation/patterns.js';
import { subjectOf, subjectsOfPattern } from '../../src/broker/federation/nats-link.js';
import { topicMatches } from '../../src/protocol/topics.js';

/** Every valid pattern with levels from a, b, *, + and (last only) #, up to 3 levels. */
function allPatterns(): string[] {
  const out: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('.'));
    if (prefix.length === 3 || prefix.at(-1) === '#') return;
    for (const level of ['a', 'b', '*', '+', '#']) grow([...prefix, level]);
  };
  grow([]);
  return out;
}

/** Every topic with levels from a, b, c, up to 4 levels. */
function allTopics(): string[] {
  const out: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('.'));
    if (prefix.length === 4) return;
    for (const level of ['a', 'b', 'c']) grow([...prefix, level]);
  };
  grow([]);
  return out;
}

const PATTERNS = allPatterns();
const TOPICS = allTopics();
/** For each pattern, the set of topics of the universe it matches. */
const MATCHED = new Map(PATTERNS.map((p) => [p, new Set(TOPICS.filter((t) => topicMatches(p, t)))]));

const matched = (p: string): Set<string> => MATCHED.get(p) ?? new Set(TOPICS.filter((t) => topicMatches(p, t)));

describe('the universe the exhaustive checks run over', () => {
  it('has every shape of pattern and topic', () => {
    expect(PATTERNS).toHaveLength(5 + 4 * 5 + 4 * 4 * 5);
    expect(TOPICS).toHaveLength(3 + 9 + 27 + 81);
    expect(PATTERNS).toEqual(expect.arrayContaining(['#', 'a.#', '*.+.#', 'a.b.a', '+']));
  });
});

describe('covers(wide, narrow)', () => {
  it.each([
    ['#', 'a', true],
    ['#', 'a.b.c', true],
    ['#', '#', true],
    ['#', 'a.#', true],
    ['a.#', 'a', true], // `a.#` also matches its parent
    ['a.#', 'a.b.c', true],
    ['a.#', 'a.*', true],
    ['a.#', 'a.b.#', true],
    ['a.*', 'a.b', true],
    ['a.*', 'a.+', true],
    ['a.+', 'a.*', true],
    ['*.b', 'a.b', true],
    ['a.b', 'a.b', true],
    ['a', 'a.#', false], // `a.#` matches `a.x` too
    ['a.*', 'a.#', false], // ... and `a` and `a.x.y`
    ['a.*', 'a', false],
    ['a.b.#', 'a.#', false],
    ['a.b', 'a.*', false],
    ['a.b', 'a.c', false],
    ['a.*', 'a.b.c', false],
    ['jobs.activated', 'jobs.*', false],
    ['jobs.*', 'jobs.activated', true],
  ])('covers(%s, %s) is %s', (wide, narrow, expected) => {
    expect(covers(wide, narrow)).toBe(expected);
  });

  /**
   * Against topicMatches, for every pair of patterns. A wrong "true" would lose messages
   * (interest narrowed to a pattern that misses some); a wrong "false" only subscribes
   * upstream to more than needed. The one known wrong "false": `*.#` (and `+.#`) match
   * every topic, like `#`, since `#` includes its parent level.
   */
  it('agrees with topicMatches for every pair of patterns, except that it does not see `*.#` as `#`', () => {
    const unsound: string[] = [];
    const missed: string[] = [];
    for (const w of PATTERNS) {
      for (const n of PATTERNS) {
        const truth = [...matched(n)].every((t) => matched(w).has(t));
        if (covers(w, n) && !truth) unsound.push(`covers(${w}, ${n})`);
        if (!covers(w, n) && truth) missed.push(`covers(${w}, ${n})`);
      }
    }
    expect(unsound).toEqual([]);
    expect(missed).toEqual(['covers(*.#, #)', 'covers(+.#, #)']);
  });
});

describe('overlaps(a, b)', () => {
  it.each([
    ['#', 'a.b', true],
    ['a.#', 'a', true],
    ['a.#', 'b', false],
    ['a.*', '*.b', true],
    ['a.*', 'a', false],
    ['a.*', 'a.b.c', false],
    ['a.*.c', 'a.b.*', true],
    ['a.b', 'a.c', false],
    ['a', 'a.b', false],
    ['jobs.activated', 'jobs.*', true],
    ['jobs.#', 'scripts.#', false],
  ])('overlaps(%s, %s) is %s', (a, b, expected) => {
    expect(overlaps(a, b)).toBe(expected);
    expect(overlaps(b, a)).toBe(expected);
  });

  it('agrees with topicMatches for every pair of patterns: true exactly when some topic matches both', () => {
    const wrong: string[] = [];
    for (const a of PATTERNS) {
      for (const b of PATTERNS) {
        const truth = [...matched(a)].some((t) => matched(b).has(t));
        if (overlaps(a, b) !== truth) wrong.push(`overlaps(${a}, ${b}) should be ${truth}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('matchesAny', () => {
  it('is true when one of the patterns matches, false for none', () => {
    expect(matchesAny(['jobs.#', 'saw.*'], 'saw.1')).toBe(true);
    expect(matchesAny(['jobs.#', 'saw.*'], 'jobs')).toBe(true);
    expect(matchesAny(['jobs.#', 'saw.*'], 'saw.1.x')).toBe(false);
    expect(matchesAny([], 'a')).toBe(false);
  });
});

describe('upstreamInterest(imports, local)', () => {
  it.each([
    ['nobody local: nothing upstream', ['#'], [], []],
    ['import everything, one local pattern: that pattern', ['#'], ['jobs.*'], ['jobs.*']],
    ['a local pattern wider than the import: the import', ['jobs.activated'], ['#'], ['jobs.activated']],
    ['a local pattern wider than the import (one level)', ['jobs.activated'], ['jobs.*'], ['jobs.activated']],
    ['neither covers the other: the import (a superset)', ['jobs.*'], ['*.activated'], ['jobs.*']],
    ['a local pattern outside the imports: nothing', ['jobs.#'], ['scripts.#'], []],
    ['the same pattern twice: once', ['#'], ['a.b', 'a.b'], ['a.b']],
    ['a local pattern covered by another local one: only the wider', ['#'], ['jobs.#', 'jobs.activated', 'jobs.*'], ['jobs.#']],
    ['two imports a local # overlaps: both', ['jobs.#', 'saw.*'], ['#'], ['jobs.#', 'saw.*']],
    ['equivalent patterns (* and +): one of them', ['#'], ['a.+', 'a.*'], ['a.*']],
    ['two imports, each narrowed by its own local pattern', ['jobs.#', 'saw.#'], ['jobs.x', 'saw.1.state'], ['jobs.x', 'saw.1.state']],
  ])('%s', (_name, imports, local, expected) => {
    expect(upstreamInterest(imports, local).sort()).toEqual([...expected].sort());
  });

  it('accepts any iterable of local patterns (the broker passes a Set)', () => {
    expect(upstreamInterest(['#'], new Set(['x.y']))).toEqual(['x.y']);
  });

  /**
   * The properties interest propagation relies on, for every import pattern and every
   * pair of local patterns: nothing wanted is missed (each topic both imported and
   * subscribed locally is matched upstream), nothing outside the imports is asked for,
   * nothing is asked for that no local pattern could use, and no pattern is redundant.
   */
  it('over every import and pair of local patterns: complete, within the imports, useful, without redundancy', () => {
    const problems: string[] = [];
    const locals = PATTERNS.filter((p) => p.split('.').length <= 2);
    for (const imp of PATTERNS) {
      for (const l1 of locals) {
        for (const l2 of locals) {
          const interest = upstreamInterest([imp], [l1, l2]);
          const where = `imports [${imp}], local [${l1}, ${l2}] -> [${interest.join(', ')}]`;
          for (const t of matched(imp)) {
            if ((matched(l1).has(t) || matched(l2).has(t)) && !interest.some((p) => matched(p).has(t))) problems.push(`${where}: misses ${t}`);
          }
          for (const p of interest) {
            if (!covers(imp, p)) problems.push(`${where}: ${p} is not within the import`);
            if (![l1, l2].some((l) => overlaps(l, p))) problems.push(`${where}: ${p} overlaps no local pattern`);
            if (interest.some((q) => q !== p && covers(q, p))) problems.push(`${where}: ${p} is covered by another`);
          }
        }
      }
      if (problems.length > 20) break;
    }
    expect(problems.slice(0, 20)).toEqual([]);
  });
});

/** NATS's own matching, as its documentation defines it: `*` one token, `>` one or more (last only). */
function natsMatches(subject: string, topic: string): boolean {
  const s = subject.split('.');
  const t = topic.split('.');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '>') return t.length > i;
    if (i >= t.length) return false;
    if (s[i] !== '*' && s[i] !== t[i]) return false;
  }
  return s.length === t.length;
}

describe('subjectOf(topic)', () => {
  it.each([
    ['jobs.activated', 'jobs.activated'],
    ['a', 'a'],
    ['saw-1.state_x', 'saw-1.state_x'],
    ['Ünïcode.ok', 'Ünïcode.ok'],
    ['a.x>y', 'a.x>y'], // `>` is a wildcard only as a whole token
  ])('%s crosses unchanged', (topic, subject) => {
    expect(subjectOf(topic)).toBe(subject);
  });

  it.each([
    ['a space', 'jobs.saw 1'],
    ['a tab', 'jobs.\tx'],
    ['a non-breaking space', 'jobs.\u00a0x'],
    ['a ">" level (NATS would read it as a wildcard)', 'jobs.>'],
    ['a ">" first level', '>.a'],
  ])('a topic with %s cannot be a subject', (_name, topic) => {
    expect(subjectOf(topic)).toBeNull();
  });
});

describe('subjectsOfPattern(pattern)', () => {
  it.each([
    ['a.b', ['a.b']],
    ['a.*', ['a.*']],
    ['a.+', ['a.*']],
    ['+.b.+', ['*.b.*']],
    ['#', ['>']],
    ['a.#', ['a', 'a.>']],
    ['*.#', ['*', '*.>']],
    ['a.+.#', ['a.*', 'a.*.>']],
  ])('%s subscribes %j', (pattern, subjects) => {
    expect(subjectsOfPattern(pattern)).toEqual(subjects);
  });

  it('the subjects match, in NATS, exactly the topics the pattern matches here (every pattern, every topic)', () => {
    const wrong: string[] = [];
    for (const p of PATTERNS) {
      const subjects = subjectsOfPattern(p);
      for (const t of TOPICS) {
        const there = subjects.some((s) => natsMatches(s, subjectOf(t)!));
        if (there !== topicMatches(p, t)) wrong.push(`${p} [${subjects.join(' ')}] on ${t}: NATS ${there}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
