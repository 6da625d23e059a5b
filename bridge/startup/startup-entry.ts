/**
 * Installing and removing the logon entry: the launcher file, then a Task Scheduler task
 * or, when that is refused or asked for, a shortcut to it in the Startup folder. Only one
 * of the two is left registered, so one logon starts one bridge.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { launcherBytes, launcherScript, type LauncherSpec } from './launcher-script.js';
import { logonTaskXml, utf16Bytes } from './logon-task.js';
import type { ToolResult, ToolRunner } from './run-tool.js';
import { createShortcut, probeScriptHost, type ScriptRunner, type ShortcutSpec } from './script-host.js';
import { STARTUP_NAME, type StartupPaths } from './startup-paths.js';
import { quoteWindowsArg } from './windows-command-line.js';

export type StartupVia = 'task' | 'startup-folder';

/** Everything an install writes and registers, computed before anything is touched. */
export interface StartupPlan {
  paths: StartupPaths;
  launcher: LauncherSpec;
  launcherText: string;
  /** Where the task definition is kept (the record of what was registered). */
  taskXmlFile: string;
  taskXml: string;
  /** schtasks' arguments that register it. */
  createArgs: string[];
  /** The Startup folder's shortcut, when the folder is used. */
  shortcut: ShortcutSpec;
}

/** A file beside the launcher: the kept task definition, the scratch scripts. */
const besideLauncher = (paths: StartupPaths, name: string): string => path.join(path.dirname(paths.launcher), name);
const TASK_XML = `${STARTUP_NAME}-task.xml`;

export function planStartup(paths: StartupPaths, launcher: LauncherSpec): StartupPlan {
  const description = `ahk-bridge: runs bridge up for ${launcher.config} at logon, with no console window. Installed by bridge install-startup; bridge uninstall-startup removes it.`;
  const launcherArg = quoteWindowsArg(paths.launcher);
  const taskXmlFile = besideLauncher(paths, TASK_XML);
  return {
    paths,
    launcher,
    launcherText: launcherScript(launcher),
    taskXmlFile,
    taskXml: logonTaskXml({ user: paths.user, command: paths.wscript, arguments: launcherArg, workingDirectory: launcher.cwd, description }),
    createArgs: ['/Create', '/TN', STARTUP_NAME, '/XML', taskXmlFile, '/F'],
    shortcut: { file: paths.startupEntry, target: paths.wscript, arguments: launcherArg, workingDirectory: launcher.cwd, description },
  };
}

export const DELETE_ARGS = ['/Delete', '/TN', STARTUP_NAME, '/F'];

/** The tools an install runs. */
export interface StartupTools {
  schtasks: ToolRunner;
  /** cscript, for the install's own scripts. */
  scripts: ScriptRunner;
}

export interface InstallResult {
  via: StartupVia;
  /** The task's refusal, when the install fell back to the Startup folder. */
  taskRefused?: ToolResult;
  /** What an earlier install left that this one removed. */
  replaced: string[];
}

/** Thrown when the task was asked for explicitly and schtasks refused it. */
export class TaskRefusedError extends Error {
  override name = 'TaskRefusedError';
  readonly code = 'task_refused';

  constructor(readonly result: ToolResult) {
    super(`schtasks refused the task (exit ${result.code ?? 'none'}): ${result.output || 'no output'}`);
  }
}

/** Thrown when the Startup folder's shortcut could not be written. */
export class ShortcutFailedError extends Error {
  override name = 'ShortcutFailedError';
  readonly code = 'shortcut_failed';

  constructor(
    readonly file: string,
    readonly result: ToolResult,
  ) {
    super(`could not write the shortcut ${file} (cscript exit ${result.code ?? 'none'}${result.output ? `: ${result.output}` : ''})`);
  }
}

/**
 * Write the launcher and register it. `via` undefined: the task, else the Startup folder.
 * Throws ScriptHostError when scripts cannot run at all (the launcher is one), and
 * TaskRefusedError when `via` is 'task' and schtasks refuses.
 */
export async function installStartup(plan: StartupPlan, tools: StartupTools, via?: StartupVia): Promise<InstallResult> {
  const { paths } = plan;
  mkdirSync(path.dirname(paths.launcher), { recursive: true });
  await probeScriptHost(tools.scripts, besideLauncher(paths, 'probe.vbs'));
  writeFileSync(paths.launcher, launcherBytes(plan.launcherText));
  const replaced: string[] = [];
  let taskRefused: ToolResult | undefined;
  if (via !== 'startup-folder') {
    writeFileSync(plan.taskXmlFile, utf16Bytes(plan.taskXml));
    const created = await tools.schtasks(plan.createArgs);
    if (created.code === 0) {
      if (removeFile(paths.startupEntry)) replaced.push(`the Startup folder shortcut ${paths.startupEntry}`);
      return { via: 'task', replaced };
    }
    rmSync(plan.taskXmlFile, { force: true });
    if (via === 'task') throw new TaskRefusedError(created);
    taskRefused = created;
  }
  // A task of an earlier install would start a second bridge beside the shortcut.
  if ((await tools.schtasks(DELETE_ARGS)).code === 0) replaced.push(`the Task Scheduler task ${STARTUP_NAME}`);
  mkdirSync(paths.startupFolder, { recursive: true });
  rmSync(paths.startupEntry, { force: true });
  const made = await createShortcut(plan.shortcut, tools.scripts, besideLauncher(paths, 'shortcut.vbs'));
  if (made.code !== 0 || !existsSync(paths.startupEntry)) throw new ShortcutFailedError(paths.startupEntry, made);
  return { via: 'startup-folder', taskRefused, replaced };
}

export interface UninstallResult {
  /** What was removed, in words. */
  removed: string[];
  /** schtasks' answer to the delete. */
  taskDelete: ToolResult;
}

/** Remove the task, the Startup folder shortcut and the launcher; logs are left. */
export async function uninstallStartup(paths: StartupPaths, schtasks: ToolRunner): Promise<UninstallResult> {
  const removed: string[] = [];
  const taskDelete = await schtasks(DELETE_ARGS);
  if (taskDelete.code === 0) removed.push(`the Task Scheduler task ${STARTUP_NAME}`);
  if (removeFile(paths.startupEntry)) removed.push(`the Startup folder shortcut ${paths.startupEntry}`);
  if (removeFile(paths.launcher)) removed.push(`the launcher ${paths.launcher}`);
  removeFile(besideLauncher(paths, TASK_XML));
  return { removed, taskDelete };
}

/** Remove a file; whether it was there. */
function removeFile(file: string): boolean {
  if (!existsSync(file)) return false;
  rmSync(file, { force: true });
  return true;
}
