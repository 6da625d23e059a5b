import { describe, expect, it } from 'vitest';
import { asciiJson, encodeCommand, EXIT_COMMAND, parseLoadError, parsePayloadText, parseScriptLine } from '../../bridge/supervisor/line-protocol.js';

const base = 'scripts.cad';

describe('parseScriptLine', () => {
  it('publishes relative topics under scripts.<key> and absolute ones as written', () => {
    expect(parseScriptLine('@pub hotkey.pressed {"key":"F1"}', base)).toEqual({ kind: 'publish', topic: 'scripts.cad.hotkey.pressed', payload: { key: 'F1' } });
    expect(parseScriptLine('@pub /jobs.activated {"job_id":"12345"}', base)).toEqual({ kind: 'publish', topic: 'jobs.activated', payload: { job_id: '12345' } });
  });

  it('plain payloads become {data}, JSON scalars stay, a missing payload is null', () => {
    expect(parseScriptLine('@pub note saw 1 is ready', base)).toEqual({ kind: 'publish', topic: 'scripts.cad.note', payload: { data: 'saw 1 is ready' } });
    expect(parseScriptLine('@pub n 42', base)).toMatchObject({ payload: 42 });
    expect(parseScriptLine('@pub s "text"', base)).toMatchObject({ payload: 'text' });
    expect(parseScriptLine('@pub a [1,2]', base)).toMatchObject({ payload: [1, 2] });
    expect(parseScriptLine('@pub empty', base)).toMatchObject({ payload: null });
  });

  it('refuses invalid and reserved topics as output with an error, never a publish', () => {
    for (const line of ['@pub /system.broker.ready {}', '@pub /_internal.x 1', '@pub a..b 1', '@pub a.* 1', '@pub', '@pub /']) {
      const r = parseScriptLine(line, base);
      expect(r.kind, line).toBe('output');
      expect((r as { error?: string }).error, line).toBeTruthy();
    }
  });

  it("refuses the script's own command topic (it would be fed back to it), not another script's", () => {
    for (const line of ['@pub command.again {}', '@pub command', '@pub /scripts.cad.command.again {}', '@pub /scripts.cad.command {}']) {
      const r = parseScriptLine(line, base);
      expect(r.kind, line).toBe('output');
      expect((r as { error?: string }).error, line).toMatch(/own command topic/);
    }
    expect(parseScriptLine('@pub /scripts.saw.command.cut {"n":1}', base)).toEqual({ kind: 'publish', topic: 'scripts.saw.command.cut', payload: { n: 1 } });
    expect(parseScriptLine('@pub commands.sent 1', base)).toMatchObject({ kind: 'publish', topic: 'scripts.cad.commands.sent' });
  });

  it('parses replies and errors with their request id', () => {
    expect(parseScriptLine('@reply r7 {"ok":true}', base)).toEqual({ kind: 'reply', id: 'r7', result: { ok: true } });
    expect(parseScriptLine('@error r8 saw is offline', base)).toEqual({ kind: 'reply-error', id: 'r8', message: 'saw is offline' });
    expect(parseScriptLine('@reply', base).kind).toBe('output');
    expect(parseScriptLine('@reply bad\nid {}', base).kind).toBe('output');
  });

  it('recognises @ready; other lines, including unknown @words, are output', () => {
    expect(parseScriptLine('@ready', base)).toEqual({ kind: 'ready' });
    expect(parseScriptLine('hello world', base)).toEqual({ kind: 'output', line: 'hello world' });
    expect(parseScriptLine('@someone mentioned', base)).toEqual({ kind: 'output', line: '@someone mentioned' });
  });
});

describe('encodeCommand', () => {
  it('writes name, id and ASCII-only JSON on one line', () => {
    expect(encodeCommand('job.load', { job: 'Müller ✓' }, 'r1')).toBe('job.load r1 {"job":"M\\u00fcller \\u2713"}\n');
    expect(encodeCommand('ping', null)).toBe('ping - null\n');
    expect(EXIT_COMMAND).toBe('exit - null\n');
  });

  it('cannot be broken out of by newlines or control characters in the payload', () => {
    const evil = { text: 'a\nexit - null\r\nb\u0000\u2028\u2029' };
    const line = encodeCommand('note', evil);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line).not.toMatch(/[\r\u0000\u2028\u2029]/);
    expect([...Buffer.from(line)].every((b) => b < 0x7f)).toBe(true);
    expect(JSON.parse(line.slice('note - '.length))).toEqual(evil);
  });

  it('refuses names and ids that could break the format', () => {
    for (const name of ['', 'has space', 'new\nline', 'x'.repeat(65), 'semi;colon']) expect(() => encodeCommand(name, 1), name).toThrow(RangeError);
    expect(() => encodeCommand('ok', 1, 'id with space')).toThrow(RangeError);
  });

  it('asciiJson escapes every non-ASCII character, including astral ones as surrogates', () => {
    expect(asciiJson('é😀')).toBe('"\\u00e9\\ud83d\\ude00"');
    expect(JSON.parse(asciiJson('é😀'))).toBe('é😀');
  });
});

describe('load errors and payload text', () => {
  it('parses AutoHotkey /ErrorStdOut load errors', () => {
    expect(parseLoadError('C:\\scripts\\cad.ahk (12) : ==> Missing "}"')).toEqual({ file: 'C:\\scripts\\cad.ahk', line: 12, message: 'Missing "}"' });
    expect(parseLoadError('just a warning')).toBeNull();
  });

  it('parsePayloadText', () => {
    expect(parsePayloadText(undefined)).toBeNull();
    expect(parsePayloadText('{"a":1}')).toEqual({ a: 1 });
    expect(parsePayloadText('not json')).toEqual({ data: 'not json' });
  });
});
