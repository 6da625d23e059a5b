import { describe, expect, it } from 'vitest';
import { compileFormat, formatMessage, FormatError } from '../../bridge/message-format.js';
import { visible } from '../../bridge/terminal-text.js';
import { jsonErrorMessage, parsePayloadArg } from '../../bridge/payload.js';
import { excerpt, locateJsonError } from '../../src/protocol/json-break.js';
import { jsonValue } from '../../src/protocol/raw-json.js';
import { patternArgError, topicArgError } from '../../bridge/topic-args.js';
import { patternError, topicError } from '../../src/protocol/topics.js';
import type { Message } from '../../src/client/index.js';

describe('locateJsonError', () => {
  it.each([
    '{}',
    '[]',
    ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9\\"", {}]} ',
    '"text"',
    '0',
    '-0.5',
    '\n[\r\n1\t]\n',
  ])('finds nothing wrong in valid JSON %j', (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(locateJsonError(text)).toBeNull();
  });

  it.each([
    ['hello', 0, 'unexpected word "hello"'],
    ['hello world', 0, 'unexpected word "hello"'],
    ["'single'", 0, 'double quotes'],
    ['', 0, 'empty'],
    ['   ', 3, 'empty'],
    ['{a:1}', 1, 'expected a property name in double quotes, found "a"'],
    ['{"a" 1}', 5, 'expected ":" after the property name, found "1"'],
    ['{"a":1,}', 7, 'trailing commas'],
    ['[1,2,]', 5, 'trailing commas'],
    ['{"a":}', 5, 'expected a value, found "}"'],
    ['[1,2', 4, 'expected "," or "]"'],
    ['{"a":1', 6, 'expected "," or "}"'],
    ['[1 2]', 3, 'expected "," or "]", found "2"'],
    ['1 2', 2, 'after the end of the JSON value'],
    ['0012', 1, 'after the end of the JSON value'],
    ['-', 0, 'invalid number'],
    ['"abc', 4, 'unterminated string'],
    ['"a\\qb"', 2, 'invalid escape "\\q"'],
    ['"\\u12"', 1, 'invalid \\u escape'],
    ['"a\tb"', 2, 'a tab inside a string'],
    ['NaN', 0, 'unexpected word "NaN"'],
    ['trueish', 0, 'unexpected word "trueish"'],
    ['[1]]', 3, 'after the end of the JSON value'],
    ['@', 0, 'unexpected "@"'],
  ])('%j breaks at offset %i: %s', (text, offset, reason) => {
    expect(() => JSON.parse(text)).toThrow();
    const err = locateJsonError(text);
    expect(err).toMatchObject({ offset });
    expect(err!.reason).toContain(reason);
  });

  it('counts lines and columns from 1', () => {
    expect(locateJsonError('{\n  "a": 1,\n  "b": nope\n}')).toMatchObject({ line: 3, column: 8 });
  });

  it('a long line is cut around the spot, with the caret still under it', () => {
    const text = `{"items": [${'1, '.repeat(60)}oops]}`;
    const err = locateJsonError(text)!;
    const [line, caret] = excerpt(text, err).split('\n');
    expect(line!.length).toBeLessThanOrEqual(2 + 3 + 72 + 3);
    expect(line!.startsWith('  ...')).toBe(true);
    expect(line!.slice(caret!.indexOf('^'), caret!.indexOf('^') + 4)).toBe('oops');
  });
});

describe('parsePayloadArg', () => {
  it('JSON, text with asString, and null without an argument', () => {
    // JSON is kept as its text, which the client sends as written.
    expect(jsonValue(parsePayloadArg('{"a":1}'))).toEqual({ a: 1 });
    expect(jsonValue(parsePayloadArg('42'))).toBe(42);
    expect(parsePayloadArg('hello', { asString: true })).toBe('hello');
    expect(parsePayloadArg('{"a":1}', { asString: true })).toBe('{"a":1}');
    expect(parsePayloadArg(undefined)).toBeNull();
  });

  it('text that is not JSON is an error with the position, the excerpt and the hint', () => {
    expect(() => parsePayloadArg('hello')).toThrow(/the payload is not valid JSON: unexpected word "hello".* at column 1\n {2}hello\n {2}\^\nTo send it as text, add --string \(-s\)\./);
  });
});

describe('jsonErrorMessage', () => {
  it('on Windows, an object without any double quote says the shell may have removed them', () => {
    const hint = 'To send it as text, add --string (-s).';
    expect(jsonErrorMessage('{job_id:1}', 'the payload', hint, 'win32')).toMatch(/PowerShell 5\.1 does\): pipe the JSON in instead, e\.g\. '\{"job_id":"1"\}' \| bridge pub TOPIC -$/);
    expect(jsonErrorMessage('{job_id:1}', 'the payload', hint, 'linux')).not.toMatch(/PowerShell/);
    expect(jsonErrorMessage('{"job_id":1,}', 'the payload', hint, 'win32')).not.toMatch(/PowerShell/);
  });
});

describe('topic and pattern arguments', () => {
  it('follow the broker rule, and refuse spaces on top of it', () => {
    for (const t of ['jobs.activated', 'a', 'jobs..x', 'a.*', '#', '.a', 'a.']) expect(topicArgError(t)).toBe(topicError(t));
    for (const p of ['jobs.*', 'a.#', '#', 'a#', 'a.#.b', 'jobs..x', '.a', 'a.']) expect(patternArgError(p)).toBe(patternError(p));
    expect(topicArgError('jobs activated')).toBe('topic contains a space');
    expect(patternArgError('jobs.* scripts.#')).toBe('pattern contains a space');
    // A control character is the broker's own reason.
    expect(topicArgError('a b\n')).toBe(topicError('a b\n'));
  });
});

describe('compileFormat', () => {
  const message: Message = {
    topic: 'jobs.activated',
    payload: 'text "quoted"',
    sender: 'ds_pas',
    messageId: 'm-1',
    timestamp: '2026-01-02T03:04:05.678+00:00',
    qos: 1,
    retained: true,
    redelivered: false,
    replyTo: undefined,
  };

  it('fills in every placeholder', () => {
    expect(compileFormat('%t %p %P %s %i %q %T %r %%')(message)).toBe(
      'jobs.activated "text \\"quoted\\"" text "quoted" ds_pas m-1 1 2026-01-02T03:04:05.678+00:00 1 %',
    );
  });

  it('%P is JSON for a payload that is not a string; %r is 0 for a live message', () => {
    const m = { ...message, payload: { a: [1, 2] }, retained: false };
    expect(compileFormat('%P|%p|%r')(m)).toBe('{"a":[1,2]}|{"a":[1,2]}|0');
    expect(compileFormat('%P')({ ...m, payload: null })).toBe('null');
  });

  it('turns \\n, \\t and \\\\ into characters and leaves other text as it is', () => {
    expect(compileFormat('%t\\t%q\\n\\\\ \\x 50%% done')(message)).toBe('jobs.activated\t1\n\\ \\x 50% done');
    expect(compileFormat('')(message)).toBe('');
  });

  it('refuses an unknown placeholder and a % at the end', () => {
    expect(() => compileFormat('%t %x')).toThrow(FormatError);
    expect(() => compileFormat('%t %x')).toThrow('unknown placeholder "%x"');
    expect(() => compileFormat('100%')).toThrow('a "%" at the end');
  });
});

describe('text from other clients, printed to a terminal', () => {
  const evil = 'evil\u001b]0;pwned\u0007\u001b[31mRED';
  const message: Message = {
    topic: 'esc.b',
    payload: 'x\u001b[31m\nsecond line',
    sender: evil,
    messageId: 'm-1',
    timestamp: '2026-01-02T03:04:05.678+00:00',
    qos: 0,
    retained: false,
    redelivered: false,
    replyTo: undefined,
  };

  it('visible() escapes control characters as JSON does, and leaves printable text, backslashes included', () => {
    expect(visible('new\nline\ttab\rcr\bbs\fff')).toBe('new\\nline\\ttab\\rcr\\bbs\\fff');
    expect(visible(evil)).toBe('evil\\u001b]0;pwned\\u0007\\u001b[31mRED');
    expect(visible('nul\u0000 del\u007f csi\u009b nel\u0085')).toBe('nul\\u0000 del\\u007f csi\\u009b nel\\u0085');
    expect(visible('spoof\u202efdp.exe \u2066iso\u2069')).toBe('spoof\\u202efdp.exe \\u2066iso\\u2069');
    for (const plain of ['C:\\scripts\\cad.ahk', 'uni\u00e9\u2028x \u{1f600}', 'q"uote', '']) expect(visible(plain)).toBe(plain);
  });

  it('--format fields show them escaped, so a message is one line; the pattern\'s own \\n and \\t stay', () => {
    const line = compileFormat('%s\\t%t %P|%p|%i %T\\n')(message);
    expect(line).toBe('evil\\u001b]0;pwned\\u0007\\u001b[31mRED\tesc.b x\\u001b[31m\\nsecond line|"x\\u001b[31m\\nsecond line"|m-1 2026-01-02T03:04:05.678+00:00\n');
    expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('the default line keeps the payload the same JSON value; --json is left as it is, for programs', () => {
    const c1 = { ...message, payload: { text: 'csi\u009b del\u007f esc\u001b' } };
    const line = formatMessage(c1, false);
    expect(line).toBe('esc.b {"text":"csi\\u009b del\\u007f esc\\u001b"}');
    expect(JSON.parse(line.slice('esc.b '.length))).toEqual(c1.payload);
    const json = JSON.parse(formatMessage(message, true)) as { sender: string; payload: string };
    expect(json).toMatchObject({ sender: evil, payload: message.payload });
  });
});
