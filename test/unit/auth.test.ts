import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/broker/auth/authenticator.js';
import { parseClientCredentials } from '../../src/broker/auth/credentials.js';
import { isLoopbackHost } from '../../src/broker/auth/exposure.js';
import { AuthFailureLog } from '../../src/broker/auth/failure-log.js';
import { parsePermission, patternCovers } from '../../src/broker/auth/topic-permission.js';
import { ConfigError, parseConfigObject, resolveConfig } from '../../src/broker/config.js';
import { Logger } from '../../src/log/logger.js';
import { topicMatches } from '../../src/protocol/topics.js';
import { Rng } from '../helpers/fuzz/prng.js';

describe('patternCovers', () => {
  it.each([
    ['#', 'a.b.#', true],
    ['a.#', 'a', true],
    ['a.#', 'a.*.c', true],
    ['a.*', 'a.b', true],
    ['a.+', 'a.*', true],
    ['a.*', 'a.#', false],
    ['a.b', 'a.*', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.b', 'a.b.c', false],
    ['a.b.c', 'a.b', false],
    ['scripts.+.command.#', 'scripts.saw.command.cut', true],
    ['scripts.+.command.#', 'scripts.#', false],
  ])('%s covers %s: %s', (by, pattern, expected) => {
    expect(patternCovers(by, pattern)).toBe(expected);
  });

  it('agrees with topic matching: when A covers P, every topic P matches, A matches too (and a counterexample exists otherwise)', () => {
    const rng = new Rng(42);
    const rand = (): number => rng.next();
    const levels = ['a', 'b', 'c'];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const pattern = (): string => {
      const n = 1 + Math.floor(rand() * 3);
      const parts = Array.from({ length: n }, () => pick([...levels, '*', '+']));
      if (rand() < 0.3) parts.push('#');
      return parts.join('.');
    };
    // Every topic of up to 4 levels over the alphabet.
    const topics: string[] = [];
    const grow = (prefix: string[]): void => {
      if (prefix.length > 0) topics.push(prefix.join('.'));
      if (prefix.length < 4) for (const l of levels) grow([...prefix, l]);
    };
    grow([]);
    for (let i = 0; i < 3000; i++) {
      const a = pattern();
      const p = pattern();
      const ofP = topics.filter((t) => topicMatches(p, t));
      const allCovered = ofP.every((t) => topicMatches(a, t));
      // Over a finite alphabet "every topic" can hold by accident only where P has no wildcard
      // A lacks; covering must never claim more than matching shows.
      if (patternCovers(a, p)) expect(allCovered, `${a} covers ${p}`).toBe(true);
      else if (!p.includes('*') && !p.includes('+') && !p.includes('#')) expect(allCovered, `${a} does not cover ${p}`).toBe(false);
    }
  });
});

describe('TopicPermission', () => {
  it('no lists: everything; an allow list: only it; deny wins; an empty allow list: nothing', () => {
    expect(parsePermission('publish', undefined, 'x').checkTopic('any.thing')).toBeNull();
    const p = parsePermission('publish', { allow: ['jobs.#', 'scripts.#'], deny: ['scripts.+.command.#'] }, 'x');
    expect(p.checkTopic('jobs.a')).toBeNull();
    expect(p.checkTopic('cad.a')).toEqual({ rule: 'publish.allow' });
    expect(p.checkTopic('scripts.saw.command.cut')).toEqual({ rule: 'publish.deny scripts.+.command.#' });
    expect(parsePermission('request', [], 'x').checkTopic('status')).toEqual({ rule: 'request.allow' });
    expect(parsePermission('request', ['jobs.*'], 'x').checkTopic('jobs.a')).toBeNull();
  });

  it('refuses a malformed permission, naming where', () => {
    expect(() => parsePermission('publish', 'jobs.#', 'clients[0].publish')).toThrow(/clients\[0\]\.publish must be a list/);
    expect(() => parsePermission('publish', { allow: ['a..b'] }, 'w')).toThrow(/w\.allow\[0\] "a\.\.b" is not a valid pattern/);
    expect(() => parsePermission('publish', { allows: [] }, 'w')).toThrow(/unknown key "allows"/);
    expect(() => parsePermission('publish', { deny: 'x' }, 'w')).toThrow(/w\.deny must be a list/);
  });
});

describe('client credentials', () => {
  const secret = 'hunter2-do-not-print';

  it('names the bad entry by index and id, never its secret', () => {
    const cases: unknown[] = [
      [{ id: 'a', secret, publish: 'x' }],
      [{ id: 'a', secret, colour: 'red' }],
      [{ id: 'a', secret: 12 }],
      [{ id: 'a', secret }, { id: 'a', secret }],
      [{ secret }],
      'not a list',
    ];
    for (const c of cases) {
      let message = '';
      try {
        parseClientCredentials(c, 'shop.json');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, JSON.stringify(c)).toMatch(/^shop\.json: clients/);
      expect(message).not.toContain(secret);
    }
  });

  it('a config error on a wrong-typed token does not echo it', () => {
    let message = '';
    try {
      parseConfigObject({ token: 123456789 }, 'flags');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toBe('flags: token must be a string or null, got a number');
  });
});

describe('Authenticator', () => {
  const config = resolveConfig({
    clients: [
      { id: 'cad_*', secret: 'pattern-secret' },
      { id: 'cad_main', secret: 'exact-secret', publish: ['cad.#'] },
      { id: '*', secret: 'catch-all' },
    ],
  });

  it('prefers an exact id over patterns, then patterns in file order', () => {
    const auth = new Authenticator(config);
    expect(auth.authenticate('cad_main', 'exact-secret')).toMatchObject({ ok: true, identity: { name: 'cad_main', kind: 'client' } });
    expect(auth.authenticate('cad_main', 'pattern-secret')).toEqual({ ok: false, reason: 'wrong_secret' });
    expect(auth.authenticate('cad_2', 'pattern-secret')).toMatchObject({ ok: true, identity: { name: 'cad_*', permissions: null } });
    expect(auth.authenticate('other', 'catch-all')).toMatchObject({ ok: true, identity: { name: '*' } });
    expect(auth.authenticate('other', undefined)).toEqual({ ok: false, reason: 'wrong_secret' });
  });

  it('allows anonymous clients only when no credentials exist, unless allow_anonymous says otherwise', () => {
    expect(new Authenticator(resolveConfig()).authenticate('x', undefined)).toMatchObject({ ok: true, identity: { kind: 'anonymous' } });
    expect(new Authenticator(resolveConfig({ token: 't' })).authenticate('x', undefined)).toEqual({ ok: false, reason: 'no_credentials' });
    expect(new Authenticator(resolveConfig({ token: 't', allow_anonymous: true })).authenticate('x', undefined)).toMatchObject({ ok: true });
    expect(new Authenticator(resolveConfig({ allow_anonymous: false })).authenticate('x', undefined)).toEqual({ ok: false, reason: 'no_credentials' });
    expect(new Authenticator(resolveConfig({ token: 't' })).authenticate('x', 't')).toMatchObject({ ok: true, identity: { name: 'token' } });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
    ['shop-pc', false],
  ])('%s: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('AuthFailureLog', () => {
  it('logs one line per address per 10 s, then says how many it held back; counts every failure', () => {
    const lines: string[] = [];
    let now = 0;
    const log = new AuthFailureLog(new Logger({ level: 'info', sink: { write: (l: string) => lines.push(l) } }), () => now);
    for (let i = 0; i < 50; i++) log.record('10.0.0.9', 'guess', 'wrong_secret');
    log.record('10.0.0.8', 'other', 'no_credentials');
    expect(lines).toHaveLength(2);
    now = 10_000;
    log.record('10.0.0.9', 'guess', 'wrong_secret');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/WARNING .*authentication failed remote=10\.0\.0\.9 client_id=guess reason=wrong_secret suppressed_since_last=49 total_failures=52/);
    expect(log.total).toBe(52);
  });
});
