import { describe, expect, it } from 'vitest';
import { MAX_TOPIC_LENGTH, isReservedTopic, patternError, topicError, topicMatches } from '../../src/protocol/topics.js';

describe('topicError', () => {
  it.each([
    'jobs',
    'jobs.activated',
    'scripts.notepad.started',
    'système.événement', // non-ASCII levels are fine
    '$SYS.bar', // `$` has no special meaning here (unlike MQTT)
    'a-b_c.d:e/f', // `/` is an ordinary character, not a separator
    'x'.repeat(MAX_TOPIC_LENGTH),
  ])('accepts %j', (topic) => {
    expect(topicError(topic)).toBeNull();
  });

  it.each([
    [42, 'must be a string'],
    [null, 'must be a string'],
    [undefined, 'must be a string'],
    [['a'], 'must be a string'],
    ['', 'empty'],
    ['x'.repeat(MAX_TOPIC_LENGTH + 1), 'longer than'],
    ['a.b\n', 'control character'],
    ['a\u0000b', 'control character'],
    ['a\u007f', 'control character'],
    ['a.*', 'wildcard'],
    ['a.+', 'wildcard'],
    ['#', 'wildcard'],
    ['fo+o', 'wildcard'],
    ['.a', 'empty level'],
    ['a.', 'empty level'],
    ['a..b', 'empty level'],
    ['.', 'empty level'],
  ])('rejects %j (%s)', (topic, reason) => {
    const err = topicError(topic);
    expect(err).not.toBeNull();
    expect(err).toContain(reason);
  });
});

describe('patternError', () => {
  it.each(['jobs.activated', 'jobs.*', 'jobs.+', 'scripts.#', 'scripts.+.started', '#', '*', '+', '*.+.*', 'a.*.#'])(
    'accepts %j',
    (pattern) => {
      expect(patternError(pattern)).toBeNull();
    },
  );

  it.each([
    [42, 'must be a string'],
    [null, 'must be a string'],
    [{ pattern: 'a' }, 'must be a string'],
    ['', 'empty'],
    ['x'.repeat(MAX_TOPIC_LENGTH + 1), 'longer than'],
    ['a.\tb', 'control character'],
    ['fo+o', 'mixes a wildcard'],
    ['foo#', 'mixes a wildcard'],
    ['#foo', 'mixes a wildcard'],
    ['a.b*', 'mixes a wildcard'],
    ['**', 'mixes a wildcard'],
    ['a.#.b', 'only valid as the last level'],
    ['#.a', 'only valid as the last level'],
    ['a..b', 'empty level'],
    ['.a', 'empty level'],
    ['a.', 'empty level'],
    ['a.#.', 'only valid as the last level'],
  ])('rejects %j (%s)', (pattern, reason) => {
    const err = patternError(pattern);
    expect(err).not.toBeNull();
    expect(err).toContain(reason);
  });

  it('accepts a pattern of exactly the maximum length', () => {
    expect(patternError('x'.repeat(MAX_TOPIC_LENGTH))).toBeNull();
  });
});

describe('isReservedTopic', () => {
  it.each([
    ['system.client.connected', true],
    ['system.broker.ready', true],
    ['_internal.message_acks', true],
    ['system', false], // the prefix is `system.`, not `system`
    ['systems.x', false],
    ['_internal', false],
    ['jobs.system.x', false],
    ['System.client', false], // case-sensitive, like topics
  ])('%j -> %s', (topic, reserved) => {
    expect(isReservedTopic(topic)).toBe(reserved);
  });
});

/*
 * Mosquitto's test/unit/util_topic_test.c (mosquitto_topic_matches_sub cases), with `/`
 * translated to `.`. Adaptations:
 * - Dropped, because our topics reject empty levels (leading/trailing/double separator),
 *   so the case has no valid topic or pattern here:
 *     foo/# ~ "foo/", foo//bar ~ foo//bar, foo//+ ~ foo//bar, foo/+/+/baz ~ foo///baz,
 *     foo/bar/+ ~ "foo/bar/", # ~ /foo/bar, /# ~ /foo/bar, /# !~ foo/bar.
 *   (Their invalidity is asserted in the "MQTT empty-level cases" test below.)
 * - Adapted: `#` !~ $SYS/bar. MQTT hides `$`-topics from wildcards at the first level;
 *   we have no such rule (`#` matches every topic, including `system.` ones), so here
 *   `#` matches `$SYS.bar`.
 * - Duplicated case (# ~ foo/bar/baz twice) kept once.
 * - The MOSQ_ERR_INVAL cases become patternError/topicError assertions, since
 *   topicMatches assumes valid input.
 */
const MOSQUITTO_MATCHES: [pattern: string, topic: string][] = [
  ['foo.#', 'foo'],
  ['foo.bar', 'foo.bar'],
  ['foo.+', 'foo.bar'],
  ['foo.+.baz', 'foo.bar.baz'],
  ['A.B.+.#', 'A.B.B.C'],
  ['foo.+.#', 'foo.bar.baz'],
  ['foo.+.#', 'foo.bar'],
  ['#', 'foo.bar.baz'],
];

const MOSQUITTO_NO_MATCHES: [pattern: string, topic: string][] = [
  ['test.6.#', 'test.3'],
  ['foo.bar', 'foo'],
  ['foo.+', 'foo.bar.baz'],
  ['foo.+.baz', 'foo.bar.bar'],
  ['foo.+.#', 'fo2.bar.baz'],
  ['$BOB.bar', '$SYS.bar'],
];

// Mosquitto: MOSQ_ERR_INVAL because the subscription mixes a wildcard into a level or
// puts `#` anywhere but the whole last level.
const MOSQUITTO_INVALID_PATTERNS = [
  '+foo', 'fo+o', 'foo+', '+foo.bar', 'foo+.bar', 'foo.+bar', 'foo.bar+',
  '#foo', 'fo#o', 'foo#', '#foo.bar', 'foo#.bar', 'foo.#bar', 'foo.bar#',
  'fo#o.', 'foo.#a', '#a', 'foo.#abc', '#abc', '.#a',
];

// Mosquitto: MOSQ_ERR_INVAL because the *topic* side contains a wildcard.
const MOSQUITTO_INVALID_TOPICS = [
  '+foo', 'fo+o', 'foo+', '+foo.bar', 'foo+.bar', 'foo.+bar', 'foo.bar+',
  '#foo', 'fo#o', 'foo#', '#foo.bar', 'foo#.bar', 'foo.#bar', 'foo.bar#',
  'foo.+', 'foo.bar.+', 'foo.#', 'foo.bar.#',
];

describe('topicMatches: Mosquitto cases', () => {
  it.each(MOSQUITTO_MATCHES)('%j matches %j', (pattern, topic) => {
    expect(patternError(pattern)).toBeNull();
    expect(topicError(topic)).toBeNull();
    expect(topicMatches(pattern, topic)).toBe(true);
  });

  it.each(MOSQUITTO_NO_MATCHES)('%j does not match %j', (pattern, topic) => {
    expect(patternError(pattern)).toBeNull();
    expect(topicError(topic)).toBeNull();
    expect(topicMatches(pattern, topic)).toBe(false);
  });

  it('adapted: # matches $SYS.bar (no $-topic rule here)', () => {
    expect(topicMatches('#', '$SYS.bar')).toBe(true);
  });

  it.each(MOSQUITTO_INVALID_PATTERNS)('pattern %j is invalid', (pattern) => {
    expect(patternError(pattern)).not.toBeNull();
  });

  it.each(MOSQUITTO_INVALID_TOPICS)('topic %j is invalid', (topic) => {
    expect(topicError(topic)).not.toBeNull();
  });

  it('MQTT empty-level cases are invalid here', () => {
    for (const topic of ['foo.', 'foo..bar', 'foo...baz', 'foo.bar.', '.foo.bar']) {
      expect(topicError(topic), topic).toBe('topic has an empty level');
    }
    for (const pattern of ['foo..bar', 'foo..+', 'foo.+.+.', '.#']) {
      expect(patternError(pattern), pattern).toBe('pattern has an empty level');
    }
  });
});

describe('topicMatches: contract', () => {
  it.each([
    ['jobs.activated', 'jobs.activated', true],
    ['jobs.activated', 'jobs.created', false],
    ['jobs.activated', 'jobs', false],
    ['jobs.activated', 'jobs.activated.x', false],
    ['jobs.*', 'jobs.activated', true],
    ['jobs.*', 'jobs', false],
    ['jobs.*', 'jobs.a.b', false],
    ['scripts.#', 'scripts', true],
    ['scripts.#', 'scripts.a', true],
    ['scripts.#', 'scripts.a.b.c', true],
    ['scripts.#', 'scriptsx', false],
    ['scripts.#', 'other.scripts', false],
    ['scripts.+.started', 'scripts.notepad.started', true],
    ['scripts.+.started', 'scripts.notepad.stopped', false],
    ['scripts.+.started', 'scripts.started', false],
    ['#', 'a', true],
    ['#', 'system.client.connected', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*.#', 'a', true],
    ['*.#', 'a.b.c', true],
    ['a.b.#', 'a', false],
    ['a.*.#', 'a', false],
    ['a.*.#', 'a.b', true],
    ['Jobs.activated', 'jobs.activated', false], // case-sensitive
  ])('%j vs %j -> %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it('* and + are interchangeable', () => {
    const topics = ['a', 'b', 'a.b', 'a.b.c', 'x.b.c', 'a.x.c', 'a.b.x'];
    const pairs = [
      ['*', '+'],
      ['a.*', 'a.+'],
      ['*.b.*', '+.b.+'],
      ['*.*.c', '+.+.c'],
      ['*.#', '+.#'],
      ['a.*.c', 'a.+.c'],
    ] as const;
    for (const [star, plus] of pairs) {
      for (const topic of topics) {
        expect(topicMatches(star, topic), `${star} / ${plus} vs ${topic}`).toBe(topicMatches(plus, topic));
      }
      // Guard against both being vacuously false.
      expect(topics.some((t) => topicMatches(star, t)), star).toBe(true);
    }
  });
});

// Reference matcher, written independently as a regular expression so a bug in the
// level-walking implementation does not repeat itself here.
function referenceMatches(pattern: string, topic: string): boolean {
  const parts = pattern.split('.');
  let suffix = '';
  if (parts[parts.length - 1] === '#') {
    parts.pop();
    suffix = parts.length === 0 ? '.+' : '(?:\\.[^.]+)*';
  }
  const body = parts.map((l) => (l === '*' || l === '+' ? '[^.]+' : l.replace(/[$^\\.*+?()[\]{}|]/g, '\\$&'))).join('\\.');
  return new RegExp(`^${body}${suffix}$`).test(topic);
}

function* product(alphabet: readonly string[], length: number): Generator<string[]> {
  if (length === 0) {
    yield [];
    return;
  }
  for (const head of alphabet) for (const rest of product(alphabet, length - 1)) yield [head, ...rest];
}

describe('topicMatches: property check against a reference', () => {
  const topics: string[] = [];
  for (let len = 1; len <= 4; len++) for (const levels of product(['a', 'b', '$c'], len)) topics.push(levels.join('.'));
  const patterns: string[] = ['#'];
  for (let len = 1; len <= 4; len++) {
    for (const levels of product(['a', '$c', '*', '+'], len)) {
      patterns.push(levels.join('.'));
      if (len < 4) patterns.push([...levels, '#'].join('.'));
    }
  }

  it('generated inputs are valid', () => {
    expect(topics.length).toBe(3 + 9 + 27 + 81);
    expect(patterns.length).toBeGreaterThan(400);
    for (const t of topics) expect(topicError(t), t).toBeNull();
    for (const p of patterns) expect(patternError(p), p).toBeNull();
  });

  it('agrees with the reference on every pattern x topic', () => {
    let matched = 0;
    const disagreements: string[] = [];
    for (const p of patterns) {
      for (const t of topics) {
        const expected = referenceMatches(p, t);
        if (expected) matched++;
        if (topicMatches(p, t) !== expected) disagreements.push(`${p} vs ${t}: expected ${expected}`);
      }
    }
    expect(disagreements).toEqual([]);
    // The generated set exercises both outcomes substantially.
    expect(matched).toBeGreaterThan(1000);
    expect(matched).toBeLessThan(patterns.length * topics.length);
  });
});
