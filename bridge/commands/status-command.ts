/** `bridge status`: its flags and help; the work is in status.ts, loaded when it runs. */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import type { StatusFlags } from './status.js';

export function statusCommand(): Command {
  const cmd = new Command('status').description("show the broker's status and connected clients").option('--json', 'print the raw status as JSON');
  return withConnectFlags(cmd).action(async (flags: StatusFlags) => (await import('./status.js')).runStatus(flags));
}
