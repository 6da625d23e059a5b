import { describe, expect, it } from 'vitest';
import { mapNameProblem, mapTargetProblem, normalisePrefix, prefixProblem, LineParser, parsePayload } from '../../file-ipc/line-parser.js';

describe('LineParser', () => {
  it('publishes TOPIC|text as {data: text}, like the seed loop', () => {
    expect(new LineParser().parse('jobs.note|hello world')).toEqual({ kind: 'publish', topic: 'jobs.note', payload: { data: 'hello world' } });
  });

  it('parses a JSON payload, splitting at the first | only', () => {
    expect(new LineParser().parse('jobs.created|{"id":"A|1","n":2}')).toEqual({ kind: 'publish', topic: 'jobs.created', payload: { id: 'A|1', n: 2 }, payloadText: '{"id":"A|1","n":2}' });
    expect(new LineParser().parse('a.b| [1, 2.0]\t')).toEqual({ kind: 'publish', topic: 'a.b', payload: [1, 2], payloadText: '[1, 2.0]' });
  });

  it('takes JSON scalars as JSON, but keeps text that only looks like JSON, or would lose digits, as text', () => {
    expect(parsePayload('12345')).toBe(12345);
    expect(parsePayload('"quoted"')).toBe('quoted');
    expect(parsePayload('true')).toBe(true);
    expect(parsePayload('0012345')).toEqual({ data: '0012345' });
    expect(parsePayload('12345678901234567890')).toEqual({ data: '12345678901234567890' });
    expect(parsePayload('{broken')).toEqual({ data: '{broken' });
    expect(parsePayload('')).toEqual({ data: '' });
    expect(parsePayload('  ')).toEqual({ data: '  ' });
  });

  it('maps legacy names, then applies the prefix to mapped and unmapped topics', () => {
    const p = new LineParser({ topicMap: { JOB_ACTIVATED: 'jobs.activated' }, prefix: 'legacy.' });
    expect(p.parse('JOB_ACTIVATED|12345')).toEqual({ kind: 'publish', topic: 'legacy.jobs.activated', payload: 12345, payloadText: '12345' });
    expect(p.parse('JOB_DONE|x')).toEqual({ kind: 'publish', topic: 'legacy.JOB_DONE', payload: { data: 'x' } });
    // Exact, case-sensitive lookup.
    expect(p.parse('job_activated|1')).toMatchObject({ topic: 'legacy.job_activated' });
  });

  it('adds the missing dot of a prefix and trims the topic', () => {
    const p = new LineParser({ prefix: 'legacy' });
    expect(p.parse('  jobs.x |1')).toMatchObject({ kind: 'publish', topic: 'legacy.jobs.x' });
  });

  it('maps without a prefix', () => {
    expect(new LineParser({ topicMap: { JOB_ACTIVATED: 'jobs.activated' } }).parse('JOB_ACTIVATED|7')).toMatchObject({ topic: 'jobs.activated', payload: 7 });
  });

  it('reports lines that cannot be published, with a reason', () => {
    const p = new LineParser();
    expect(p.parse('NO_SEPARATOR')).toEqual({ kind: 'invalid', reason: 'no "|" between topic and payload' });
    expect(p.parse('|payload')).toEqual({ kind: 'invalid', reason: 'empty topic' });
    expect(p.parse('jobs..x|1')).toEqual({ kind: 'invalid', reason: 'invalid topic "jobs..x": topic has an empty level' });
    expect(p.parse('jobs.*|1')).toEqual({ kind: 'invalid', reason: 'invalid topic "jobs.*": topic contains a wildcard (*, + or #)' });
    expect(p.parse('system.broker.ready|x')).toEqual({ kind: 'invalid', reason: 'reserved topic "system.broker.ready"' });
    expect(p.parse('_internal.x|x')).toEqual({ kind: 'invalid', reason: 'reserved topic "_internal.x"' });
  });

  it('checks the final topic: a map into a reserved topic is refused at construction, a prefix protects', () => {
    expect(() => new LineParser({ topicMap: { BOOT: 'system.boot' } })).toThrow(/reserved/);
    expect(() => new LineParser({ topicMap: { BAD: 'a..b' } })).toThrow(/empty level/);
    expect(() => new LineParser({ prefix: 'system.' })).toThrow(/reserved/);
    expect(() => new LineParser({ prefix: 'a#' })).toThrow(/wildcard/);
    expect(new LineParser({ prefix: 'legacy.' }).parse('system.x|1')).toMatchObject({ kind: 'publish', topic: 'legacy.system.x' });
  });

  it('gives every line of a legacy name the same outcome, however many lines and names come by', () => {
    const p = new LineParser({ topicMap: { JOB: 'jobs.activated' }, prefix: 'legacy' });
    for (let round = 0; round < 3; round++) {
      expect(p.parse(`JOB|${round}`)).toEqual({ kind: 'publish', topic: 'legacy.jobs.activated', payload: round, payloadText: String(round) });
      expect(p.parse(`bad..name|${round}`)).toEqual({ kind: 'invalid', reason: 'invalid topic "legacy.bad..name": topic has an empty level' });
      // Thousands of other names in between (more than are remembered) change nothing.
      for (let i = 0; i < 3000; i++) expect(p.parse(`N${i}|x`)).toMatchObject({ kind: 'publish', topic: `legacy.N${i}` });
    }
  });

  it('skips empty and whitespace-only lines', () => {
    expect(new LineParser().parse('')).toEqual({ kind: 'empty' });
    expect(new LineParser().parse(' \t ')).toEqual({ kind: 'empty' });
  });
});

describe('map and prefix checks (what bridge tail checks before it connects)', () => {
  it('normalises a prefix as the parser uses it', () => {
    expect(normalisePrefix(undefined)).toBe('');
    expect(normalisePrefix('  ')).toBe('');
    expect(normalisePrefix(' legacy ')).toBe('legacy.');
    expect(normalisePrefix('a.b.')).toBe('a.b.');
  });

  it('names the topic rule a prefix or map target breaks', () => {
    expect(prefixProblem('')).toBeNull();
    expect(prefixProblem('legacy.')).toBeNull();
    expect(prefixProblem('a*.')).toBe('topic contains a wildcard (*, + or #)');
    expect(prefixProblem('.a.')).toBe('topic has an empty level');
    expect(prefixProblem('system.')).toBe('it is reserved for the broker (system.* and _internal.*)');
    expect(mapTargetProblem('', 'jobs.done')).toBeNull();
    expect(mapTargetProblem('', 'jobs.*')).toBe('topic contains a wildcard (*, + or #)');
    expect(mapTargetProblem('', '_internal.x')).toBe('it is reserved for the broker (system.* and _internal.*)');
    expect(mapTargetProblem('legacy.', 'system.x')).toBeNull(); // the prefix keeps it out of system.*
    expect(mapTargetProblem('legacy.', 'a\u0001')).toBe('topic contains a control character');
  });

  it('refuses legacy names no queue line can carry', () => {
    expect(mapNameProblem('JOB_ACTIVATED')).toBeNull();
    expect(mapNameProblem('A|B')).toMatch(/contains "\|"/);
    expect(mapNameProblem(' A')).toMatch(/trimmed/);
  });
});
