/** `bridge down [ID]`: its arguments, flags and help; the work is in down.ts, loaded when it runs. */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import type { DownFlags } from './down.js';

export function downCommand(): Command {
  const cmd = new Command('down')
    .description('stop a running `bridge up` (its scripts, queues and, when it hosts it, the broker), as Ctrl+C in its console would')
    .argument('[id]', 'the client id of the bridge to stop (its --client-id)', 'bridge')
    .option('-t, --timeout <seconds>', 'how long to wait, in all, for it to answer and to finish stopping its scripts', '60');
  cmd.addHelpText('after', '\nFor a bridge started hidden at logon (bridge install-startup), this is the way to stop it.');
  return withConnectFlags(cmd).action(async (id: string, flags: DownFlags) => (await import('./down.js')).runDown(id, flags));
}
