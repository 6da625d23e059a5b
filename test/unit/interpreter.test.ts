import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  findInterpreter,
  interpreterCommand,
  InterpreterNotFoundError,
  majorFromPath,
  parseRegQuery,
  realProbe,
  requiredMajor,
  type DiscoveryProbe,
} from '../../bridge/supervisor/interpreter.js';

const FAKE = fileURLToPath(new URL('../../fixtures/fake-ahk/AutoHotkey.mjs', import.meta.url));

const WIN_ENV = {
  ProgramFiles: 'C:\\Program Files',
  'ProgramFiles(x86)': 'C:\\Program Files (x86)',
  LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local',
};

/** A stub Windows (or other) machine: a set of files and registry answers. */
function machine(opts: { files?: string[]; registry?: Record<string, string>; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {}): DiscoveryProbe & { regQueries: string[] } {
  const files = new Set((opts.files ?? []).map((f) => f.toLowerCase()));
  const regQueries: string[] = [];
  return {
    platform: opts.platform ?? 'win32',
    env: opts.env ?? WIN_ENV,
    // Windows paths are case-insensitive.
    exists: (p) => files.has(p.toLowerCase()),
    readRegistryValue: async (key, value) => {
      regQueries.push(`${key}|${value}`);
      return opts.registry?.[`${key}|${value}`];
    },
    regQueries,
  };
}

const V2 = '#Requires AutoHotkey v2.0\nMsgBox "hi"\n';
const V1 = '#Requires AutoHotkey v1.1.33+\nMsgBox, hi\n';
const NONE = 'MsgBox "hi"\n';
const SCRIPT = 'C:\\scripts\\saw.ahk';

describe('requiredMajor', () => {
  it.each([
    ['#Requires AutoHotkey v2.0', 2],
    ['#requires autohotkey V2.0-beta.3 64-bit', 2],
    ['   #Requires AutoHotkey v2', 2],
    ['#Requires AutoHotkey >=2.0', 2],
    ['#Requires AutoHotkey v1.1.33+', 1],
    ['#Requires AutoHotkey v1.1', 1],
    ['\t#REQUIRES AUTOHOTKEY v1.1.37.02', 1],
  ] as const)('%s -> v%d', (line, major) => {
    expect(requiredMajor(`; header\n${line}\nx := 1\n`)).toBe(major);
  });

  it('is undefined without a #Requires AutoHotkey line or with an unknown major', () => {
    expect(requiredMajor(NONE)).toBeUndefined();
    expect(requiredMajor('#Requires AutoHotkey v3.0\n')).toBeUndefined();
    expect(requiredMajor('')).toBeUndefined();
  });

  it('ignores commented-out lines and block comments', () => {
    expect(requiredMajor('; #Requires AutoHotkey v1.1\n#Requires AutoHotkey v2.0\n')).toBe(2);
    expect(requiredMajor('/*\n#Requires AutoHotkey v1.1\n*/\n#Requires AutoHotkey v2.0\n')).toBe(2);
    expect(requiredMajor('/* one-line */\n#Requires AutoHotkey v1.1\n')).toBe(1);
    expect(requiredMajor(';#Requires AutoHotkey v2.0\n')).toBeUndefined();
  });

  it('takes the first #Requires AutoHotkey line', () => {
    expect(requiredMajor('#Requires AutoHotkey v1.1\r\n#Requires AutoHotkey v2.0\r\n')).toBe(1);
  });
});

describe('parseRegQuery', () => {
  // What reg.exe prints: blank line, key, indented "name    TYPE    data", blank lines, CRLF.
  const out = (type: string, data: string, name = 'InstallDir'): string =>
    `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\AutoHotkey\r\n    ${name}    ${type}    ${data}\r\n\r\n`;

  it('reads REG_SZ data verbatim, spaces included', () => {
    expect(parseRegQuery(out('REG_SZ', 'C:\\Program Files\\AutoHotkey'), 'InstallDir')).toBe('C:\\Program Files\\AutoHotkey');
  });

  it('expands %VARS% in REG_EXPAND_SZ from the given environment (names case-insensitive)', () => {
    const env = { PROGRAMFILES: 'D:\\Apps', LocalAppData: 'C:\\Users\\ann\\AppData\\Local' };
    expect(parseRegQuery(out('REG_EXPAND_SZ', '%ProgramFiles%\\AutoHotkey'), 'InstallDir', env)).toBe('D:\\Apps\\AutoHotkey');
    expect(parseRegQuery(out('REG_EXPAND_SZ', '%LOCALAPPDATA%\\Programs\\AutoHotkey'), 'InstallDir', env)).toBe('C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey');
    // Unknown variables stay, as cmd.exe leaves them.
    expect(parseRegQuery(out('REG_EXPAND_SZ', '%NOPE%\\AHK'), 'InstallDir', env)).toBe('%NOPE%\\AHK');
  });

  it('does not expand REG_SZ data', () => {
    expect(parseRegQuery(out('REG_SZ', '%ProgramFiles%\\AutoHotkey'), 'InstallDir', { ProgramFiles: 'X' })).toBe('%ProgramFiles%\\AutoHotkey');
  });

  it('picks the named value among several and ignores other types', () => {
    const text = [
      '',
      'HKEY_CURRENT_USER\\SOFTWARE\\AutoHotkey',
      '    Version    REG_SZ    2.0.18',
      '    InstallCount    REG_DWORD    0x1',
      '    Install Dir    REG_SZ    C:\\wrong',
      '    InstallDir    REG_SZ    C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey',
      '',
    ].join('\r\n');
    expect(parseRegQuery(text, 'InstallDir')).toBe('C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey');
    expect(parseRegQuery(text, 'Version')).toBe('2.0.18');
    expect(parseRegQuery(text, 'InstallCount')).toBeUndefined();
  });

  it('is undefined for missing values, empty data and error output', () => {
    expect(parseRegQuery(out('REG_SZ', 'x', 'Other'), 'InstallDir')).toBeUndefined();
    expect(parseRegQuery(out('REG_SZ', ''), 'InstallDir')).toBeUndefined();
    expect(parseRegQuery('ERROR: The system was unable to find the specified registry key or value.\r\n', 'InstallDir')).toBeUndefined();
    expect(parseRegQuery('', 'InstallDir')).toBeUndefined();
  });
});

describe('majorFromPath', () => {
  it.each([
    ['C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey64.exe', 2],
    ['D:\\portable\\AutoHotkey32.exe', 2],
    ['C:\\Program Files\\AutoHotkey\\AutoHotkeyU64.exe', 1],
    ['C:\\Program Files\\AutoHotkey\\v1.1.37.02\\AutoHotkey.exe', 1],
    ['C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey.exe', 2],
    ['C:\\Program Files\\AutoHotkey\\AutoHotkey.exe', undefined],
    ['/work/fixtures/fake-ahk/AutoHotkey.mjs', undefined],
    ['/work/fixtures/fake-ahk/v1/AutoHotkeyU64.mjs', 1],
  ] as const)('%s -> %s', (p, major) => {
    expect(majorFromPath(p)).toBe(major);
  });
});

describe('findInterpreter: given paths', () => {
  const files = ['C:\\tools\\flag\\AutoHotkey64.exe', 'C:\\tools\\env\\AutoHotkeyU64.exe', 'C:\\tools\\config\\AutoHotkey.exe', 'C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey64.exe'];

  it('--ahk wins over AHK_PATH, config, registry and standard folders', async () => {
    const probe = machine({ files, env: { ...WIN_ENV, AHK_PATH: 'C:\\tools\\env\\AutoHotkeyU64.exe' }, registry: { 'HKLM\\SOFTWARE\\AutoHotkey|InstallDir': 'C:\\Program Files\\AutoHotkey' } });
    const c = await findInterpreter({ explicit: 'C:\\tools\\flag\\AutoHotkey64.exe', configured: 'C:\\tools\\config\\AutoHotkey.exe', scriptPath: SCRIPT, scriptText: V1 }, probe);
    expect(c).toEqual({ path: 'C:\\tools\\flag\\AutoHotkey64.exe', major: 2, source: 'flag', isFixture: false });
    // A given path is used as is: no registry lookups at all.
    expect(probe.regQueries).toEqual([]);
  });

  it("a script's own interpreter wins over --ahk, AHK_PATH and config", async () => {
    const probe = machine({ files, env: { ...WIN_ENV, AHK_PATH: 'C:\\tools\\env\\AutoHotkeyU64.exe' } });
    const c = await findInterpreter({ own: 'C:\\tools\\config\\AutoHotkey.exe', explicit: 'C:\\tools\\flag\\AutoHotkey64.exe', configured: 'C:\\tools\\env\\AutoHotkeyU64.exe', scriptPath: SCRIPT, scriptText: V2 }, probe);
    expect(c).toEqual({ path: 'C:\\tools\\config\\AutoHotkey.exe', major: undefined, source: 'config', isFixture: false });
  });

  it('AHK_PATH wins over config (env names case-insensitive, as on Windows)', async () => {
    const probe = machine({ files, env: { ...WIN_ENV, ahk_path: 'C:\\tools\\env\\AutoHotkeyU64.exe' } });
    const c = await findInterpreter({ configured: 'C:\\tools\\config\\AutoHotkey.exe', scriptPath: SCRIPT, scriptText: V2 }, probe);
    expect(c).toEqual({ path: 'C:\\tools\\env\\AutoHotkeyU64.exe', major: 1, source: 'env', isFixture: false });
  });

  it('config is used when neither flag nor env is set; an empty AHK_PATH counts as unset', async () => {
    const probe = machine({ files, env: { ...WIN_ENV, AHK_PATH: '' } });
    const c = await findInterpreter({ configured: 'C:\\tools\\config\\AutoHotkey.exe', scriptPath: SCRIPT, scriptText: V2 }, probe);
    expect(c).toEqual({ path: 'C:\\tools\\config\\AutoHotkey.exe', major: undefined, source: 'config', isFixture: false });
  });

  it.each([
    [{ explicit: 'C:\\missing\\AutoHotkey64.exe' }, {}, /--ahk not found: C:\\missing\\AutoHotkey64\.exe/],
    [{}, { AHK_PATH: 'C:\\missing\\env.exe' }, /AHK_PATH not found: C:\\missing\\env\.exe/],
    [{ configured: 'C:\\missing\\cfg.exe' }, {}, /"interpreter" in the config file not found: C:\\missing\\cfg\.exe/],
    [{ configured: 'C:\\missing\\cfg.exe', configFile: 'C:\\shop\\bridge.config.json' }, {}, /from "interpreter" in C:\\shop\\bridge\.config\.json not found: C:\\missing\\cfg\.exe/],
    [{ own: 'C:\\missing\\own.exe', configFile: 'C:\\shop\\bridge.config.json' }, {}, /from the script's "interpreter" in C:\\shop\\bridge\.config\.json not found: C:\\missing\\own\.exe/],
  ])('a given path that does not exist is an error naming its source (%o %o)', async (opts, env, message) => {
    // Even though a standard install exists: the user's choice is not second-guessed.
    const probe = machine({ files, env: { ...WIN_ENV, ...env } });
    const p = findInterpreter({ ...opts, scriptPath: SCRIPT, scriptText: V2 }, probe);
    await expect(p).rejects.toBeInstanceOf(InterpreterNotFoundError);
    await expect(p).rejects.toThrow(message);
  });

  it('a .mjs/.js/.cjs interpreter is the fixture, on any platform', async () => {
    for (const ext of ['mjs', 'js', 'cjs']) {
      const p = `/repo/fixtures/fake-ahk/AutoHotkey.${ext}`;
      const c = await findInterpreter({ explicit: p, scriptPath: '/repo/x.ahk' }, machine({ platform: 'linux', env: {}, files: [p] }));
      expect(c).toEqual({ path: p, major: undefined, source: 'flag', isFixture: true });
    }
  });

  it('resolves a relative given path against the working directory', async () => {
    const abs = path.resolve('fixtures/fake-ahk/AutoHotkey.mjs');
    // Resolved the way this platform resolves paths (Z:\\... under Windows node).
    const platform = process.platform === 'win32' ? 'win32' : 'linux';
    const c = await findInterpreter({ explicit: 'fixtures/fake-ahk/AutoHotkey.mjs', scriptPath: 'x.ahk' }, machine({ platform, env: {}, files: [abs] }));
    expect(c.path).toBe(abs);
  });

  it('works with the real probe and the real fixture file', async () => {
    const c = await findInterpreter({ explicit: FAKE, scriptPath: 'x.ahk', scriptText: V2 }, { ...realProbe, env: {} });
    expect(c).toEqual({ path: FAKE, major: undefined, source: 'flag', isFixture: true });
  });

  it('inside bridge.exe (no Node to run it) the stand-in is refused, naming where it came from', async () => {
    const standIn = 'C:\\ahk-bridge\\fixtures\\fake-ahk\\AutoHotkey.mjs';
    const probe = { ...machine({ files: [standIn] }), runsNodeScripts: false };
    await expect(findInterpreter({ configured: standIn, configFile: 'C:\\shop\\bridge.config.json', scriptPath: SCRIPT, scriptText: V2 }, probe)).rejects.toThrow(
      new InterpreterNotFoundError(
        `the interpreter from "interpreter" in C:\\shop\\bridge.config.json is a Node script (${standIn}), the tests' stand-in for AutoHotkey; ` +
          'bridge.exe has no Node to run it: give AutoHotkey itself, e.g. --ahk "C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey64.exe"',
      ),
    );
    // A real interpreter is taken as ever.
    expect(await findInterpreter({ explicit: 'C:\\tools\\AutoHotkey64.exe', scriptPath: SCRIPT }, { ...machine({ files: ['C:\\tools\\AutoHotkey64.exe'] }), runsNodeScripts: false })).toMatchObject({ isFixture: false });
  });
});

describe('findInterpreter: outside Windows', () => {
  it('without any path fails with how to set one', async () => {
    const probe = machine({ platform: 'linux', env: { HOME: '/home/ann' }, registry: { 'HKLM\\SOFTWARE\\AutoHotkey|InstallDir': 'C:\\AHK' } });
    const p = findInterpreter({ scriptPath: '/x.ahk', scriptText: V2 }, probe);
    await expect(p).rejects.toBeInstanceOf(InterpreterNotFoundError);
    const err = (await p.catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('only on Windows');
    expect(err.message).toContain('linux');
    expect(err.message).toContain('--ahk <path>');
    expect(err.message).toContain('AHK_PATH');
    expect(err.message).toContain('"interpreter" in bridge.config.json');
    // No registry or standard-folder search off Windows.
    expect(probe.regQueries).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')('the real probe never answers registry queries off Windows', async () => {
    expect(await realProbe.readRegistryValue('HKLM\\SOFTWARE\\AutoHotkey', 'InstallDir')).toBeUndefined();
  });

  it.runIf(process.platform === 'win32')("the real probe reads a value with Windows' reg.exe, and nothing for a key that is not there", async () => {
    expect(await realProbe.readRegistryValue('HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'SystemRoot')).toMatch(/^[A-Z]:\\windows$/i);
    expect(await realProbe.readRegistryValue('HKLM\\SOFTWARE\\ahk-bridge-test-no-such-key', 'InstallDir')).toBeUndefined();
  });
});

describe('findInterpreter: Windows registry and standard folders', () => {
  const PF = 'C:\\Program Files\\AutoHotkey';
  const HKLM = 'HKLM\\SOFTWARE\\AutoHotkey|InstallDir';
  const HKCU = 'HKCU\\SOFTWARE\\AutoHotkey|InstallDir';

  it('registry HKLM InstallDir + v2\\AutoHotkey64.exe for a v2 script', async () => {
    const probe = machine({ registry: { [HKLM]: 'E:\\AHK' }, files: ['E:\\AHK\\v2\\AutoHotkey64.exe', 'E:\\AHK\\v2\\AutoHotkey32.exe', `${PF}\\v2\\AutoHotkey64.exe`] });
    const c = await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, probe);
    expect(c).toEqual({ path: 'E:\\AHK\\v2\\AutoHotkey64.exe', major: 2, source: 'registry', isFixture: false });
    expect(probe.regQueries[0]).toBe('HKLM\\SOFTWARE\\AutoHotkey|InstallDir');
  });

  it('a 32-bit installer on 64-bit Windows: InstallDir under WOW6432Node, after HKLM and HKCU', async () => {
    const WOW = 'HKLM\\SOFTWARE\\WOW6432Node\\AutoHotkey|InstallDir';
    const dir = 'D:\\Tools\\AutoHotkey';
    const probe = machine({ registry: { [WOW]: dir }, files: [`${dir}\\AutoHotkeyU64.exe`] });
    const c = await findInterpreter({ scriptPath: SCRIPT, scriptText: V1 }, probe);
    expect(c).toEqual({ path: `${dir}\\AutoHotkeyU64.exe`, major: 1, source: 'registry', isFixture: false });
    expect(probe.regQueries.slice(0, 3)).toEqual([HKLM, HKCU, WOW]);
  });

  it('32-bit v2 when that is all there is', async () => {
    const c = await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ registry: { [HKLM]: 'E:\\AHK' }, files: ['E:\\AHK\\v2\\AutoHotkey32.exe'] }));
    expect(c.path).toBe('E:\\AHK\\v2\\AutoHotkey32.exe');
  });

  it('falls back to HKCU when HKLM has no InstallDir', async () => {
    const dir = 'C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey';
    const probe = machine({ registry: { [HKCU]: dir }, files: [`${dir}\\v2\\AutoHotkey64.exe`] });
    const c = await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, probe);
    expect(c).toEqual({ path: `${dir}\\v2\\AutoHotkey64.exe`, major: 2, source: 'registry', isFixture: false });
    expect(probe.regQueries.slice(0, 2)).toEqual(['HKLM\\SOFTWARE\\AutoHotkey|InstallDir', 'HKCU\\SOFTWARE\\AutoHotkey|InstallDir']);
  });

  it('v1 script: AutoHotkeyU64.exe, then AutoHotkey.exe; never a v2 exe', async () => {
    const both = machine({ registry: { [HKLM]: PF }, files: [`${PF}\\v2\\AutoHotkey64.exe`, `${PF}\\AutoHotkeyU64.exe`, `${PF}\\AutoHotkey.exe`] });
    expect(await findInterpreter({ scriptPath: SCRIPT, scriptText: V1 }, both)).toEqual({ path: `${PF}\\AutoHotkeyU64.exe`, major: 1, source: 'registry', isFixture: false });
    const plain = machine({ registry: { [HKLM]: PF }, files: [`${PF}\\v2\\AutoHotkey64.exe`, `${PF}\\AutoHotkey.exe`] });
    expect(await findInterpreter({ scriptPath: SCRIPT, scriptText: V1 }, plain)).toEqual({ path: `${PF}\\AutoHotkey.exe`, major: 1, source: 'registry', isFixture: false });
  });

  it('no #Requires: prefers v2, falls back to v1', async () => {
    const both = machine({ registry: { [HKLM]: PF }, files: [`${PF}\\AutoHotkeyU64.exe`, `${PF}\\v2\\AutoHotkey64.exe`] });
    expect((await findInterpreter({ scriptPath: SCRIPT, scriptText: NONE }, both)).path).toBe(`${PF}\\v2\\AutoHotkey64.exe`);
    const v1only = machine({ registry: { [HKLM]: PF }, files: [`${PF}\\AutoHotkeyU64.exe`] });
    expect(await findInterpreter({ scriptPath: SCRIPT, scriptText: NONE }, v1only)).toMatchObject({ path: `${PF}\\AutoHotkeyU64.exe`, major: 1 });
  });

  it('a v2 script finds a per-user v2 before a machine-wide v1 in the registry', async () => {
    const probe = machine({ registry: { [HKLM]: PF }, files: [`${PF}\\AutoHotkeyU64.exe`, 'C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey\\v2\\AutoHotkey64.exe'] });
    expect(await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, probe)).toEqual({
      path: 'C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey\\v2\\AutoHotkey64.exe',
      major: 2,
      source: 'standard',
      isFixture: false,
    });
  });

  it('standard folders without registry: Program Files, then x86, then per-user', async () => {
    const x86 = 'C:\\Program Files (x86)\\AutoHotkey\\v2\\AutoHotkey32.exe';
    const user = 'C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey\\v2\\AutoHotkey64.exe';
    const pf = `${PF}\\v2\\AutoHotkey64.exe`;
    expect((await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ files: [x86, user, pf] }))).path).toBe(pf);
    expect((await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ files: [x86, user] }))).path).toBe(x86);
    expect(await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ files: [user] }))).toEqual({ path: user, major: 2, source: 'standard', isFixture: false });
  });

  it('registry wins over standard folders for the same major', async () => {
    const probe = machine({ registry: { [HKLM]: 'E:\\AHK' }, files: [`${PF}\\v2\\AutoHotkey64.exe`, 'E:\\AHK\\v2\\AutoHotkey64.exe'] });
    expect(await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, probe)).toMatchObject({ path: 'E:\\AHK\\v2\\AutoHotkey64.exe', source: 'registry' });
  });

  it('never picks the launcher (UX\\AutoHotkeyUX.exe)', async () => {
    const p = findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ registry: { [HKLM]: PF }, files: [`${PF}\\UX\\AutoHotkeyUX.exe`] }));
    await expect(p).rejects.toThrow(InterpreterNotFoundError);
  });

  it('nothing installed: names the folders it searched and how to set a path', async () => {
    const err = (await findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ registry: { [HKLM]: 'E:\\AHK' } })).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(InterpreterNotFoundError);
    expect(err.message).toMatch(/AutoHotkey v2 not found/);
    expect(err.message).toContain('E:\\AHK');
    expect(err.message).toContain('C:\\Program Files\\AutoHotkey');
    expect(err.message).toContain('C:\\Users\\ann\\AppData\\Local\\Programs\\AutoHotkey');
    expect(err.message).toContain('--ahk <path>');
  });

  it('a v2 script with only v1 installed says so', async () => {
    const p = findInterpreter({ scriptPath: SCRIPT, scriptText: V2 }, machine({ files: [`${PF}\\AutoHotkeyU64.exe`] }));
    await expect(p).rejects.toThrow(/requires AutoHotkey v2, but only v1 was found \(C:\\Program Files\\AutoHotkey\\AutoHotkeyU64\.exe\)/);
  });

  it('reads the #Requires line from the script file when no text is given', async () => {
    const v1Script = fileURLToPath(new URL('../../fixtures/scripts/v1.ahk', import.meta.url));
    const probe = machine({ files: [`${PF}\\v2\\AutoHotkey64.exe`, `${PF}\\AutoHotkeyU64.exe`] });
    expect((await findInterpreter({ scriptPath: v1Script }, probe)).path).toBe(`${PF}\\AutoHotkeyU64.exe`);
    // A script that cannot be read is treated as saying nothing: v2 preferred.
    expect((await findInterpreter({ scriptPath: '/no/such/script.ahk' }, probe)).path).toBe(`${PF}\\v2\\AutoHotkey64.exe`);
  });
});

describe('interpreterCommand', () => {
  it('a real interpreter gets /force /ErrorStdOut=UTF-8 before the script, args after', () => {
    const choice = { path: 'C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey64.exe', major: 2 as const, source: 'registry' as const, isFixture: false };
    expect(interpreterCommand(choice, 'C:\\s\\saw.ahk', ['--port', 'COM3'])).toEqual({
      file: 'C:\\Program Files\\AutoHotkey\\v2\\AutoHotkey64.exe',
      args: ['/force', '/ErrorStdOut=UTF-8', 'C:\\s\\saw.ahk', '--port', 'COM3'],
    });
  });

  it('the fixture runs through node (no shebangs on Windows)', () => {
    const choice = { path: FAKE, major: undefined, source: 'flag' as const, isFixture: true };
    expect(interpreterCommand(choice, '/s/echo.ahk', ['a'])).toEqual({ file: process.execPath, args: [FAKE, '/force', '/ErrorStdOut=UTF-8', '/s/echo.ahk', 'a'] });
  });
});
