/**
 * `bridge install-startup` and `bridge uninstall-startup`: their flags and help; the work
 * is in startup.ts, loaded when one of them runs.
 */
import { Command, Option } from 'commander';
import type { InstallStartupFlags, UninstallStartupFlags } from './startup.js';

export function startupCommands(): Command[] {
  const install = new Command('install-startup')
    .description('start `bridge up` at your Windows logon, with no console window (Task Scheduler, or the Startup folder)')
    .option('-c, --config <file>', 'the bridge config file it runs', 'bridge.config.json')
    .option('--ahk <path>', 'AutoHotkey interpreter for it to use (overrides the config)')
    .option('--log-file <file>', 'where it logs (default %LOCALAPPDATA%\\ahk-bridge\\logs\\bridge.log)')
    .addOption(new Option('--via <how>', 'task: a Task Scheduler task; startup-folder: a launcher in your Startup folder (default: the task, else the folder)').choices(['task', 'startup-folder']))
    .option('-n, --dry-run', 'print exactly what would be written and registered, and change nothing')
    .addHelpText(
      'after',
      `
It runs as you, at your logon, in your desktop session: AutoHotkey's hotkeys, windows and
Send need that, which is why this is not a Windows service (services run in session 0).
The config is checked now as \`bridge up\` would check it. Run it again to change the
config; \`bridge down\` stops the running bridge; \`bridge uninstall-startup\` removes it.`,
    )
    .action(async (flags: InstallStartupFlags) => (await import('./startup.js')).runInstallStartup(flags, install));
  const uninstall = new Command('uninstall-startup')
    .description('stop starting `bridge up` at logon (removes the task or Startup folder entry; logs are kept)')
    .option('-n, --dry-run', 'print what would be removed, and change nothing')
    .action(async (flags: UninstallStartupFlags) => (await import('./startup.js')).runUninstallStartup(flags));
  return [install, uninstall];
}
