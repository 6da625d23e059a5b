/**
 * Where `bridge install-startup` puts things for the current Windows user, from the
 * environment Windows gives every process (%LOCALAPPDATA%, %APPDATA%, %SystemRoot%,
 * %USERDOMAIN%\%USERNAME%).
 */
import os from 'node:os';
import path from 'node:path';
import { CliError } from '../cli-error.js';

/** The name of the Task Scheduler task, and the stem of every file the install writes. */
export const STARTUP_NAME = 'ahk-bridge';

export interface StartupPaths {
  /** The user's account as Task Scheduler names it: DOMAIN\user. */
  user: string;
  /** %LOCALAPPDATA%\ahk-bridge: the launcher and the logs (per machine, not roaming). */
  appDir: string;
  /** The hidden-window launcher the logon entry runs. */
  launcher: string;
  /** The default --log-file of the bridge started at logon. */
  logFile: string;
  /** The user's Startup folder (run at logon by Explorer). */
  startupFolder: string;
  /** The shortcut in the Startup folder to the launcher, when that is the way it starts. */
  startupEntry: string;
  /** The Windows Script Host that runs the launcher without a console window. */
  wscript: string;
  /** Its console twin, which runs the install's own scripts (the probe, the shortcut). */
  cscript: string;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new CliError(`%${name}% is not set: install-startup needs the environment of a Windows user session`);
  return value;
}

/** The paths for the user whose environment `env` is. */
export function startupPaths(env: Env = process.env): StartupPaths {
  const win = path.win32;
  const localAppData = required(env, 'LOCALAPPDATA');
  const appData = required(env, 'APPDATA');
  const systemRoot = env.SystemRoot || env.SYSTEMROOT || env.windir || 'C:\\Windows';
  const name = env.USERNAME || os.userInfo().username;
  const appDir = win.join(localAppData, STARTUP_NAME);
  const startupFolder = win.join(appData, 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup');
  return {
    user: env.USERDOMAIN ? `${env.USERDOMAIN}\\${name}` : name,
    appDir,
    launcher: win.join(appDir, 'startup', 'bridge-up.vbs'),
    logFile: win.join(appDir, 'logs', 'bridge.log'),
    startupFolder,
    startupEntry: win.join(startupFolder, `${STARTUP_NAME}.lnk`),
    wscript: win.join(systemRoot, 'System32', 'wscript.exe'),
    cscript: win.join(systemRoot, 'System32', 'cscript.exe'),
  };
}
