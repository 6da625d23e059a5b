/**
 * `bridge install-startup` / `bridge uninstall-startup`: a logon entry that runs
 * `bridge up` hidden, and its removal. Their flags are in startup-command.ts.
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { isSea } from 'node:sea';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runTool } from '../startup/run-tool.js';
import { scriptRunner, ScriptHostError } from '../startup/script-host.js';
import { schtasksProgram } from '../startup/schtasks.js';
import { DELETE_ARGS, installStartup, planStartup, ShortcutFailedError, TaskRefusedError, uninstallStartup, type InstallResult, type StartupPlan, type StartupVia } from '../startup/startup-entry.js';
import { STARTUP_NAME, startupPaths } from '../startup/startup-paths.js';
import { windowsCommandLine } from '../startup/windows-command-line.js';
import { loadRunnableConfig } from './up.js';

export interface InstallStartupFlags {
  config: string;
  ahk?: string;
  logFile?: string;
  via?: StartupVia;
  dryRun?: boolean;
}

export interface UninstallStartupFlags {
  dryRun?: boolean;
}

function refuseOffWindows(): void {
  if (process.platform === 'win32') return;
  throw new CliError('install-startup and uninstall-startup set up a Windows logon: run them on the Windows PC (bridge.exe install-startup). Elsewhere, start `bridge up` from a systemd user unit or your desktop\'s autostart.');
}

/** This program as a command: bridge.exe alone, or node and the CLI script. */
function selfArgv(): string[] {
  return isSea() ? [process.execPath] : [process.execPath, path.resolve(process.argv[1] ?? '')];
}

/** The Startup folder shortcut, in words. */
function shortcutLine(plan: StartupPlan): string {
  const { shortcut } = plan;
  return `write the shortcut ${shortcut.file} to ${windowsCommandLine([shortcut.target])} ${shortcut.arguments} (in ${shortcut.workingDirectory})`;
}

function describePlan(plan: StartupPlan, logFile: string): string {
  const { paths, launcher } = plan;
  return [
    `  runs:      ${windowsCommandLine(launcher.argv)}`,
    `  in:        ${launcher.cwd}`,
    `  hidden by: ${windowsCommandLine([paths.wscript, paths.launcher])}`,
    `  logs:      ${logFile}`,
  ].join('\n');
}

export async function runInstallStartup(flags: InstallStartupFlags, cmd: Command): Promise<void> {
  refuseOffWindows();
  const config = path.resolve(flags.config);
  // A config that cannot run would fail, unseen, at every logon: refuse it now.
  const { config: loaded } = await loadRunnableConfig(flags.config, cmd.getOptionValueSource('config') === 'default', flags.ahk);
  const paths = startupPaths();
  const logFile = path.resolve(flags.logFile ?? paths.logFile);
  // The interpreter as found now: an AHK_PATH set only in this shell is gone at logon.
  const ahk = flags.ahk ?? (loaded.interpreter === undefined ? process.env.AHK_PATH || undefined : undefined);
  const argv = [...selfArgv(), 'up', '--config', config, '--log-file', logFile, ...(ahk ? ['--ahk', path.resolve(ahk)] : [])];
  const plan = planStartup(paths, { argv, cwd: path.dirname(config), config });
  const out = process.stdout;
  if (flags.dryRun) {
    out.write(`dry run: nothing is written or registered. \`bridge install-startup\` would:\n\n`);
    out.write(`1. check that Windows Script Host runs scripts (${windowsCommandLine([paths.cscript, '//nologo'])} on a one-line probe)\n`);
    out.write(`2. write the launcher ${paths.launcher}:\n\n${indent(plan.launcherText)}\n`);
    if (flags.via !== 'startup-folder') {
      out.write(`3. write the task definition ${plan.taskXmlFile} (UTF-16):\n\n${indent(plan.taskXml)}\n`);
      out.write(`4. register it: ${windowsCommandLine([schtasksProgram(), ...plan.createArgs])}\n`);
      if (flags.via !== 'task') out.write(`   and if that is refused, ${shortcutLine(plan)}\n`);
    } else {
      out.write(`3. ${shortcutLine(plan)}\n`);
    }
    out.write(`\nAt logon of ${paths.user} it\n${describePlan(plan, logFile)}\n`);
    return;
  }
  checkLogFile(logFile);
  let result: InstallResult;
  try {
    result = await installStartup(plan, { schtasks: runTool(schtasksProgram()), scripts: scriptRunner(runTool(paths.cscript)) }, flags.via);
  } catch (err) {
    if (err instanceof TaskRefusedError) throw new CliError(`${err.message}\n--via startup-folder uses your Startup folder instead, which needs no Task Scheduler rights.`);
    if (err instanceof ScriptHostError || err instanceof ShortcutFailedError) throw new CliError(err.message);
    throw err;
  }
  if (result.taskRefused) {
    process.stderr.write(`bridge: the Task Scheduler refused the logon task (schtasks exit ${result.taskRefused.code ?? 'none'}: ${result.taskRefused.output || 'no output'}); using your Startup folder instead\n`);
  }
  const how =
    result.via === 'task'
      ? `Task Scheduler task "${STARTUP_NAME}" (at your logon, your own rights, no time limit; definition in ${plan.taskXmlFile})`
      : `Startup folder shortcut ${paths.startupEntry}`;
  out.write(`installed: \`bridge up\` starts hidden at logon of ${paths.user}\n  how:       ${how}\n${describePlan(plan, logFile)}\n`);
  for (const r of result.replaced) out.write(`  replaced:  ${r} (from an earlier install)\n`);
  const startNow = result.via === 'task' ? `schtasks /Run /TN ${STARTUP_NAME}` : windowsCommandLine([paths.wscript, paths.launcher]);
  // `bridge down` must reach the broker the config names.
  const where = [loaded.broker.host ? `--host ${loaded.broker.host}` : '', loaded.broker.port ? `--port ${loaded.broker.port}` : ''].filter(Boolean).join(' ');
  out.write(`Start it now: ${startNow}   Stop it: bridge down${where ? ` ${where}` : ''}   Remove it: bridge uninstall-startup\n`);
}

export async function runUninstallStartup(flags: UninstallStartupFlags): Promise<void> {
  refuseOffWindows();
  const paths = startupPaths();
  if (flags.dryRun) {
    process.stdout.write(
      `dry run: nothing is removed. \`bridge uninstall-startup\` would:\n` +
        `1. run ${windowsCommandLine([schtasksProgram(), ...DELETE_ARGS])}\n` +
        `2. remove ${paths.startupEntry}${existsSync(paths.startupEntry) ? '' : ' (not there now)'}\n` +
        `3. remove ${paths.launcher}${existsSync(paths.launcher) ? '' : ' (not there now)'}\n` +
        `Logs in ${path.dirname(paths.logFile)} are kept.\n`,
    );
    return;
  }
  const { removed, taskDelete } = await uninstallStartup(paths, runTool(schtasksProgram()));
  // schtasks says "not found" and "access denied" with the same exit code: its own words
  // tell the user which, whenever no task was removed.
  const taskSaid = `schtasks /Delete said: ${taskDelete.output || `exit ${taskDelete.code ?? 'none'}`}`;
  if (removed.length === 0) {
    process.stdout.write(`nothing to remove: no logon entry of ahk-bridge was found (${taskSaid})\n`);
    return;
  }
  process.stdout.write(`removed: ${removed.join('; ')}\n`);
  if (taskDelete.code !== 0) process.stdout.write(`no Task Scheduler task was removed (${taskSaid})\n`);
  process.stdout.write(`A bridge running now keeps running until \`bridge down\` or logoff. Logs in ${path.dirname(paths.logFile)} are kept.\n`);
}

/** The log file must be writable now: at logon, nobody would see why it is not. */
function checkLogFile(file: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    closeSync(openSync(file, 'a'));
  } catch (err) {
    throw new CliError(`cannot write the log file ${file}: ${(err as Error).message}; give another with --log-file`);
  }
}

const indent = (text: string): string => text.replace(/\r\n/g, '\n').replace(/^(?=.)/gm, '    ');
