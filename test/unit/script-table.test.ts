import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatEntry } from '../../bridge/commands/logs.js';
import { resultLine } from '../../bridge/script-ops.js';
import { scriptKeys } from '../../bridge/commands/init.js';
import { formatScriptTable, formatUptime, lastExitText, shortPath, type ScriptRow } from '../../bridge/script-table.js';
import { formatSummary, useColour } from '../../bridge/summary-table.js';
import type { ScriptStatus } from '../../bridge/supervisor/script-supervisor.js';

const NOW = Date.parse('2026-01-02T12:00:00.000Z');
const cwd = path.resolve('/shop');

function status(over: Partial<ScriptStatus>): ScriptStatus {
  return { key: 'k', script: path.join(cwd, 'scripts', 'k.ahk'), args: [], running: false, pid: null, started_at: null, restarts: 0, last_exit: null, state: 'idle', ...over };
}

describe('uptime', () => {
  it.each([
    [0, '0s'],
    [45_999, '45s'],
    [60_000, '1m'],
    [12 * 60_000 + 30_000, '12m'],
    [3 * 3_600_000 + 5 * 60_000 + 59_000, '3h 5m'],
    [2 * 86_400_000 + 4 * 3_600_000 + 59 * 60_000, '2d 4h'],
    [-5000, '0s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatUptime(ms)).toBe(text);
  });
});

describe('the ps table', () => {
  const rows: ScriptRow[] = [
    { bridge: 'bridge.saw', status: status({ key: 'saw', script: path.resolve('/elsewhere/saw.ahk'), state: 'failed', restarts: 5, last_exit: { exit_code: 1, signal: null, reason: 'crash', duration_ms: 5, timestamp: '' } }) },
    { bridge: 'bridge', status: status({ key: 'cad', running: true, pid: 4242, state: 'running', started_at: new Date(NOW - 125_000).toISOString() }) },
  ];

  it('has one aligned row per script, sorted by key, with uptime, last exit, a short path and the bridge', () => {
    const lines = formatScriptTable(rows, { colour: false, now: NOW, cwd }).split('\n');
    const [near, far] = [path.join('scripts', 'k.ahk'), path.resolve('/elsewhere/saw.ahk')];
    const w = Math.max(near.length, far.length);
    expect(lines).toEqual([
      `KEY  STATE    PID   UPTIME  RESTARTS  LAST EXIT  ${'SCRIPT'.padEnd(w)}  BRIDGE`,
      `cad  running  4242  2m      0         -          ${near.padEnd(w)}  bridge`,
      `saw  failed   -     -       5         crash (1)  ${far.padEnd(w)}  bridge.saw`,
    ]);
    expect(lines.join('\n')).not.toContain('\u001b[');
  });

  it('colours the state only when asked, and NO_COLOR or a pipe turn colour off', () => {
    const coloured = formatScriptTable(rows, { colour: true, now: NOW, cwd });
    expect(coloured).toContain('\u001b[32mrunning\u001b[0m');
    expect(coloured).toContain('\u001b[31mfailed ');
    expect(coloured.split('\n')[0]).not.toContain('\u001b[');
    const tty = { isTTY: true } as NodeJS.WriteStream;
    expect(useColour(tty, {})).toBe(true);
    expect(useColour(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ isTTY: false } as NodeJS.WriteStream, {})).toBe(false);
  });

  it('shows control characters in a cell escaped (any client may answer as a bridge): one aligned line per row', () => {
    const odd: ScriptRow[] = [
      { bridge: 'new\nline\tand\u001b]0;pwned\u0007', status: status({ key: 'cad', running: true, pid: 1, state: 'running', started_at: new Date(NOW).toISOString() }) },
      { bridge: 'bridge', status: status({ key: 'saw' }) },
    ];
    const lines = formatScriptTable(odd, { colour: true, now: NOW, cwd }).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]!.endsWith('  new\\nline\\tand\\u001b]0;pwned\\u0007')).toBe(true);
    // Only the table's own colour codes reach the terminal.
    expect(lines.join('\n').replace(/\u001b\[\d+m/g, '')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const plain = formatScriptTable(odd, { colour: false, now: NOW, cwd }).split('\n');
    const at = plain[0]!.indexOf('BRIDGE');
    expect(plain.slice(1).map((l) => l.slice(at))).toEqual(['new\\nline\\tand\\u001b]0;pwned\\u0007', 'bridge']);
  });

  it('the up summary shows control characters in a cell escaped too', () => {
    const summary = formatSummary([{ status: status({ key: 'cad', script: '/s/new\nline.ahk' }), restart: 'never' }], false);
    expect(summary.split('\n')).toHaveLength(2);
    expect(summary).toContain('/s/new\\nline.ahk');
  });

  it('shortens a path only inside the working folder', () => {
    expect(shortPath(path.join(cwd, 'a', 'b.ahk'), cwd)).toBe(path.join('a', 'b.ahk'));
    expect(shortPath(path.resolve('/shopping/b.ahk'), cwd)).toBe(path.resolve('/shopping/b.ahk'));
    expect(lastExitText(null)).toBe('-');
  });
});

describe('logs lines', () => {
  it('marks stderr and lifecycle lines, and colours them only when asked', () => {
    const opts = { colour: false, timestamps: false };
    expect(formatEntry({ stream: 'stdout', text: 'hello', timestamp: 'T' }, opts)).toBe('hello');
    expect(formatEntry({ stream: 'stderr', text: 'oops', timestamp: 'T' }, opts)).toBe('[stderr] oops');
    expect(formatEntry({ stream: 'event', text: 'started (pid 1)', timestamp: 'T' }, opts)).toBe('-- started (pid 1)');
    expect(formatEntry({ stream: 'stderr', text: 'oops', timestamp: 'T' }, { colour: true, timestamps: true })).toBe('T \u001b[31m[stderr] oops\u001b[0m');
  });
});

describe('start|stop|restart results', () => {
  const running = status({ running: true, pid: 10, state: 'running' });
  const crashed = status({ state: 'stopped', last_exit: { exit_code: 0, signal: null, reason: 'stopped', duration_ms: 1, timestamp: '' } });
  it('say what changed', () => {
    expect(resultLine('stop', 'k', running, crashed)).toEqual({ text: 'stopped k (was pid 10, exit stopped (0))', ok: true });
    expect(resultLine('stop', 'k', crashed, crashed).text).toBe('stopped k (was not running, exit stopped (0))');
    expect(resultLine('start', 'k', crashed, { ...running, pid: 11 })).toEqual({ text: 'started k pid 11', ok: true });
    expect(resultLine('start', 'k', running, running).text).toBe('k is already running (pid 10)');
    expect(resultLine('restart', 'k', running, { ...running, pid: 11 }).text).toBe('restarted k pid 11 (was pid 10)');
    const failed = status({ state: 'failed', last_exit: { exit_code: 2, signal: null, reason: 'load_failure', duration_ms: 1, timestamp: '' } });
    expect(resultLine('start', 'k', crashed, failed)).toEqual({ text: 'k did not stay up: state failed, exit load_failure (2) (bridge logs k shows why)', ok: false });
  });
});

describe('init keys', () => {
  it('come from file names, fitted to the key rule, with repeats numbered', () => {
    // cad_hotkeys.ahk keeps its own name, though a file before it fits to the same key.
    expect(scriptKeys(['/a/cad hotkeys.ahk', '/b/cad_hotkeys.ahk', '/c/cad hotkeys.AHK', '/d/ü.ahk', `/e/${'x'.repeat(80)}.ahk`, `/f/${'x'.repeat(80)}.ahk`])).toEqual([
      'cad_hotkeys_2',
      'cad_hotkeys',
      'cad_hotkeys_3',
      '_',
      'x'.repeat(64),
      `${'x'.repeat(62)}_2`,
    ]);
  });

  it('never start with "-" (the CLI would take `bridge logs -dash` for a flag); the same name in two folders is numbered', () => {
    expect(scriptKeys(['/a/-dash.ahk', '/b/--.ahk', '/c/saw.ahk', '/d/saw.ahk', '/e/a-b.ahk'])).toEqual(['dash', 'script', 'saw', 'saw_2', 'a-b']);
  });
});
