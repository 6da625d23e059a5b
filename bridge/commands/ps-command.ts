/** `bridge ps` (alias `ls`): its flags and help; the work is in ps.ts, loaded when it runs. */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import type { PsFlags } from './ps.js';

export function psCommand(): Command {
  const cmd = new Command('ps')
    .alias('ls')
    .description('list the scripts of every bridge on the broker: state, pid, uptime, restarts, last exit')
    .option('--json', 'print a JSON array: each script\'s status with the "bridge" that supervises it')
    .option('-w, --watch', 'keep the table up to date until Ctrl+C (piped: a new table on each change)');
  withConnectFlags(cmd).action(async (flags: PsFlags) => (await import('./ps.js')).runPs(flags));
  cmd.addHelpText(
    'after',
    `
Columns: KEY, STATE, PID, UPTIME, RESTARTS, LAST EXIT (reason and exit code), SCRIPT,
BRIDGE (the client id of the bridge that supervises it: "bridge" for bridge up,
"bridge.<key>" for bridge run).`,
  );
  return cmd;
}
