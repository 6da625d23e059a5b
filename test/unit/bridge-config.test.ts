import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigNotFoundError, loadBridgeConfig, parseRestart, scriptFileProblem } from '../../bridge/bridge-config.js';
import { exitCodeFor } from '../../bridge/commands/run.js';
import { parseTopicMap } from '../../bridge/commands/tail.js';
import { upCommand } from '../../bridge/commands/up.js';
import { formatLastExit, formatSummary, useColour } from '../../bridge/summary-table.js';
import { DEFAULT_RESTART } from '../../bridge/supervisor/restart-policy.js';
import type { ScriptStatus } from '../../bridge/supervisor/script-supervisor.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs();

function configFile(obj: unknown): string {
  const dir = tempDir('bridge-config-');
  const file = path.join(dir, 'bridge.config.json');
  writeFileSync(file, typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  return file;
}

describe('bridge.config.json', () => {
  it('resolves paths relative to the file and fills defaults', () => {
    const file = configFile({ interpreter: 'ahk/AutoHotkey64.exe', script_folders: ['scripts'], scripts: [{ path: 'scripts/cad.ahk' }] });
    const dir = path.dirname(file);
    const c = loadBridgeConfig(file);
    expect(c.interpreter).toBe(path.join(dir, 'ahk/AutoHotkey64.exe'));
    expect(c.scriptFolders).toEqual([path.join(dir, 'scripts')]);
    expect(c.scripts).toEqual([
      { key: 'cad', path: path.join(dir, 'scripts/cad.ahk'), args: [], restart: { ...DEFAULT_RESTART }, encoding: 'utf-8', interpreter: undefined, stopGrace: 3 },
    ]);
    expect(c.queues).toEqual([]);
  });

  it('applies top-level restart defaults under each script, which may override the mode', () => {
    const c = loadBridgeConfig(
      configFile({ restart: { mode: 'always', initial_delay: 0.5, max_restarts: 9 }, scripts: [{ path: 'a.ahk' }, { path: 'b.ahk', restart: 'never' }] }),
    );
    expect(c.scripts[0]!.restart).toMatchObject({ mode: 'always', initialDelayMs: 500, maxRestarts: 9 });
    expect(c.scripts[1]!.restart).toMatchObject({ mode: 'never', initialDelayMs: 500, maxRestarts: 9 });
  });

  it('parses queues in both forms', () => {
    const file = configFile({
      queues: ['q1.txt', { file: 'q2.txt', encoding: 'cp1251', prefix: 'legacy.', topic_map: { JOB_ACTIVATED: 'jobs.activated' }, flush_timeout: 1.5, qos: 0 }],
    });
    const dir = path.dirname(file);
    expect(loadBridgeConfig(file).queues).toEqual([
      { file: path.join(dir, 'q1.txt'), qos: 1 },
      {
        file: path.join(dir, 'q2.txt'),
        encoding: 'cp1251',
        prefix: 'legacy.',
        topicMap: { JOB_ACTIVATED: 'jobs.activated' },
        positionFile: undefined,
        deadLetterFile: undefined,
        flushTimeoutMs: 1500,
        qos: 0,
      },
    ]);
  });

  it.each([
    [{ scripts: [{ path: 'a.ahk', key: 'has.dot' }] }, /key "has.dot"/],
    [{ scripts: [{ key: 'x' }] }, /path is required/],
    [{ scripts: [{ path: 'a.ahk', encoding: 'klingon' }] }, /unknown encoding/],
    [{ scripts: [{ path: 'a.ahk', args: [1] }] }, /args must be an array of strings/],
    [{ scripts: [{ path: 'a.ahk', restart: 'sometimes' }] }, /restart must be one of never, on-failure, always/],
    [{ scripts: [{ path: 'a.ahk', stop_grace: 0 }] }, /stop_grace/],
    [{ scripts: [{ path: 'a.ahk', ready_timeout: -1 }] }, /ready_timeout must be a positive number of seconds/],
    [{ scripts: [{ path: 'a.ahk', ready_timeout: '10' }] }, /ready_timeout/],
    [{ queues: [{ file: 'q', topic_map: { A: 1 } }] }, /topic_map/],
    [{ queues: [{ file: 'q', qos: 2 }] }, /qos must be 0 or 1/],
    [{ queues: [{}] }, /file is required/],
    [{ broker: { port: 'x' } }, /port must be a number/],
    [{ scirpts: [] }, /unknown key "scirpts"/],
    ['{not json', /not valid JSON/],
    [{ scripts: [{ path: 'a.ahk', stopgrace: 5 }] }, /scripts\[0\]: unknown key "stopgrace" \(known: key, path, args, restart, encoding, interpreter, stop_grace, ready_timeout\)/],
    [{ queues: [{ file: 'q', topicmap: {} }] }, /queues\[0\]: unknown key "topicmap"/],
    [{ scripts: [{ path: 'a.ahk', stop_grace: '5' }] }, /scripts\[0\]: stop_grace must be a positive number of seconds/],
    [{ scripts: {} }, /scripts must be an array/],
    [{ restart: { mode: 'on-failure', max_restart: 1 }, scripts: [{ path: 'a.ahk' }] }, /restart: unknown key "max_restart" \(known: mode, initial_delay, max_delay, max_restarts, window, stable_after\)/],
    [{ scripts: [{ path: 'a.ahk', restart: { intial_delay: 0.1 } }] }, /scripts\[0\]: restart: unknown key "intial_delay"/],
    // max_restarts counts restarts within the window: 0 s counts none, and 581 starts in 3 s followed.
    [{ restart: { mode: 'always', initial_delay: 0, max_restarts: 5, window: 0 } }, /: restart: restart\.window must be at least 1 second: max_restarts counts the restarts within it/],
    [{ scripts: [{ path: 'a.ahk', restart: { window: 0.01 } }] }, /scripts\[0\]: restart\.window must be at least 1 second/],
    [[1, 2], /expected a JSON object/],
    // Timers past 2^31 - 1 ms fire after 1 ms: a stop grace of 35 days killed at once.
    [{ scripts: [{ path: 'a.ahk', stop_grace: 3e6 }] }, /scripts\[0\]: stop_grace must be a positive number of seconds, at most 2147483 \(about 24 days\)/],
    [{ scripts: [{ path: 'a.ahk', ready_timeout: 2_147_484 }] }, /scripts\[0\]: ready_timeout must be a positive number of seconds, at most 2147483/],
    [{ queues: [{ file: 'q', flush_timeout: 1e7 }] }, /queues\[0\]: flush_timeout must be a positive number of seconds, at most 2147483/],
    [{ restart: { max_delay: 1e7 } }, /: restart\.max_delay must be zero or a positive number of seconds, at most 2147483/],
    [{ scripts: [{ path: 'a.ahk', restart: { stable_after: -1 } }] }, /scripts\[0\]: restart\.stable_after must be zero or a positive number of seconds/],
    // `bridge broker --config` takes its options at the top level; a bridge config under "broker".
    [{ port: 16000, scripts: [] }, /: "port" is a broker option: put it under "broker", e\.g\. \{"broker": \{"port": \.\.\.\}, "scripts": \[\.\.\.\]\}$/],
    [{ port: 16000, log_level: 'debug', scirpts: [] }, /: "port", "log_level" are broker options: put them under "broker"/],
  ])('rejects %j with a message naming the problem', (obj, message) => {
    expect(() => loadBridgeConfig(configFile(obj))).toThrow(message);
  });

  it('refuses a name given twice in one object (JSON.parse would keep the last without a word), saying where', () => {
    const twice = configFile('{"scripts": [{"path": "a.ahk"}],\n "scripts": []}');
    expect(() => loadBridgeConfig(twice)).toThrow(`${twice}:2:2: the name "scripts" is given twice in one object: keep one\n   "scripts": []}\n   ^`);
    const entry = configFile('{"scripts": [{"key": "a", "path": "a.ahk", "k\\u0065y": "b"}]}');
    expect(() => loadBridgeConfig(entry)).toThrow(/:1:44: the name "key" is given twice in one object/);
    // The same name in different objects, and strings that look like names, are fine.
    const fine = configFile('{"scripts": [{"key": "a", "path": "a.ahk", "args": ["key", "{", "\\""]}, {"key": "b", "path": "b.ahk"}]}');
    expect(loadBridgeConfig(fine).scripts.map((e) => e.key)).toEqual(['a', 'b']);
  });

  it('reads a file saved as UTF-8 with or without a BOM, or as UTF-16 with its BOM (Notepad\'s "Unicode"), alike', () => {
    const text = JSON.stringify({ scripts: [{ key: 'größe', path: 'Größe.ahk' }] }).replace('größe', 'groesse');
    const variants = [
      Buffer.from(text, 'utf8'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]),
    ];
    for (const bytes of variants) {
      const c = loadBridgeConfig(configFile(bytes));
      expect(c.scripts.map((e) => [e.key, path.basename(e.path)])).toEqual([['groesse', 'Größe.ahk']]);
    }
  });

  it('says where invalid JSON breaks, as file:line:column', () => {
    const file = configFile('{\n  "scripts": [\n    { "path": "a.ahk" }\n    { "path": "b.ahk" }\n  ]\n}\n');
    expect(() => loadBridgeConfig(file)).toThrow(`${file}:4:5: not valid JSON: expected "," or "]", found "{"\n      { "path": "b.ahk" }\n      ^`);
  });

  it('a missing file is a ConfigNotFoundError naming the absolute path', () => {
    const missing = path.join(tempDir('bridge-config-'), 'none.json');
    expect(() => loadBridgeConfig(missing)).toThrow(ConfigNotFoundError);
    expect(() => loadBridgeConfig(missing)).toThrow(`config file not found: ${missing}`);
  });

  it.runIf(process.platform !== 'win32')('keeps a Windows absolute path as written on other hosts', () => {
    const c = loadBridgeConfig(configFile({ interpreter: 'C:/Program Files/AutoHotkey/v2/AutoHotkey64.exe', queues: ['C:\\temp\\q.txt'] }));
    expect(c.interpreter).toBe('C:/Program Files/AutoHotkey/v2/AutoHotkey64.exe');
    expect(c.queues[0]!.file).toBe('C:\\temp\\q.txt');
  });

  it('takes top-level keys starting with _ as comments', () => {
    const c = loadBridgeConfig(configFile({ _comment: 'no AutoHotkey found: set "interpreter"', _note: 1, scripts: [{ path: 'a.ahk' }] }));
    expect(c.scripts.map((s) => s.key)).toEqual(['a']);
    expect(() => loadBridgeConfig(configFile({ comment: 'x' }))).toThrow(/unknown key "comment"/);
  });

  it('takes a per-script ready_timeout, and leaves it unset (the default) when absent', () => {
    const config = loadBridgeConfig(configFile({ scripts: [{ path: 'a.ahk', ready_timeout: 2.5 }, { path: 'b.ahk' }] }));
    expect(config.scripts.map((s) => s.readyTimeout)).toEqual([2.5, undefined]);
  });

  it('parseRestart takes a mode name or an object over a base', () => {
    expect(parseRestart('never', 'x')).toEqual({ ...DEFAULT_RESTART, mode: 'never' });
    expect(parseRestart({ window: 10, stable_after: 2 }, 'x')).toMatchObject({ mode: 'on-failure', windowMs: 10_000, stableAfterMs: 2000 });
    expect(() => parseRestart({ max_delay: -1 }, 'x')).toThrow('x: restart.max_delay must be zero or a positive number of seconds');
    expect(parseRestart({ window: 1 }, 'x')).toMatchObject({ windowMs: 1000 });
  });
});

describe('the example configs in the docs', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));

  it("README.md's bridge.config.json example loads", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('`bridge.config.json` for `bridge up`');
    expect(at).toBeGreaterThan(0);
    const block = /```json\n([\s\S]*?)```/.exec(readme.slice(at));
    expect(block, 'a json block after the heading').not.toBeNull();
    const c = loadBridgeConfig(configFile(block![1]!));
    expect(c.scripts.map((s) => s.key)).toEqual(['cad', 'saw1']);
    expect(c.scripts[1]).toMatchObject({ args: ['--saw', '1'], encoding: 'cp1252', restart: { mode: 'always' }, stopGrace: 5 });
  });

  it("`bridge up --help`'s example loads", () => {
    let help = '';
    const cmd = upCommand().configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    const at = help.indexOf('bridge.config.json:\n');
    expect(at).toBeGreaterThan(0);
    const c = loadBridgeConfig(configFile(help.slice(at + 'bridge.config.json:\n'.length)));
    expect(c.scripts.map((s) => s.key)).toEqual(['cad', 'saw1']);
    expect(c.queues[0]!.topicMap).toEqual({ JOB_ACTIVATED: 'jobs.activated' });
  });

  it('the bridge.config.json of the checkout loads and names scripts/cad_hotkeys.ahk as cad', () => {
    const c = loadBridgeConfig(path.join(ROOT, 'bridge.config.json'));
    expect(c.scripts.map((s) => [s.key, s.path])).toEqual([['cad', path.join(ROOT, 'scripts', 'cad_hotkeys.ahk')]]);
    expect(scriptFileProblem(c.scripts[0]!.path)).toBeUndefined();
  });
});


describe('script paths', () => {
  it('a missing file, a folder and a file', () => {
    const dir = tempDir('bridge-script-');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'a.ahk'), '');
    expect(scriptFileProblem(path.join(dir, 'none.ahk'))).toBe(`script not found: ${path.join(dir, 'none.ahk')}`);
    expect(scriptFileProblem(path.join(dir, 'a.ahk', 'x.ahk'))).toBe(`script not found: ${path.join(dir, 'a.ahk', 'x.ahk')}`);
    expect(scriptFileProblem(path.join(dir, 'sub'))).toBe(`${path.join(dir, 'sub')} is a directory; give the .ahk file`);
    expect(scriptFileProblem(path.join(dir, 'a.ahk'))).toBeUndefined();
  });
});

describe('bridge run exit code', () => {
  it("is the script's code, or 1 when it had none because it crashed or never started", () => {
    expect(exitCodeFor({ exit_code: 3, reason: 'crash' })).toBe(3);
    expect(exitCodeFor({ exit_code: 0, reason: 'stopped' })).toBe(0);
    expect(exitCodeFor({ exit_code: null, reason: 'crash' })).toBe(1);
    expect(exitCodeFor({ exit_code: null, reason: 'load_failure' })).toBe(1);
    expect(exitCodeFor({ exit_code: null, reason: 'start_failure' })).toBe(1);
    expect(exitCodeFor({ exit_code: null, reason: 'stopped' })).toBe(0);
  });
});

describe('bridge tail --map', () => {
  it('combines LEGACY=topic pairs over a map file', () => {
    const file = configFile({ A: 'a.from.file', B: 'b.from.file' });
    expect(parseTopicMap(['B=b.flag', 'C=c.flag'], file)).toEqual({ A: 'a.from.file', B: 'b.flag', C: 'c.flag' });
    expect(() => parseTopicMap(['novalue='], undefined)).toThrow(/LEGACY_NAME=topic/);
    expect(() => parseTopicMap(['=x'], undefined)).toThrow(/LEGACY_NAME=topic/);
  });
});

describe('summary table', () => {
  const status = (key: string, state: ScriptStatus['state'], pid: number | null): ScriptStatus => ({
    key,
    script: `/s/${key}.ahk`,
    args: [],
    running: pid !== null,
    pid,
    started_at: null,
    restarts: 0,
    last_exit: null,
    state,
  });
  it('aligns columns, shows restarts and the last exit, and colours states only when asked', () => {
    const lastExit = { exit_code: 2, signal: null, reason: 'load_failure' as const, duration_ms: 150, timestamp: '' };
    const rows = [
      { status: status('cad', 'running', 42), restart: 'on-failure' },
      { status: { ...status('saw1', 'failed', null), restarts: 3, last_exit: lastExit }, restart: 'always' },
    ];
    const plain = formatSummary(rows, false);
    expect(plain.split('\n')).toEqual([
      'KEY   STATE    PID  RESTARTS  LAST EXIT         POLICY      SCRIPT',
      'cad   running  42   0         -                 on-failure  /s/cad.ahk',
      'saw1  failed   -    3         load_failure (2)  always      /s/saw1.ahk',
    ]);
    expect(plain).not.toContain('\u001b[');
    const coloured = formatSummary(rows, true);
    expect(coloured).toContain('\u001b[32mrunning\u001b[0m');
    expect(coloured).toContain('\u001b[31mfailed \u001b[0m');
  });

  it('the last exit: reason with the code, else the signal, else the reason alone', () => {
    const exit = { duration_ms: 0, timestamp: '' };
    expect(formatLastExit(null)).toBe('-');
    expect(formatLastExit({ ...exit, exit_code: 3, signal: null, reason: 'crash' })).toBe('crash (3)');
    expect(formatLastExit({ ...exit, exit_code: null, signal: 'SIGKILL', reason: 'stopped' })).toBe('stopped (SIGKILL)');
    expect(formatLastExit({ ...exit, exit_code: null, signal: null, reason: 'start_failure' })).toBe('start_failure');
  });

  it('uses colour only on a TTY without NO_COLOR or TERM=dumb', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    expect(useColour(tty, {})).toBe(true);
    expect(useColour(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColour(tty, { TERM: 'dumb' })).toBe(false);
    expect(useColour({ isTTY: false } as NodeJS.WriteStream, {})).toBe(false);
  });
});
