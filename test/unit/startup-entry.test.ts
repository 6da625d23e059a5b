/**
 * What `bridge install-startup` writes and registers, and what uninstall removes: the
 * Windows command line (against an independent CommandLineToArgvW-rule splitter), the
 * launcher, the task XML, and the install's choices between task and Startup folder with a
 * recording stand-in for schtasks. The real schtasks and wscript run in the Windows lane.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launcherScript, vbsString } from '../../bridge/startup/launcher-script.js';
import { logonTaskXml } from '../../bridge/startup/logon-task.js';
import { outputText, type ToolResult } from '../../bridge/startup/run-tool.js';
import { shortcutScript } from '../../bridge/startup/script-host.js';
import { installStartup, planStartup, ShortcutFailedError, TaskRefusedError, uninstallStartup, type StartupPlan, type StartupTools } from '../../bridge/startup/startup-entry.js';
import { startupPaths, type StartupPaths } from '../../bridge/startup/startup-paths.js';
import { quoteWindowsArg, windowsCommandLine } from '../../bridge/startup/windows-command-line.js';

/** The C runtime's argument splitting (2008+ rules), written from its documentation. */
function splitWindowsCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    for (; i < line.length; i++) {
      const ch = line[i]!;
      if (!quoted && (ch === ' ' || ch === '\t')) break;
      if (ch === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) arg += '"';
          else quoted = !quoted;
        } else {
          arg += '\\'.repeat(n);
          i--;
        }
        continue;
      }
      if (ch === '"') {
        if (quoted && line[i + 1] === '"') {
          arg += '"';
          i++;
        } else {
          quoted = !quoted;
        }
        continue;
      }
      arg += ch;
    }
    args.push(arg);
  }
  return args;
}

describe('Windows command lines', () => {
  it.each([
    ['C:\\bridge\\bridge.exe', 'C:\\bridge\\bridge.exe'],
    ['C:\\Program Files\\ahk-bridge\\bridge.exe', '"C:\\Program Files\\ahk-bridge\\bridge.exe"'],
    ['C:\\Shop Scripts\\', '"C:\\Shop Scripts\\\\"'],
    ['', '""'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a\\\\"b c', '"a\\\\\\\\\\"b c"'],
  ])('%j is quoted as %s', (arg, quoted) => {
    expect(quoteWindowsArg(arg)).toBe(quoted);
  });

  it('every argv comes apart again into the same arguments (10,000 generated)', () => {
    const alphabet = ['a', 'Z', ' ', '\t', '\\', '"', 'é', ':', '.'];
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    for (let t = 0; t < 10_000; t++) {
      const argv = Array.from({ length: 1 + rnd(4) }, () => Array.from({ length: rnd(8) }, () => alphabet[rnd(alphabet.length)]).join(''));
      expect(splitWindowsCommandLine(windowsCommandLine(argv))).toEqual(argv);
    }
  });
});

const spec = {
  argv: ['C:\\Program Files\\ahk-bridge\\bridge.exe', 'up', '--config', 'C:\\Shop "A"\\bridge.config.json', '--log-file', 'C:\\Users\\José\\AppData\\Local\\ahk-bridge\\logs\\bridge.log'],
  cwd: 'C:\\Shop "A"',
  config: 'C:\\Shop "A"\\bridge.config.json',
};

describe('the launcher', () => {
  it('runs the command line hidden, in the config folder, with VBScript quoting', () => {
    const text = launcherScript(spec);
    const lines = text.split('\r\n');
    expect(lines.filter((l) => !l.startsWith("'"))).toEqual([
      'Option Explicit',
      'Dim shell',
      'Set shell = CreateObject("WScript.Shell")',
      'shell.CurrentDirectory = "C:\\Shop ""A"""',
      'shell.Run """C:\\Program Files\\ahk-bridge\\bridge.exe"" up --config ""C:\\Shop \\""A\\""\\bridge.config.json"" --log-file C:\\Users\\Jos" & ChrW(233) & "\\AppData\\Local\\ahk-bridge\\logs\\bridge.log", 0, False',
      '',
    ]);
    expect(lines[0]).toBe('\' ahk-bridge: starts `bridge up` for C:\\Shop "A"\\bridge.config.json with no console window.');
    // Plain ASCII, for any script host and code page.
    expect(/^[\x20-\x7e\r\n]*$/.test(text)).toBe(true);
  });

  it.each([
    ['', '""'],
    ['say "hi"', '"say ""hi"""'],
    ['José', '"Jos" & ChrW(233)'],
    ['Ωmega', 'ChrW(937) & "mega"'],
    ['a😀b', '"a" & ChrW(55357) & ChrW(56832) & "b"'],
    ['tab\there', '"tab" & ChrW(9) & "here"'],
  ])('vbsString(%j) is %s', (text, expr) => {
    expect(vbsString(text)).toBe(expr);
  });
});

describe('the logon task', () => {
  const xml = logonTaskXml({ user: 'SHOP\\saw&cad', command: 'C:\\Windows\\System32\\wscript.exe', arguments: '"C:\\x <y>\\bridge-up.vbs"', workingDirectory: 'C:\\Shop', description: 'd' });

  it('starts at this user\'s logon, as this user, without elevation, time limit or battery stops, at normal priority', () => {
    const element = (name: string): string[] => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!);
    expect(element('UserId')).toEqual(['SHOP\\saw&amp;cad', 'SHOP\\saw&amp;cad']);
    expect(xml).toMatch(/<LogonTrigger>\s*<Enabled>true<\/Enabled>\s*<UserId>/);
    expect(element('LogonType')).toEqual(['InteractiveToken']);
    expect(element('RunLevel')).toEqual(['LeastPrivilege']);
    expect(element('ExecutionTimeLimit')).toEqual(['PT0S']);
    expect(element('DisallowStartIfOnBatteries')).toEqual(['false']);
    expect(element('StopIfGoingOnBatteries')).toEqual(['false']);
    expect(element('Priority')).toEqual(['5']);
    expect(element('MultipleInstancesPolicy')).toEqual(['IgnoreNew']);
    expect(element('Command')).toEqual(['C:\\Windows\\System32\\wscript.exe']);
    expect(element('Arguments')).toEqual(['&quot;C:\\x &lt;y&gt;\\bridge-up.vbs&quot;']);
    expect(element('WorkingDirectory')).toEqual(['C:\\Shop']);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2"')).toBe(true);
  });
});

describe('startupPaths', () => {
  it('puts the launcher and logs under %LOCALAPPDATA%, the entry in the roaming Startup folder', () => {
    const p = startupPaths({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local', APPDATA: 'C:\\Users\\u\\AppData\\Roaming', SystemRoot: 'C:\\Windows', USERDOMAIN: 'SHOP', USERNAME: 'u' });
    expect(p).toEqual({
      user: 'SHOP\\u',
      appDir: 'C:\\Users\\u\\AppData\\Local\\ahk-bridge',
      launcher: 'C:\\Users\\u\\AppData\\Local\\ahk-bridge\\startup\\bridge-up.vbs',
      logFile: 'C:\\Users\\u\\AppData\\Local\\ahk-bridge\\logs\\bridge.log',
      startupFolder: 'C:\\Users\\u\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup',
      startupEntry: 'C:\\Users\\u\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\ahk-bridge.lnk',
      wscript: 'C:\\Windows\\System32\\wscript.exe',
      cscript: 'C:\\Windows\\System32\\cscript.exe',
    });
  });

  it('without %LOCALAPPDATA% it says it needs a Windows user session', () => {
    expect(() => startupPaths({ APPDATA: 'x' })).toThrow('%LOCALAPPDATA% is not set: install-startup needs the environment of a Windows user session');
  });
});

describe('installing and removing', () => {
  let dir: string;
  let paths: StartupPaths;
  let plan: StartupPlan;
  let calls: string[][];
  /** schtasks' answers, in order; the last one repeats. */
  let answers: ToolResult[];
  /** The scripts cscript was given, and whether it may run them. */
  let scripts: string[];
  let scriptHostWorks: boolean;
  const schtasks = async (args: string[]): Promise<ToolResult> => {
    calls.push(args);
    return answers.length > 1 ? answers.shift()! : answers[0]!;
  };
  /** cscript, played: the probe quits with its code; the shortcut script makes the file. */
  const tools = (): StartupTools => ({
    schtasks,
    scripts: async (file) => {
      const text = readFileSync(file, 'latin1');
      scripts.push(text);
      if (!scriptHostWorks) return { code: 1, output: 'Windows Script Host access is disabled on this machine.' };
      const quit = /^WScript\.Quit (\d+)/.exec(text);
      if (quit) return { code: Number(quit[1]), output: '' };
      writeFileSync(paths.startupEntry, 'a shortcut');
      return { code: 0, output: '' };
    },
  });
  const utf16 = (file: string): string => {
    const bytes = readFileSync(file);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    return bytes.subarray(2).toString('utf16le');
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'startup-entry-'));
    paths = {
      user: 'SHOP\\u',
      appDir: path.join(dir, 'local', 'ahk-bridge'),
      launcher: path.join(dir, 'local', 'ahk-bridge', 'startup', 'bridge-up.vbs'),
      logFile: path.join(dir, 'local', 'ahk-bridge', 'logs', 'bridge.log'),
      startupFolder: path.join(dir, 'roaming', 'Startup'),
      startupEntry: path.join(dir, 'roaming', 'Startup', 'ahk-bridge.lnk'),
      wscript: 'C:\\Windows\\System32\\wscript.exe',
      cscript: 'C:\\Windows\\System32\\cscript.exe',
    };
    plan = planStartup(paths, spec);
    calls = [];
    answers = [{ code: 0, output: 'SUCCESS' }];
    scripts = [];
    scriptHostWorks = true;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('registers the task from the kept definition, and removes an earlier Startup folder entry', async () => {
    mkdirSync(paths.startupFolder, { recursive: true });
    writeFileSync(paths.startupEntry, 'old');
    const result = await installStartup(plan, tools());
    expect(result).toEqual({ via: 'task', replaced: [`the Startup folder shortcut ${paths.startupEntry}`] });
    expect(calls).toEqual([['/Create', '/TN', 'ahk-bridge', '/XML', path.join(path.dirname(paths.launcher), 'ahk-bridge-task.xml'), '/F']]);
    expect(utf16(plan.taskXmlFile)).toBe(plan.taskXml);
    expect(readFileSync(paths.launcher, 'latin1')).toBe(plan.launcherText);
    expect(existsSync(paths.startupEntry)).toBe(false);
  });

  it('falls back to the Startup folder when the task is refused, and says why', async () => {
    answers = [{ code: 1, output: 'ERROR: Access is denied.' }];
    const result = await installStartup(plan, tools());
    expect(result).toEqual({ via: 'startup-folder', taskRefused: { code: 1, output: 'ERROR: Access is denied.' }, replaced: [] });
    expect(scripts.at(-1)).toBe(shortcutScript(plan.shortcut));
    expect(existsSync(plan.taskXmlFile)).toBe(false);
  });

  it('the fallback removes a task an earlier install left, so one logon starts one bridge', async () => {
    answers = [{ code: 1, output: 'ERROR: Access is denied.' }, { code: 0, output: 'SUCCESS' }];
    const result = await installStartup(plan, tools());
    expect(calls.map((c) => c[0])).toEqual(['/Create', '/Delete']);
    expect(result.replaced).toEqual(['the Task Scheduler task ahk-bridge']);
    expect(result.via).toBe('startup-folder');
  });

  it('refuses before writing anything when Windows Script Host cannot run scripts', async () => {
    scriptHostWorks = false;
    await expect(installStartup(plan, tools())).rejects.toThrow(
      'Windows Script Host cannot run scripts on this PC (cscript exit 1: Windows Script Host access is disabled on this machine.); the hidden launcher needs it',
    );
    expect(calls).toEqual([]);
    expect(existsSync(paths.launcher)).toBe(false);
  });

  it('a shortcut that does not appear is an error naming it', async () => {
    const quitting = (file: string): boolean => /^WScript\.Quit (\d+)/.test(readFileSync(file, 'latin1'));
    const failing: StartupTools = { schtasks, scripts: async (file) => (quitting(file) ? { code: 23, output: '' } : { code: 0, output: '' }) };
    await expect(installStartup(plan, failing, 'startup-folder')).rejects.toThrow(new ShortcutFailedError(paths.startupEntry, { code: 0, output: '' }));
  });

  it('--via task does not fall back', async () => {
    answers = [{ code: 1, output: 'ERROR: Access is denied.' }];
    await expect(installStartup(plan, tools(), 'task')).rejects.toThrow(new TaskRefusedError({ code: 1, output: 'ERROR: Access is denied.' }));
    expect(existsSync(paths.startupEntry)).toBe(false);
  });

  it('--via startup-folder removes a task from an earlier install, so one logon starts one bridge', async () => {
    const result = await installStartup(plan, tools(), 'startup-folder');
    expect(calls).toEqual([['/Delete', '/TN', 'ahk-bridge', '/F']]);
    expect(result).toEqual({ via: 'startup-folder', taskRefused: undefined, replaced: ['the Task Scheduler task ahk-bridge'] });
    expect(scripts.at(-1)).toBe(shortcutScript(plan.shortcut));
  });

  it('uninstall removes the task, the entry and the launcher, and keeps the logs; a second one finds nothing', async () => {
    answers = [{ code: 1, output: 'ERROR: Access is denied.' }];
    await installStartup(plan, tools());
    mkdirSync(path.dirname(paths.logFile), { recursive: true });
    writeFileSync(paths.logFile, 'kept\n');
    answers = [{ code: 0, output: 'SUCCESS' }, { code: 1, output: 'ERROR: The system cannot find the file specified.' }];
    calls = [];
    const first = await uninstallStartup(paths, schtasks);
    expect(first.removed).toEqual([`the Task Scheduler task ahk-bridge`, `the Startup folder shortcut ${paths.startupEntry}`, `the launcher ${paths.launcher}`]);
    expect(calls).toEqual([['/Delete', '/TN', 'ahk-bridge', '/F']]);
    const second = await uninstallStartup(paths, schtasks);
    expect(second).toEqual({ removed: [], taskDelete: { code: 1, output: 'ERROR: The system cannot find the file specified.' } });
    expect(readFileSync(paths.logFile, 'utf8')).toBe('kept\n');
  });
});

describe('the Startup folder shortcut', () => {
  it('runs wscript by its full path with the launcher, in the config folder', () => {
    const text = shortcutScript({
      file: 'C:\\Users\\Zoë\\Startup\\ahk-bridge.lnk',
      target: 'C:\\Windows\\System32\\wscript.exe',
      arguments: '"C:\\a b\\bridge-up.vbs"',
      workingDirectory: 'C:\\Shop',
      description: 'd',
    });
    expect(text.split('\r\n')).toEqual([
      'Option Explicit',
      'Dim link',
      'Set link = CreateObject("WScript.Shell").CreateShortcut("C:\\Users\\Zo" & ChrW(235) & "\\Startup\\ahk-bridge.lnk")',
      'link.TargetPath = "C:\\Windows\\System32\\wscript.exe"',
      'link.Arguments = """C:\\a b\\bridge-up.vbs"""',
      'link.WorkingDirectory = "C:\\Shop"',
      'link.Description = "d"',
      'link.Save',
      '',
    ]);
  });
});

describe("tools' output", () => {
  it('reads narrow and UTF-16LE output alike', () => {
    expect(outputText(Buffer.from('ERROR: Access is denied.\r\n'))).toBe('ERROR: Access is denied.');
    expect(outputText(Buffer.from('ERROR: Zugriff verweigert.\r\n', 'utf16le'))).toBe('ERROR: Zugriff verweigert.');
    expect(outputText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('SUCCESS', 'utf16le')]))).toBe('SUCCESS');
    expect(outputText(Buffer.alloc(0))).toBe('');
  });
});
