/**
 * The fake AutoHotkey interpreter (fixtures/fake-ahk) behaves as documented: exit codes,
 * the /ErrorStdOut format, code pages, the Bridge.ahk line protocol, signals and child
 * processes. Spawned directly, asserting on bytes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeCommand, EXIT_COMMAND, parseLoadError, parseScriptLine, RUNTIME_ERROR_PREFIX } from '../../bridge/supervisor/line-protocol.js';
import { assertGone, isGone } from '../helpers/processes.js';
import { POSIX_SIGNALS } from '../helpers/platform.js';

const FAKE = fileURLToPath(new URL('../../fixtures/fake-ahk/AutoHotkey.mjs', import.meta.url));
const FAKE_V1 = fileURLToPath(new URL('../../fixtures/fake-ahk/v1/AutoHotkeyU64.mjs', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('../../fixtures/scripts/', import.meta.url));
/** The switches the bridge always passes. */
const STD = ['/force', '/ErrorStdOut=UTF-8'];

const fixture = (name: string): string => path.join(SCRIPTS, name);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-ahk-'));
let tmpCount = 0;
/** A throwaway script with `lines` as its content. */
function script(...lines: string[]): string {
  const p = path.join(tmp, `s${++tmpCount}.ahk`);
  fs.writeFileSync(p, ['#Requires AutoHotkey v2.0', ...lines, ''].join('\n'));
  return p;
}
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout(): Buffer;
  stderr(): Buffer;
  done: Promise<Result>;
  /** Resolve once the stream's text satisfies `pred`; reject if the process closes first. */
  wait(stream: 'stdout' | 'stderr', pred: (text: string) => boolean): Promise<string>;
}

const running: { child: ChildProcessWithoutNullStreams; group: boolean }[] = [];
afterEach(() => {
  for (const { child, group } of running.splice(0)) {
    try {
      // A group can outlive its leader (a grandchild left behind): always signal it.
      if (group) process.kill(-child.pid!, 'SIGKILL');
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Start the fake (or `interpreter`) with `args`. */
function start(args: string[], opts: { interpreter?: string; detached?: boolean; env?: NodeJS.ProcessEnv } = {}): Run {
  const child = spawn(process.execPath, [opts.interpreter ?? FAKE, ...args], {
    detached: opts.detached ?? false,
    env: { ...process.env, FAKE_AHK_VERSION: '', ...opts.env },
  });
  running.push({ child, group: opts.detached ?? false });
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  child.stdout.on('data', (d: Buffer) => chunks.stdout.push(d));
  child.stderr.on('data', (d: Buffer) => chunks.stderr.push(d));
  const read = (s: 'stdout' | 'stderr'): Buffer => Buffer.concat(chunks[s]);
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: read('stdout'), stderr: read('stderr') });
    }),
  );
  const wait = (stream: 'stdout' | 'stderr', pred: (text: string) => boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const text = read(stream).toString('utf8');
        if (!pred(text)) return false;
        child[stream].off('data', onData);
        resolve(text);
        return true;
      };
      const onData = (): void => void check();
      if (check()) return;
      child[stream].on('data', onData);
      done.then(() => {
        if (!check()) reject(new Error(`fake exited before the expected ${stream}; stdout:\n${read('stdout').toString()}\nstderr:\n${read('stderr').toString()}`));
      }, reject);
    });
  return { child, stdout: () => read('stdout'), stderr: () => read('stderr'), done, wait };
}

/** Run to completion with stdin closed. */
function run(args: string[], opts: { interpreter?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const r = start(args, opts);
  r.child.stdin.end();
  return r.done;
}

const lines = (b: Buffer): string[] => b.toString('utf8').split('\n').filter((l) => l !== '');



describe('load failures (exit 2, `path (line) : ==> message` on stderr)', () => {
  it('syntax-error: absolute path, line, message, and the offending line', async () => {
    const file = fixture('syntax-error.ahk');
    const res = await run([...STD, file]);
    expect(res.code).toBe(2);
    expect(res.stdout.length).toBe(0);
    const [first, second] = res.stderr.toString('utf8').split('\n');
    expect(first).toBe(`${file} (5) : ==> Missing "}"`);
    expect(parseLoadError(first!)).toEqual({ file, line: 5, message: 'Missing "}"' });
    expect(second).toBe('     Specifically: if (A_Index > 1 {');
  });

  it('the message is cp1252 without /ErrorStdOut=UTF-8 and UTF-8 with it', async () => {
    const file = script(';@fake syntax-error 2 Fehler: ungültig €');
    const ansi = await run(['/force', '/ErrorStdOut', file]);
    expect(ansi.code).toBe(2);
    expect(ansi.stderr.includes(Buffer.from([0x75, 0x6e, 0x67, 0xfc, 0x6c]))).toBe(true); // "ungül" in cp1252
    expect(ansi.stderr.includes(Buffer.from(' \x80\n', 'latin1'))).toBe(true); // € is 0x80
    expect(iconv.decode(ansi.stderr, 'win1252')).toContain(`${file} (2) : ==> Fehler: ungültig €`);
    const utf8 = await run([...STD, file]);
    expect(utf8.code).toBe(2);
    expect(utf8.stderr.toString('utf8')).toContain(`${file} (2) : ==> Fehler: ungültig €\n`);
  });

  it('a missing script file', async () => {
    const file = path.join(tmp, 'does-not-exist.ahk');
    const res = await run([...STD, file]);
    expect(res.code).toBe(2);
    expect(parseLoadError(res.stderr.toString('utf8').split('\n')[0]!)).toEqual({ file, line: 0, message: 'Script file not found.' });
  });

  it('an unknown switch, or no script at all', async () => {
    const bad = await run(['/force', '/Bogus', fixture('echo.ahk')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.toString()).toMatch(/ : ==> Unknown switch \/Bogus/);
    expect(bad.stdout.length).toBe(0);
    const none = await run(['/force']);
    expect(none.code).toBe(2);
    expect(none.stderr.toString()).toMatch(/ : ==> No script file given/);
  });

  it('a missing #Include file (unless *i), relative to the script\'s folder', async () => {
    const missing = script('#Include lib\\Bridge.ahk', ';@fake print never');
    const res = await run([...STD, missing]);
    expect(res.code).toBe(2);
    expect(res.stdout.length).toBe(0);
    expect(res.stderr.toString()).toBe(`${missing} (2) : ==> #Include file "lib\\Bridge.ahk" cannot be opened.\n     Specifically: #Include lib\\Bridge.ahk\n`);
    expect((await run([...STD, script('#Include *i lib\\Bridge.ahk', ';@fake print ok')])).stdout.toString()).toBe('@ready\nok\n@pub exiting {"code":0,"reason":"Exit"}\n');
    fs.mkdirSync(path.join(tmp, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'lib', 'Helpers.ahk'), '');
    expect((await run([...STD, script('#Include %A_ScriptDir%\\lib\\Helpers.ahk', ';@fake print ok')])).stdout.toString()).toBe('ok\n');
  });

  it('the first load error in line order wins, as AutoHotkey parses top to bottom', async () => {
    const v1 = script(';@fake syntax-error 4 later', '#Include nowhere.ahk', 'x := 1');
    expect((await run([...STD, v1])).stderr.toString()).toMatch(/ \(3\) : ==> #Include file "nowhere\.ahk" cannot be opened\./);
    const first = script(';@fake syntax-error 2 first', '#Include nowhere.ahk');
    expect((await run([...STD, first])).stderr.toString()).toMatch(/ \(2\) : ==> first\n/);
  });

  it('an unknown or malformed directive fails loudly', async () => {
    const typo = await run([...STD, script(';@fake prnit hello')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr.toString()).toContain('(2) : ==> fake: bad directive "prnit hello": unknown directive');
    const bad = await run([...STD, script(';@fake exit soon')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.toString()).toContain('use: exit <code> [after <ms>]');
  });

  it('require-switches: missing /force or /ErrorStdOut=UTF-8 is a load failure naming them', async () => {
    const file = script(';@fake require-switches', ';@fake print ok');
    const none = await run([file]);
    expect(none.code).toBe(2);
    expect(none.stderr.toString()).toContain('fake: missing switch(es) /force /ErrorStdOut=UTF-8 (got: none)');
    const noForce = await run(['/ErrorStdOut=UTF-8', file]);
    expect(noForce.stderr.toString()).toContain('missing switch(es) /force (got: /ErrorStdOut=UTF-8)');
    const ansiErrors = await run(['/force', '/ErrorStdOut', file]);
    expect(ansiErrors.stderr.toString()).toContain('missing switch(es) /ErrorStdOut=UTF-8 (got: /force /ErrorStdOut)');
    const ok = await run([...STD, file]);
    expect(ok).toMatchObject({ code: 0, stdout: Buffer.from('ok\n') });
    // Switches are case-insensitive, and /f is /force, as in AutoHotkey.
    expect((await run(['/F', '/errorstdout=utf-8', file])).code).toBe(0);
  });

  it('#Requires: the default fake is v2 and refuses a v1 script; the v1 fake refuses v2', async () => {
    const v1 = fixture('v1.ahk');
    const res = await run([...STD, v1]);
    expect(res.code).toBe(2);
    expect(res.stderr.toString()).toContain(`${v1} (2) : ==> This script requires AutoHotkey v1.1.33+, but you have v2.0.18.`);
    const v2 = await run([...STD, fixture('echo.ahk')], { interpreter: FAKE_V1 });
    expect(v2.code).toBe(2);
    expect(v2.stderr.toString()).toContain('requires AutoHotkey v2.0, but you have v1.1.37.02');
  });
});

describe('plain scripts (no Bridge.ahk)', () => {
  it('ansi.ahk prints cp1252 bytes, not UTF-8', async () => {
    const res = await run([...STD, fixture('ansi.ahk')]);
    expect(res.code).toBe(0);
    const expected = Buffer.concat([
      Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a]), // Café Müller
      Buffer.from('Preis: 5 '), Buffer.from([0x80, 0x20, 0x96, 0x20, 0x84]), Buffer.from('gepr'), Buffer.from([0xfc]), Buffer.from('ft'), Buffer.from([0x93, 0x0a]),
      Buffer.from('@pub saw.status {"operator":"Zo'), Buffer.from([0xeb]), Buffer.from('"}\n'),
    ]);
    expect(res.stdout).toEqual(expected);
    expect(iconv.decode(res.stdout, 'win1252')).toBe('Café Müller\nPreis: 5 € – „geprüft“\n@pub saw.status {"operator":"Zoë"}\n');
  });

  it('encoding switches the code page for what follows; unmappable characters become ?', async () => {
    const res = await run([...STD, script(';@fake print Zoë 😀', ';@fake encoding utf-8', ';@fake print Zoë 😀')]);
    expect(res.stdout).toEqual(Buffer.concat([Buffer.from('Zo\xeb ?\n', 'latin1'), Buffer.from('Zoë 😀\n', 'utf8')]));
  });

  it('print, stderr, no-newline; ends with exit 0 when nothing keeps it alive', async () => {
    const res = await run([...STD, script(';@fake print one', ';@fake stderr warn', ';@fake no-newline partial')]);
    expect(res.code).toBe(0);
    expect(res.stdout.toString()).toBe('one\npartial');
    expect(res.stderr.toString()).toBe('warn\n');
  });

  it('args: A_Args and switches as given', async () => {
    const file = script(';@fake args');
    const res = await run([...STD, file, 'one', 'two words', '/notASwitch']);
    const pub = parseScriptLine(lines(res.stdout)[0]!, 'scripts.k');
    expect(pub).toEqual({
      kind: 'publish',
      topic: 'scripts.k.args',
      payload: { args: ['one', 'two words', '/notASwitch'], switches: STD, script: file, version: '2.0.18' },
    });
  });

  it('crash.ahk exits 3 at once', async () => {
    const res = await run([...STD, fixture('crash.ahk')]);
    expect(res).toMatchObject({ code: 3, signal: null });
    expect(res.stdout.toString()).toBe('starting\n');
  });

  it('exit <code> after <ms>', async () => {
    const res = await run([...STD, script(';@fake print up', ';@fake exit 7 after 30', ';@fake print still running')]);
    expect(res.code).toBe(7);
    expect(res.stdout.toString()).toBe('up\nstill running\n');
  });

  it('garbage.ahk: invalid UTF-8, NUL and a lone CR on both streams, then carries on', async () => {
    const res = await run([...STD, fixture('garbage.ahk')]);
    expect(res.code).toBe(0);
    for (const b of [res.stdout, res.stderr]) {
      expect(b.includes(Buffer.from([0xc3, 0x28, 0xff, 0xfe]))).toBe(true);
      expect(b.includes(0x00)).toBe(true);
      const cr = b.indexOf(0x0d);
      expect(cr).toBeGreaterThan(0);
      expect(b[cr + 1]).not.toBe(0x0a);
      expect(b.toString('utf8')).toContain('\ufffd');
    }
    expect(res.stdout.subarray(-12).toString()).toBe('still alive\n');
  });

  it('flood.ahk: 10000 numbered lines, in order, none lost', async () => {
    const res = await run([...STD, fixture('flood.ahk')]);
    expect(res.code).toBe(0);
    const got = lines(res.stdout);
    expect(got).toHaveLength(10_000);
    got.forEach((l, i) => {
      if (l !== `@pub flood {"n":${i + 1}}`) expect(l, `line ${i + 1}`).toBe(`@pub flood {"n":${i + 1}}`);
    });
  });

  it('the v1 fake ends lines with CRLF, like v1 FileAppend', async () => {
    const res = await run([...STD, fixture('v1.ahk')], { interpreter: FAKE_V1 });
    expect(res.code).toBe(0);
    expect(res.stdout.toString()).toBe('v1 says hello\r\n');
  });

  it('a persistent script ignores stdin and dies by SIGTERM (not masked)', async () => {
    const r = start([...STD, script(';@fake persistent', ';@fake print started')]);
    await r.wait('stdout', (t) => t === 'started\n');
    r.child.stdin.end(EXIT_COMMAND);
    r.child.kill('SIGTERM');
    const res = await r.done;
    expect(res).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(res.stdout.toString()).toBe('started\n');
  });
});

describe('Bridge.ahk emulation', () => {
  it('echo.ahk: @ready first, then command round trips in UTF-8', async () => {
    const r = start([...STD, fixture('echo.ahk')]);
    await r.wait('stdout', (t) => t.includes('\n'));
    expect(r.stdout().toString()).toBe('@ready\n');
    r.child.stdin.write(encodeCommand('hello', { who: 'Zoë' }, 'r17'));
    r.child.stdin.write(encodeCommand('note', [1, 2]));
    r.child.stdin.write(encodeCommand('add', { a: 1, b: 2 }, 'r18'));
    r.child.stdin.write(encodeCommand('fail', null, 'r19'));
    await r.wait('stdout', (t) => t.includes('@error r19'));
    const parsed = lines(r.stdout()).map((l) => parseScriptLine(l, 'scripts.echo'));
    expect(parsed).toEqual([
      { kind: 'ready' },
      { kind: 'publish', topic: 'scripts.echo.received', payload: { name: 'hello', id: 'r17', payload: { who: 'Zoë' } } },
      { kind: 'reply', id: 'r17', result: { echo: { who: 'Zoë' }, name: 'hello' } },
      { kind: 'publish', topic: 'scripts.echo.received', payload: { name: 'note', id: null, payload: [1, 2] } },
      { kind: 'publish', topic: 'scripts.echo.received', payload: { name: 'add', id: 'r18', payload: { a: 1, b: 2 } } },
      { kind: 'reply', id: 'r18', result: { sum: 3 } },
      { kind: 'publish', topic: 'scripts.echo.received', payload: { name: 'fail', id: 'r19', payload: null } },
      { kind: 'reply-error', id: 'r19', message: 'something went wrong' },
    ]);
    // Bridge.ahk writes UTF-8: ë is C3 AB on the wire.
    expect(r.stdout().includes(Buffer.from([0x5a, 0x6f, 0xc3, 0xab]))).toBe(true);
    r.child.stdin.write(EXIT_COMMAND);
    const res = await r.done;
    expect(res.code).toBe(0);
    // Bridge.ahk's OnExit: ExitApp's reason is "Exit".
    expect(lines(res.stdout).at(-1)).toBe('@pub exiting {"code":0,"reason":"Exit"}');
  });

  it('on <name> ignore never answers; later commands still do', async () => {
    const r = start([...STD, fixture('echo.ahk')]);
    r.child.stdin.write(encodeCommand('slow', {}, 'r1') + encodeCommand('ping', {}, 'r2'));
    await r.wait('stdout', (t) => t.includes('@reply r2'));
    expect(r.stdout().toString()).not.toContain('@reply r1');
    expect(r.stdout().toString()).toContain('"name":"slow","id":"r1"');
  });

  it('malformed stdin lines are reported as protocol.error, CRLF is accepted', async () => {
    const r = start([...STD, fixture('echo.ahk')]);
    r.child.stdin.write('not a command\nbad - {nope\nx\r\nok - 1\r\n');
    await r.wait('stdout', (t) => t.includes('"name":"ok"'));
    expect(lines(r.stdout()).slice(1)).toEqual([
      '@pub protocol.error {"line":"not a command"}',
      '@pub protocol.error {"line":"bad - {nope"}',
      '@pub protocol.error {"line":"x"}',
      '@pub received {"name":"ok","id":null,"payload":1}',
    ]);
  });

  it('stdin EOF (the bridge went away) ends the script with exit 0', async () => {
    const r = start([...STD, fixture('echo.ahk')]);
    await r.wait('stdout', (t) => t.startsWith('@ready\n'));
    r.child.stdin.end();
    const res = await r.done;
    expect(res).toMatchObject({ code: 0, signal: null });
    expect(res.stdout.toString()).toBe('@ready\n@pub exiting {"code":0,"reason":"Exit"}\n');
  });

  it('runtime-error.ahk: @runtime-error JSON on stderr, then AutoHotkey\'s lying exit 0', async () => {
    const file = fixture('runtime-error.ahk');
    const res = await run([...STD, file]);
    expect(res.code).toBe(0);
    const err = res.stderr.toString('utf8').trimEnd();
    expect(err.startsWith(RUNTIME_ERROR_PREFIX)).toBe(true);
    // The shape Bridge.ahk writes, keys in BridgeJson's order.
    expect(err.slice(RUNTIME_ERROR_PREFIX.length)).toBe(
      JSON.stringify({ extra: '', file, line: 5, message: 'This value of type "String" has no method named "Foo".', mode: 'ExitApp', what: '' }),
    );
    expect(res.stdout.toString()).toBe('@ready\n@pub exiting {"code":0,"reason":"Error"}\n');
  });

  it('thread-error.ahk: reports the error and keeps running', async () => {
    const r = start([...STD, fixture('thread-error.ahk')]);
    await r.wait('stdout', (t) => t.includes('@pub still.running\n'));
    const errText = await r.wait('stderr', (t) => t.endsWith('\n'));
    expect(errText.startsWith(RUNTIME_ERROR_PREFIX)).toBe(true);
    const err = JSON.parse(errText.slice(RUNTIME_ERROR_PREFIX.length)) as Record<string, unknown>;
    expect(err).toMatchObject({ message: 'Expected a Number but got a String.', mode: 'Exit', line: 5 });
    expect(r.child.exitCode).toBeNull();
    r.child.stdin.write(encodeCommand('ping', 1, 'p1'));
    await r.wait('stdout', (t) => t.includes('@reply p1 {"echo":1,"name":"ping"}'));
    r.child.stdin.end();
    expect(await r.done).toMatchObject({ code: 0 });
  });

  it('on <name> crash <code> exits at once on that command', async () => {
    const r = start([...STD, script(';@fake bridge', ';@fake on boom crash 9')]);
    r.child.stdin.write(encodeCommand('boom', null));
    const res = await r.done;
    expect(res.code).toBe(9);
    expect(lines(res.stdout)).toEqual(['@ready', '@pub received {"name":"boom","id":null,"payload":null}']);
  });

  it('every: ticker.ahk publishes periodically until stdin closes', async () => {
    const r = start([...STD, fixture('ticker.ahk')]);
    await r.wait('stdout', (t) => t.split('@pub tick').length > 3);
    r.child.stdin.end();
    const res = await r.done;
    expect(res.code).toBe(0);
    const ticks = lines(res.stdout).filter((l) => l.startsWith('@pub tick'));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ticks)).toEqual(new Set(['@pub tick {"alive":true}']));
  });

  it.runIf(POSIX_SIGNALS)('ignore-sigterm.ahk survives SIGTERM/SIGINT/SIGHUP, but the exit command still works', async () => {
    const r = start([...STD, fixture('ignore-sigterm.ahk')]);
    await r.wait('stdout', (t) => t.startsWith('@ready\n'));
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      r.child.kill(sig);
      await r.wait('stdout', (t) => t.includes(`@pub signal.ignored {"signal":"${sig}"}`));
    }
    expect(r.child.exitCode).toBeNull();
    r.child.stdin.write(EXIT_COMMAND);
    expect(await r.done).toMatchObject({ code: 0, signal: null });
  });

  it('hang.ahk ignores the exit command and EOF; only a kill stops it', async () => {
    const r = start([...STD, fixture('hang.ahk')]);
    await r.wait('stdout', (t) => t.startsWith('@ready\n'));
    r.child.stdin.write(EXIT_COMMAND);
    await r.wait('stderr', (t) => t.includes('fake: hang: ignored'));
    r.child.stdin.end();
    await r.wait('stderr', (t) => t.includes('fake: hang: ignored stdin EOF'));
    expect(r.child.exitCode).toBeNull();
    r.child.kill('SIGKILL');
    const res = await r.done;
    expect(res).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(res.stdout.toString()).toBe('@ready\n');
  });
});

describe.runIf(POSIX_SIGNALS)('grandchild (process groups, POSIX)', () => {
  async function startWithGrandchild(): Promise<{ r: Run; pid: number }> {
    const r = start([...STD, fixture('grandchild.ahk')], { detached: true });
    const text = await r.wait('stdout', (t) => /@pub grandchild \{"pid":\d+\}\n/.test(t));
    const pid = Number(/"pid":(\d+)/.exec(text)![1]);
    return { r, pid };
  }

  it('the grandchild lives in the fake\'s process group and dies with it', async () => {
    const { r, pid } = await startWithGrandchild();
    expect(isGone(pid)).toBe(false);
    const pgid = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
    expect(pgid).toBe(r.child.pid);
    process.kill(-r.child.pid!, 'SIGTERM');
    expect(await r.done).toMatchObject({ code: null, signal: 'SIGTERM' });
    await assertGone(pid);
  });

  it('like a Run child, the grandchild outlives a graceful exit of the script', async () => {
    const { r, pid } = await startWithGrandchild();
    r.child.stdin.write(EXIT_COMMAND);
    expect(await r.done).toMatchObject({ code: 0 });
    expect(isGone(pid)).toBe(false);
    // The group outlives its leader while a member is left, so a tree kill still reaches it.
    process.kill(-r.child.pid!, 'SIGKILL');
    await assertGone(pid);
  });
});
