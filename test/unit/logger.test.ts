import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, Logger, parseLogLevel, silentLogger, type LogSink } from '../../src/log/logger.js';

function capture(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

const TEXT_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) (\S+) +(\S+): (.*)\n$/;

describe('parseLogLevel', () => {
  it.each([
    ['INFO', 'info'],
    ['WARNING', 'warning'],
    ['DEBUG', 'debug'],
    ['ERROR', 'error'],
    ['CRITICAL', 'critical'],
    ['warn', 'warning'],
    ['Fatal', 'critical'],
    ['trace', 'debug'],
    ['off', 'silent'],
    ['  info  ', 'info'],
  ])('%j -> %s', (name, level) => {
    expect(parseLogLevel(name)).toBe(level);
  });

  it.each(['', 'verbose', 'NOTSET', 'infox', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])('%j is not a level', (name) => {
    expect(parseLogLevel(name)).toBeUndefined();
  });

  it('knows every level by its own name', () => {
    for (const level of LOG_LEVELS) expect(parseLogLevel(level.toUpperCase())).toBe(level);
  });
});

describe('Logger level filtering', () => {
  const emitAll = (log: Logger): void => {
    log.debug('d');
    log.info('i');
    log.warning('w');
    log.error('e');
    log.critical('c');
  };
  const levelsWritten = (sink: { lines: string[] }): string[] => sink.lines.map((l) => TEXT_LINE.exec(l)![2]!);

  it.each([
    ['debug', ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']],
    ['info', ['INFO', 'WARNING', 'ERROR', 'CRITICAL']],
    ['warning', ['WARNING', 'ERROR', 'CRITICAL']],
    ['error', ['ERROR', 'CRITICAL']],
    ['critical', ['CRITICAL']],
    ['silent', []],
  ] as const)('at %s writes %j', (level, expected) => {
    const sink = capture();
    emitAll(new Logger({ level, sink }));
    expect(levelsWritten(sink)).toEqual(expected);
  });

  it('defaults to info', () => {
    const sink = capture();
    const log = new Logger({ sink });
    expect(log.level).toBe('info');
    emitAll(log);
    expect(levelsWritten(sink)).toEqual(['INFO', 'WARNING', 'ERROR', 'CRITICAL']);
  });

  it('accepts a Python level name through parseLogLevel', () => {
    const sink = capture();
    emitAll(new Logger({ level: parseLogLevel('WARNING')!, sink }));
    expect(levelsWritten(sink)).toEqual(['WARNING', 'ERROR', 'CRITICAL']);
  });

  it('enabled() never reports silent as a writable level', () => {
    const log = new Logger({ level: 'debug', sink: capture() });
    expect(log.enabled('debug')).toBe(true);
    expect(log.enabled('silent')).toBe(false);
    log.level = 'silent';
    expect(log.enabled('critical')).toBe(false);
  });

  it('silentLogger writes nothing', () => {
    const log = silentLogger();
    expect(log.level).toBe('silent');
    expect(log.enabled('critical')).toBe(false);
  });
});

describe('Logger text format', () => {
  it('writes time, padded level, component, message and fields on one line', () => {
    const sink = capture();
    const log = new Logger({ sink, component: 'broker' });
    const before = Date.now();
    log.info('client connected', { client_id: 'ds_pas', port: 15234, ok: true, none: null });
    expect(sink.lines).toHaveLength(1);
    const line = sink.lines[0]!;
    const m = TEXT_LINE.exec(line);
    expect(m).not.toBeNull();
    expect(Date.parse(m![1]!)).toBeGreaterThanOrEqual(before - 1000);
    expect(line).toContain(' INFO     broker: client connected client_id=ds_pas port=15234 ok=true none=null\n');
  });

  it('quotes strings with spaces, quotes, = or nothing; serialises objects and errors', () => {
    const sink = capture();
    const log = new Logger({ sink, component: 'c' });
    log.warning('m', {
      spaced: 'a b',
      quoted: 'say "hi"',
      eq: 'k=v',
      empty: '',
      obj: { a: [1, 2] },
      err: new Error('boom here'),
      skipped: undefined,
    });
    const line = sink.lines[0]!;
    expect(line).toContain('spaced="a b"');
    expect(line).toContain('quoted="say \\"hi\\""');
    expect(line).toContain('eq="k=v"');
    expect(line).toContain('empty=""');
    expect(line).toContain('obj={"a":[1,2]}');
    expect(line).toContain('err="boom here"');
    expect(line).not.toContain('skipped');
  });

  it('a newline in a field value cannot break the one-line format', () => {
    const sink = capture();
    new Logger({ sink }).error('x', { detail: 'line1\nline2' });
    expect(sink.lines[0]!.split('\n')).toHaveLength(2); // the content, then the final newline
    expect(sink.lines[0]).toContain('detail="line1\\nline2"');
  });

  it('does not throw on an unserialisable field', () => {
    const sink = capture();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    new Logger({ sink }).info('x', { circular, big: 10n });
    expect(sink.lines[0]).toContain('circular=[unserialisable]');
    expect(sink.lines[0]).toContain('big=[unserialisable]');
  });
});

describe('Logger json format', () => {
  it('writes one JSON object per line', () => {
    const sink = capture();
    const log = new Logger({ sink, format: 'json', component: 'router' });
    log.error('delivery failed', { client_id: 'a', err: new Error('EPIPE'), n: 3, skipped: undefined });
    expect(sink.lines).toHaveLength(1);
    expect(sink.lines[0]!.endsWith('\n')).toBe(true);
    expect(sink.lines[0]!.slice(0, -1)).not.toContain('\n');
    const obj = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    expect(obj).toEqual({
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/) as unknown,
      level: 'error',
      component: 'router',
      msg: 'delivery failed',
      client_id: 'a',
      err: 'EPIPE',
      n: 3,
    });
  });

  it('filters by level like the text format', () => {
    const sink = capture();
    const log = new Logger({ sink, format: 'json', level: 'warning' });
    log.info('no');
    log.warning('yes');
    expect(sink.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['yes']);
  });

  it('does not throw on an unserialisable field, and keeps the others', () => {
    const sink = capture();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const log = new Logger({ sink, format: 'json' });
    expect(() => log.info('x', { circular, big: 10n, ok: 'fine' })).not.toThrow();
    expect(sink.lines).toHaveLength(1);
    const obj = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    expect(obj).toMatchObject({ msg: 'x', circular: '[unserialisable]', big: '[unserialisable]', ok: 'fine' });
  });
});

describe('Logger children', () => {
  it('share level, format and sink with the parent, with their own component', () => {
    const sink = capture();
    const root = new Logger({ sink, component: 'bridge', level: 'info' });
    const child = root.child('broker');
    child.debug('hidden');
    child.info('shown');
    expect(sink.lines).toHaveLength(1);
    expect(sink.lines[0]).toContain(' broker: shown');

    root.level = 'debug'; // changing the parent changes the child
    expect(child.level).toBe('debug');
    child.debug('now shown');
    expect(sink.lines).toHaveLength(2);

    child.level = 'error'; // and the other way round
    expect(root.level).toBe('error');
    root.warning('hidden');
    expect(sink.lines).toHaveLength(2);
    expect(root.component).toBe('bridge');
    expect(child.component).toBe('broker');
  });

  it('grandchildren share the same state', () => {
    const sink = capture();
    const root = new Logger({ sink, format: 'json', level: 'critical' });
    const grandchild = root.child('a').child('b');
    grandchild.error('hidden');
    root.level = 'error';
    grandchild.error('shown');
    expect(sink.lines).toHaveLength(1);
    expect(JSON.parse(sink.lines[0]!)).toMatchObject({ component: 'b', msg: 'shown' });
  });
});
