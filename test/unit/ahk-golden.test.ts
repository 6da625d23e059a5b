/**
 * The AutoHotkey libraries cannot run here (no Windows, no AutoHotkey), so they carry golden
 * examples in comments: the lines Bridge.ahk prints (`; golden-out:`), the command lines it
 * accepts (`; golden-in:`), its stderr error line (`; golden-err:`) and the frames
 * BrokerClient.ahk sends (`; golden-frame:`). These tests hold those examples to the
 * TypeScript side of each protocol, and statically check the sources for regressions of the
 * facts in docs/autohotkey.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EXIT_COMMAND,
  RUNTIME_ERROR_PREFIX,
  encodeCommand,
  parseScriptLine,
  type ScriptLine,
} from '../../bridge/supervisor/line-protocol.js';
import { isRpcErrorObject } from '../../src/protocol/errors.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { golden } from '../helpers/ahk-golden-lines.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPTS = join(ROOT, 'scripts');
const BASE_TOPIC = 'scripts.cad';

function source(rel: string): string {
  return readFileSync(join(SCRIPTS, rel), 'utf8');
}


const bridge = source('lib/Bridge.ahk');
const json = source('lib/BridgeJson.ahk');
const client = source('lib/BrokerClient.ahk');
const example = source('cad_hotkeys.ahk');

const publish = (topic: string, payload: unknown): ScriptLine => ({ kind: 'publish', topic, payload });

/** What each golden-out line of Bridge.ahk must mean to the bridge. */
const EXPECTED_OUT: Record<string, ScriptLine> = {
  '@ready': { kind: 'ready' },
  '@pub hotkey.pressed {"key":"F1"}': publish('scripts.cad.hotkey.pressed', { key: 'F1' }),
  '@pub /jobs.requested {"job":"A-100","source":"cad"}': publish('jobs.requested', { job: 'A-100', source: 'cad' }),
  '@pub selection.changed ["P1","P2"]': publish('scripts.cad.selection.changed', ['P1', 'P2']),
  '@pub status "idle"': publish('scripts.cad.status', 'idle'),
  '@pub counter 42': publish('scripts.cad.counter', 42),
  '@pub flags {"enabled":true,"missing":null,"ratio":0.5}': publish('scripts.cad.flags', {
    enabled: true,
    missing: null,
    ratio: 0.5,
  }),
  '@pub started': publish('scripts.cad.started', null),
  [String.raw`@pub note "line 1\nline 2 \"quoted\" C:\\temp"`]: publish('scripts.cad.note', 'line 1\nline 2 "quoted" C:\\temp'),
  '@pub greeting "Müller ✓"': publish('scripts.cad.greeting', 'Müller ✓'),
  '@reply 7 "pong"': { kind: 'reply', id: '7', result: 'pong' },
  '@reply 8 {"job":"A-100","loaded":true}': { kind: 'reply', id: '8', result: { job: 'A-100', loaded: true } },
  '@reply 14 ""': { kind: 'reply', id: '14', result: '' },
  '@error 9 no handler for command "nope"': { kind: 'reply-error', id: '9', message: 'no handler for command "nope"' },
  '@error 16 no handler for command "exit"': { kind: 'reply-error', id: '16', message: 'no handler for command "exit"' },
  '@error 10 job.load needs a "job" field': { kind: 'reply-error', id: '10', message: 'job.load needs a "job" field' },
  '@pub exiting {"code":0,"reason":"Exit"}': publish('scripts.cad.exiting', { code: 0, reason: 'Exit' }),
};

describe('Bridge.ahk golden-out lines', () => {
  const lines = golden(bridge, 'golden-out');

  it('has exactly the expected golden lines, each once', () => {
    expect(new Set(lines).size).toBe(lines.length);
    expect([...lines].sort()).toEqual(Object.keys(EXPECTED_OUT).sort());
  });

  it.each(lines)('classifies %s', (line) => {
    expect(EXPECTED_OUT[line], `no expectation for golden line: ${line}`).toBeDefined();
    expect(parseScriptLine(line, BASE_TOPIC)).toEqual(EXPECTED_OUT[line]);
  });

  it('prints one line per message, without control characters', () => {
    for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('covers every kind of line and payload type', () => {
    const results = lines.map((l) => parseScriptLine(l, BASE_TOPIC));
    const kinds = new Set(results.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['publish', 'ready', 'reply', 'reply-error']);
    const payloads = results.flatMap((r) => (r.kind === 'publish' ? [r.payload] : []));
    const types = new Set(payloads.map((p) => (p === null ? 'null' : Array.isArray(p) ? 'array' : typeof p)));
    expect([...types].sort()).toEqual(['array', 'null', 'number', 'object', 'string']);
    expect(results.some((r) => r.kind === 'publish' && !r.topic.startsWith(`${BASE_TOPIC}.`))).toBe(true);
  });
});

describe('Bridge.ahk golden-in lines', () => {
  const lines = golden(bridge, 'golden-in');

  it('covers exit, requests, plain messages, \\u escapes and escaped newlines', () => {
    expect(lines).toContain(EXIT_COMMAND.trimEnd());
    expect(lines.some((l) => / - /.test(l))).toBe(true);
    expect(lines.some((l) => / \d+ /.test(l))).toBe(true);
    expect(lines.some((l) => /\\u[0-9a-f]{4}/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('\\n'))).toBe(true);
  });

  it.each(lines)('round-trips through encodeCommand: %s', (line) => {
    const m = /^(\S+) (\S+) (.*)$/.exec(line);
    expect(m, `not <name> <id> <json>: ${line}`).not.toBeNull();
    const [, name, id, text] = m!;
    expect(encodeCommand(name!, JSON.parse(text!), id === '-' ? undefined : id)).toBe(`${line}\n`);
  });

  it.each(lines)('is printable ASCII only: %s', (line) => {
    for (const byte of Buffer.from(line, 'utf8')) {
      expect(byte).toBeGreaterThanOrEqual(0x20);
      expect(byte).toBeLessThanOrEqual(0x7e);
    }
  });
});

describe('Bridge.ahk golden-err line', () => {
  const lines = golden(bridge, 'golden-err');

  it.each(lines)('is a runtime error report the bridge recognises: %s', (line) => {
    expect(line.startsWith(RUNTIME_ERROR_PREFIX)).toBe(true);
    const info = JSON.parse(line.slice(RUNTIME_ERROR_PREFIX.length)) as Record<string, unknown>;
    expect(Object.keys(info).sort()).toEqual(['extra', 'file', 'line', 'message', 'mode', 'what']);
    expect(typeof info.message).toBe('string');
    expect(typeof info.line).toBe('number');
    // The modes AutoHotkey passes to OnError; a built-in function's error is "Return".
    expect(['Return', 'Exit', 'ExitApp']).toContain(info.mode);
  });

  it('exists', () => expect(lines.length).toBeGreaterThan(0));
});

describe('BrokerClient.ahk golden frames', () => {
  const frames = golden(client, 'golden-frame').map((line) => {
    const m = /^([0-9a-f]+) (.*)$/.exec(line);
    if (!m) throw new Error(`malformed golden-frame: ${line}`);
    return { hex: m[1]!, text: m[2]! };
  });

  it('has at least two frames, one with multi-byte UTF-8', () => {
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames.some((f) => Buffer.byteLength(f.text, 'utf8') > f.text.length)).toBe(true);
  });

  it.each(frames)('is the real frame of $text', ({ hex, text }) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(hex).toBe(encodeFrame(text).toString('hex'));
    const header = Buffer.from(hex, 'hex').readUInt32BE(0);
    expect(header).toBe(Buffer.byteLength(text, 'utf8'));
  });

  it.each(frames)('is a JSON-RPC 2.0 message in the order the client writes: $text', ({ text }) => {
    expect(text).toMatch(/^\{"jsonrpc":"2\.0","method":"[a-z_.]+","params":.*\}$/);
    const msg = JSON.parse(text) as { id?: unknown };
    expect(msg.id === undefined || typeof msg.id === 'number').toBe(true);
  });

  it('include the one subscribe a reconnect sends with every registered pattern', () => {
    const subs = frames.map((f) => JSON.parse(f.text) as { method: string; params: { patterns?: unknown } });
    expect(subs.some((m) => m.method === 'subscribe' && Array.isArray(m.params.patterns) && m.params.patterns.length > 1)).toBe(true);
  });

  const replies = frames.map((f) => JSON.parse(f.text) as { method: string; id?: unknown; params: Record<string, unknown> }).filter((m) => m.method === 'reply');

  it('include Respond replies: a value, an explicit "", and a thrown error', () => {
    expect(replies.some((r) => r.params.result === 'pong')).toBe(true);
    expect(replies.some((r) => r.params.result === '')).toBe(true);
    expect(replies.some((r) => r.params.error !== undefined)).toBe(true);
  });

  it.each(replies)('reply is a notification the broker accepts: $params', (reply) => {
    expect(reply.id).toBeUndefined();
    expect(typeof reply.params.reply_to).toBe('string');
    // One answer: a result (null would be "no answer" to the broker) or an error.
    expect(('result' in reply.params) !== ('error' in reply.params)).toBe(true);
    if ('result' in reply.params) expect(reply.params.result).not.toBeNull();
    else {
      expect(isRpcErrorObject(reply.params.error)).toBe(true);
      expect(reply.params.error).toEqual({ code: -32603, message: expect.any(String) });
    }
  });
});

/** The argument text of every call to `fn(` on one line of `text`. */
function calls(text: string, fn: string): string[] {
  return text.split('\n').filter((line) => !/^\s*;/.test(line) && line.includes(`${fn}(`));
}

// Source checks, not behaviour: no AutoHotkey runs here, so these hold the libraries'
// text to the facts in docs/autohotkey.md (which calls they make, with which arguments).
// Behaviour on a real AutoHotkey is on the Windows checklist in scripts/README.md.
describe('AutoHotkey source checks (the text of the libraries, not their behaviour)', () => {
  it('every .ahk file declares AutoHotkey v2 on its first line', () => {
    const files = [
      ...readdirSync(SCRIPTS).filter((f) => f.endsWith('.ahk')),
      ...readdirSync(join(SCRIPTS, 'lib')).map((f) => `lib/${f}`).filter((f) => f.endsWith('.ahk')),
    ];
    expect(files).toEqual(expect.arrayContaining(['cad_hotkeys.ahk', 'lib/Bridge.ahk', 'lib/BrokerClient.ahk']));
    for (const f of files) expect(source(f).split('\n')[0], f).toMatch(/^#Requires AutoHotkey v2/);
  });

  it('Bridge.ahk source: stdin is polled with PeekNamedPipe on a timer, never a blocking read; a broken pipe leads to ExitApp', () => {
    expect(bridge).toMatch(/DllCall\("GetStdHandle", "Int", -10/);
    expect(bridge).toMatch(/DllCall\("PeekNamedPipe"/);
    expect(bridge).toMatch(/DllCall\("ReadFile"/);
    expect(bridge).toMatch(/SetTimer\(/);
    expect(bridge).not.toMatch(/FileOpen\("\*"/); // a blocking stdin read would freeze hotkeys
    expect(bridge).toMatch(/PeekNamedPipe[^\n]*\n\s*ExitApp/);
  });

  it('Bridge.ahk source: every FileAppend and StrGet names UTF-8', () => {
    const appends = calls(bridge, 'FileAppend');
    const gets = calls(bridge, 'StrGet');
    expect(appends.length).toBeGreaterThanOrEqual(2);
    expect(gets.length).toBeGreaterThanOrEqual(1);
    for (const line of [...appends, ...gets]) expect(line).toContain('"UTF-8"');
    expect(appends.some((l) => l.includes('"*"'))).toBe(true);
    expect(appends.some((l) => l.includes('"**"'))).toBe(true);
  });

  it('Bridge.ahk source: OnError prints the runtime-error line and returns 1 (no dialog)', () => {
    expect(bridge).toMatch(/OnError\(/);
    expect(bridge).toMatch(/OnExit\(/);
    expect(bridge).toContain(RUNTIME_ERROR_PREFIX.trim());
    expect(bridge).toMatch(/static _OnError\([^)]*\) \{[\s\S]*?return 1\b/);
  });

  it('Bridge.ahk source: ExitApp follows only the exact stop line, never a test of the name alone', () => {
    expect(bridge).toMatch(new RegExp(`if line == "${EXIT_COMMAND.trimEnd()}"[^\\n]*\\n\\s*ExitApp\\(`));
    // Any other `exit ...` line is a command: no test of the name alone may end the script.
    expect(bridge).not.toMatch(/name == "exit"/);
  });

  it('Bridge.ahk source: #Warn All, StdOut with the default exceptions', () => {
    // A #Warn dialog is not redirected by /ErrorStdOut: the script would hang unseen.
    expect(bridge).toMatch(/^#Warn All, StdOut\s*$/m);
    expect(bridge).toMatch(/^#Warn All, StdOut\s*\n#Warn LocalSameAsGlobal, Off\s*$/m);
  });

  it('BrokerClient.ahk source: lengths from StrPut UTF-8, ws2_32 sockets to 127.0.0.1, no COM', () => {
    expect(client).toMatch(/StrPut\(\w+, "UTF-8"\) - 1/);
    expect(client).not.toContain('StrLen(');
    expect(client).not.toMatch(/NumPut\("UInt", n\b/);
    expect(client).not.toMatch(/MSWinsock/i);
    expect(client).not.toMatch(/ComObject\(/);
    expect(client).toMatch(/__New\(host := "127\.0\.0\.1"/);
    expect(client).not.toMatch(/:= "localhost"/);
    expect(client).toMatch(/ws2_32\\WSAStartup/);
    expect(client).toMatch(/ws2_32\\WSAAsyncSelect/);
    expect(client).toMatch(/OnMessage\(/);
    for (const line of calls(client, 'StrGet')) expect(line).toContain('"UTF-8"');
  });

  it('BrokerClient.ahk source: Respond and Subscribe exist; pending calls get -32000 on close', () => {
    expect(client).toMatch(/^\s*Respond\(patterns, callback\) \{/m);
    expect(client).toMatch(/^\s*Subscribe\(patterns, callback\) \{/m);
    expect(client).toMatch(/Map\("code", -32603, "message"/);
    expect(client).toMatch(/callback\.Call\("", Map\("code", -32000, "message", "connection closed"\)\)/);
  });

  it('BrokerClient.ahk source: every Connect subscribes again to every registered pattern, in one request', () => {
    // The broker keeps subscriptions only while it runs: a reconnect after a broker restart
    // would otherwise get no deliveries.
    const connect = /^ {4}Connect\([^)]*\) \{([\s\S]*?)\n {4}\}/m.exec(client)?.[1] ?? '';
    const rpcs = [...connect.matchAll(/this\.Rpc\("(\w+)"/g)].map((m) => m[1]);
    expect(rpcs).toEqual(['connect', 'subscribe']);
    expect(connect).toMatch(/patterns := this\._Patterns\(\)[\s\S]*this\.Rpc\("subscribe", Map\("patterns", patterns\)/);
    const all = /^ {4}_Patterns\(\) \{([\s\S]*?)\n {4}\}/m.exec(client)?.[1] ?? '';
    expect(all).toMatch(/for sub in this\._subs\s*\n\s*for pattern in sub\.patterns/);
  });

  it('BrokerClient.ahk source: Subscribe with a pattern and callback it already has adds nothing', () => {
    const watch = /^ {4}_Watch\([^)]*\) \{([\s\S]*?)\n {4}\}/m.exec(client)?.[1] ?? '';
    expect(watch).toMatch(/sub\.callback == callback/);
    expect(watch).toMatch(/if !added\.Length\s*\n\s*return/);
    expect(watch).toMatch(/this\._subs\.Push\(\{patterns: added,/);
  });

  it('BrokerClient.ahk source: Publish returns false without a connection or when the send fails, never throws for them', () => {
    // Fire and forget: a thrown error in a hotkey is a modal dialog.
    const publish = /^ {4}Publish\([^)]*\) \{([\s\S]*?)\n {4}\}/m.exec(client)?.[1] ?? '';
    expect(publish).toMatch(/if !this\._sock\s*\n\s*return false/);
    expect(publish).toMatch(/try\s*\n\s*this\.Rpc\("publish"[^\n]*\n\s*catch OSError\s*\n\s*return false/);
    expect(publish).toMatch(/return true\s*$/);
  });

  it('BrokerClient.ahk source: one Sleep (the queued send retry), socket messages only schedule reads, a 1 s polling timer', () => {
    // Sleep lets other threads run, so the only Sleep is the send retry, behind the queue.
    expect(calls(client, 'Sleep').length).toBe(1);
    expect(client).toMatch(/while !this\._sending && this\._queue\.Length/);
    // No socket message closes anything by itself (a reused handle gets stale FD_CLOSEs).
    const onSocket = /static _OnSocket\([^)]*\) \{([\s\S]*?)\n {4}\}/.exec(client)?.[1] ?? '';
    expect(onSocket).toContain('SetTimer(');
    expect(onSocket).not.toMatch(/lParam|_Closed|32/);
    expect(client).toMatch(/SetTimer\(this\._tick, 1000\)/);
  });

  it('source: both libraries include BridgeJson.ahk, which writes \\u escapes', () => {
    expect(bridge).toMatch(/^#Include BridgeJson\.ahk/m);
    expect(client).toMatch(/^#Include BridgeJson\.ahk/m);
    expect(json).toMatch(/^class BridgeJson \{/m);
    expect(json).toContain('\\u{:04x}');
  });

  it('cad_hotkeys.ahk source: includes Bridge.ahk, calls Bridge.Ready(), and its ;@fake directives match its handlers', () => {
    expect(example.split('\n')[0]).toMatch(/^#Requires AutoHotkey v2/);
    expect(example).toMatch(/^#Include lib[\\/]Bridge\.ahk/m);
    expect(example).toMatch(/Bridge\.Ready\(\)/);
    const fakes = example.split('\n').filter((l) => l.startsWith(';@fake '));
    expect(fakes.length).toBeGreaterThan(0);
    for (const raw of fakes) {
      const line = raw.replace(/\r$/, '');
      const every = /^;@fake every (\d+) pub (\S+) (.*)$/.exec(line);
      const on = /^;@fake on (\S+) reply (.*)$/.exec(line);
      expect(every ?? on, line).not.toBeNull();
      if (every) expect(parseScriptLine(`@pub ${every[2]} ${every[3]}`, BASE_TOPIC).kind).toBe('publish');
      if (on) {
        // The stand-in's answers must be what the script's real handlers return.
        expect(example, `handler for ${on[1]}`).toContain(`Bridge.On("${on[1]}"`);
        expect(() => JSON.parse(on[2]!), line).not.toThrow();
      }
    }
  });
});
