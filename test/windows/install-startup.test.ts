/**
 * Windows lane only: `bridge install-startup` / `uninstall-startup` under Windows node.
 * - With schtasks-stub.exe as schtasks (BRIDGE_SCHTASKS): exactly what is registered, the
 *   fallback to the Startup folder when the task is refused, and uninstall.
 * - With Wine's own schtasks.exe: the task is registered from our XML and deleted again.
 * - The launcher itself, run by Wine's wscript.exe as the logon would run it: `bridge up`
 *   starts with no console, logs to the file, answers `bridge ps` and `bridge logs`, a
 *   second start exits saying why, and `bridge down` stops it.
 * %LOCALAPPDATA% and %APPDATA% point into a temporary folder, so nothing of the lane's own
 * profile is touched.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli, type CliResult } from '../helpers/cli.js';
import { FAKE_AHK, scriptFixture, writeBridgeConfig } from '../helpers/script-fixtures.js';
import type { RawClient } from '../helpers/raw-client.js';
import { brokerWithWatcher, useTestBed } from '../helpers/test-bed.js';

const BIN = process.env.WINDOWS_LANE_BIN;
const STUB = BIN ? path.resolve(BIN, 'schtasks-stub.exe') : '';
const ON_LANE = process.platform === 'win32' && STUB !== '' && existsSync(STUB);
const SYSTEM_ROOT = process.env.SystemRoot ?? 'C:\\windows';
const WSCRIPT = path.join(SYSTEM_ROOT, 'System32', 'wscript.exe');

const bed = useTestBed();
let dir: string;
let env: NodeJS.ProcessEnv;
let local: string;
let roaming: string;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'install-startup-')));
  local = path.join(dir, 'Local');
  roaming = path.join(dir, 'Roaming');
  env = { LOCALAPPDATA: local, APPDATA: roaming, BRIDGE_SCHTASKS: STUB, SCHTASKS_STUB_LOG: path.join(dir, 'schtasks.log') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));

const launcherPath = (): string => path.join(local, 'ahk-bridge', 'startup', 'bridge-up.vbs');
const taskXmlPath = (): string => path.join(local, 'ahk-bridge', 'startup', 'ahk-bridge-task.xml');
const startupEntry = (): string => path.join(roaming, 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup', 'ahk-bridge.lnk');
const logFile = (): string => path.join(local, 'ahk-bridge', 'logs', 'bridge.log');
const stubCalls = (): string[][] =>
  existsSync(env.SCHTASKS_STUB_LOG!) ? readFileSync(env.SCHTASKS_STUB_LOG!, 'utf8').trimEnd().split('\n').map((l) => l.split('\t')) : [];

/** A UTF-16LE file with its byte order mark, as text. */
function utf16File(file: string): string {
  const bytes = readFileSync(file);
  expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
  return bytes.subarray(2).toString('utf16le');
}

function chattyConfig(port: number): string {
  return writeBridgeConfig(dir, { broker: { host: '127.0.0.1', port }, interpreter: FAKE_AHK, scripts: [{ key: 'chatty', path: scriptFixture('chatty') }] });
}

/** The command line the launcher runs for `config`, as the launcher's VBScript literal holds it. */
function expectedRunLine(config: string): string {
  const q = (s: string): string => (/\s/.test(s) ? `""${s}""` : s);
  return `shell.Run "${[process.execPath, CLI, 'up', '--config', config, '--log-file', logFile()].map(q).join(' ')}", 0, False`;
}

describe.runIf(ON_LANE)('install-startup with a recording schtasks', () => {
  it('--dry-run prints the launcher, the task and the schtasks call, and changes nothing', async () => {
    const config = chattyConfig(15_999);
    const res = await runCli(['install-startup', '--config', config, '--dry-run'], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`2. write the launcher ${launcherPath()}:\n`);
    expect(res.stdout).toContain(`    ${expectedRunLine(config)}\n`);
    expect(res.stdout).toContain(`      <Command>${WSCRIPT}</Command>\n`);
    expect(res.stdout).toContain(`4. register it: ${STUB.includes(' ') ? `"${STUB}"` : STUB} /Create /TN ahk-bridge /XML ${taskXmlPath()} /F\n`);
    expect(res.stdout).toContain(`   and if that is refused, write the shortcut ${startupEntry()} to ${WSCRIPT} ${launcherPath()} (in ${dir})\n`);
    expect(stubCalls()).toEqual([]);
    expect(existsSync(local)).toBe(false);
    expect(existsSync(roaming)).toBe(false);
  });

  it('registers the task with exactly the XML it keeps, running the launcher hidden', async () => {
    const config = chattyConfig(15_999);
    const res = await runCli(['install-startup', '--config', config], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const user = `${process.env.USERDOMAIN}\\${process.env.USERNAME}`;
    expect(res.stdout.split('\n')[0]).toBe(`installed: \`bridge up\` starts hidden at logon of ${user}`);
    expect(res.stdout).toContain(`  how:       Task Scheduler task "ahk-bridge" (at your logon, your own rights, no time limit; definition in ${taskXmlPath()})\n`);
    // The config names its broker: the hint reaches that one.
    expect(res.stdout).toContain('Start it now: schtasks /Run /TN ahk-bridge   Stop it: bridge down --host 127.0.0.1 --port 15999   Remove it: bridge uninstall-startup\n');
    expect(stubCalls()).toEqual([['/Create', '/TN', 'ahk-bridge', '/XML', taskXmlPath(), '/F']]);
    // What schtasks was given is the kept definition, byte for byte.
    expect(readFileSync(`${env.SCHTASKS_STUB_LOG}.xml`)).toEqual(readFileSync(taskXmlPath()));
    const xml = utf16File(taskXmlPath());
    expect(xml).toContain(`<UserId>${user}</UserId>`);
    expect(xml).toContain(`<Command>${WSCRIPT}</Command>`);
    expect(xml).toContain(`<Arguments>${launcherPath().includes(' ') ? `&quot;${launcherPath()}&quot;` : launcherPath()}</Arguments>`);
    expect(xml).toContain(`<WorkingDirectory>${dir}</WorkingDirectory>`);
    expect(readFileSync(launcherPath(), 'latin1').split('\r\n')).toContain(expectedRunLine(config));
    expect(existsSync(startupEntry())).toBe(false);
  });

  it('a refused task falls back to the Startup folder and says why; --via task fails instead', async () => {
    const config = chattyConfig(15_999);
    const refusing = { ...env, SCHTASKS_STUB_EXIT: '1', SCHTASKS_STUB_OUTPUT: 'ERROR: Access is denied.' };
    const strict = await runCli(['install-startup', '--config', config, '--via', 'task'], refusing);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe(
      'bridge: schtasks refused the task (exit 1): ERROR: Access is denied.\n--via startup-folder uses your Startup folder instead, which needs no Task Scheduler rights.\n',
    );
    expect(existsSync(startupEntry())).toBe(false);

    const res = await runCli(['install-startup', '--config', config], refusing);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('bridge: the Task Scheduler refused the logon task (schtasks exit 1: ERROR: Access is denied.); using your Startup folder instead\n');
    expect(res.stdout).toContain(`  how:       Startup folder shortcut ${startupEntry()}\n`);
    // A shell link (MS-SHLLINK: header size 0x4C), written by Windows Script Host itself.
    expect([...readFileSync(startupEntry()).subarray(0, 4)]).toEqual([0x4c, 0, 0, 0]);
    expect(existsSync(taskXmlPath())).toBe(false);

    // Uninstall removes both kinds; the logs folder would be kept.
    const un = await runCli(['uninstall-startup'], env);
    expect(un.code).toBe(0);
    expect(un.stdout.split('\n')[0]).toBe(`removed: the Task Scheduler task ahk-bridge; the Startup folder shortcut ${startupEntry()}; the launcher ${launcherPath()}`);
    expect(stubCalls().at(-1)).toEqual(['/Delete', '/TN', 'ahk-bridge', '/F']);
    expect(existsSync(startupEntry()) || existsSync(launcherPath())).toBe(false);
  });

  it('a config that would fail at every logon is refused before anything is written', async () => {
    const config = writeBridgeConfig(dir, { scripts: [{ key: 'x', path: 'missing.ahk' }] });
    const res = await runCli(['install-startup', '--config', config], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`bridge: ${config}: key x: script not found: ${path.join(dir, 'missing.ahk')}\n`);
    expect(stubCalls()).toEqual([]);
    expect(existsSync(local)).toBe(false);
  });
});

describe.runIf(ON_LANE)("install-startup with Wine's own schtasks", () => {
  it('registers the task from our XML, and uninstall deletes it', async () => {
    const config = chattyConfig(15_999);
    const real = { ...env, BRIDGE_SCHTASKS: '' };
    const stored = path.join(SYSTEM_ROOT, 'System32', 'Tasks', 'ahk-bridge');
    rmSync(stored, { force: true });
    const res = await runCli(['install-startup', '--config', config], real);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('  how:       Task Scheduler task "ahk-bridge"');
    // Wine's Task Scheduler keeps each task as a file named after it. It keeps our
    // description and settings; it drops what it does not implement (logon triggers, the
    // principal, the action), which Windows keeps.
    const bytes = readFileSync(stored);
    const text = bytes.toString(bytes[0] === 0xff ? 'utf16le' : 'utf8');
    expect(text).toContain(`<Description>ahk-bridge: runs bridge up for ${config} at logon, with no console window.`);
    expect(text).toContain('<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>');
    expect(text).toContain('<Priority>5</Priority>');
    expect(text).toContain('<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>');
    const un = await runCli(['uninstall-startup'], real);
    expect(un.code).toBe(0);
    expect(un.stdout.split('\n')[0]).toBe(`removed: the Task Scheduler task ahk-bridge; the launcher ${launcherPath()}`);
    expect(existsSync(stored)).toBe(false);
    const again = await runCli(['uninstall-startup'], real);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^nothing to remove: no logon entry of ahk-bridge was found \(schtasks \/Delete said: /);
  });
});

describe.runIf(ON_LANE)('the launcher, run as the logon runs it', () => {
  it('starts bridge up with no console, logging to the file; a second start exits; bridge down stops it', async () => {
    const { broker, watcher } = await brokerWithWatcher(bed, { patterns: ['scripts.chatty.#'] });
    const config = chattyConfig(broker.port);
    const installed = await runCli(['install-startup', '--config', config, '--via', 'startup-folder'], env);
    expect(installed.code, installed.stderr).toBe(0);
    const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--host', '127.0.0.1', '--port', String(broker.port)], env);

    expect(await runLauncher()).toBe(0);
    try {
      await launchedBridgeWorks(cli, watcher);
    } finally {
      // The bridge runs detached under wscript: a failed assertion must not leave it behind.
      if (watcher.deliveries('scripts.chatty.stopped').length === 0) await cli('down');
    }
  });
});

/** The Startup folder shortcut, opened as Explorer opens it at logon (`start` resolves it). */
function runLauncher(): Promise<number | null> {
  return new Promise((resolve) => spawn('cmd.exe', ['/c', 'start', '', '/wait', startupEntry()], { stdio: 'ignore' }).on('close', resolve));
}

/** What a user does with the bridge the launcher started; it ends with `bridge down`. */
async function launchedBridgeWorks(cli: (...args: string[]) => Promise<CliResult>, watcher: RawClient): Promise<void> {
  await watcher.waitDelivery('scripts.chatty.ready', undefined, 60_000);
  const ps = await cli('ps', '--json');
  expect((JSON.parse(ps.stdout) as { key: string; bridge: string; state: string }[]).map((r) => [r.key, r.bridge, r.state])).toEqual([['chatty', 'bridge', 'running']]);
  const logs = await cli('logs', 'chatty');
  expect(logs.code, logs.stderr).toBe(0);
  expect(logs.stdout.split('\n').filter((l) => !l.startsWith('[stderr]') && !l.startsWith('--'))).toEqual(['first line', 'second line', '']);

  // The same launcher again, as a second logon start would be: it exits and says why.
  expect(await runLauncher()).toBe(0);
  const ERROR_LINE = /ERROR +bridge: another bridge up runs on this computer as "bridge" \(pid \d+\): this `bridge up` exits and changes nothing/;
  await waitForFile(logFile(), (text) => ERROR_LINE.test(text));
  expect(watcher.deliveries('scripts.chatty.started')).toHaveLength(1);

  const down = await cli('down');
  expect(down.stderr).toBe('');
  expect(down.stdout).toMatch(/^stopped bridge "bridge" \(pid \d+, 1 script\)\n$/);
  await watcher.waitDelivery('scripts.chatty.stopped');
  const log = readFileSync(logFile(), 'utf8');
  expect(log).toMatch(/INFO +bridge: joined the broker already running/);
  expect(log).toMatch(/INFO +script:chatty: output key=chatty line="first line"/);
  expect(log).toMatch(/INFO +bridge: stop requested/);
  expect(readdirSync(path.dirname(logFile()))).toEqual(['bridge.log']);
}

/**
 * Wait until `file` satisfies `pred`, with a deadline. The second copy runs detached under
 * wscript, so its exit is no event this process can wait on; its log line is the sign.
 * Read again every 200 ms: fs.watch under Wine misses changes.
 */
async function waitForFile(file: string, pred: (text: string) => boolean, timeoutMs = 60_000): Promise<void> {
  const read = (): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const deadline = Date.now() + timeoutMs;
  while (!pred(read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}; it holds:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
