/** `bridge demo`: its flags and help; the work is in demo.ts, loaded when it runs. */
import { Command } from 'commander';
import { withLogFlags } from '../connect-flags.js';
import type { DemoFlags } from './demo.js';

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .description('see the whole flow: broker, an AutoHotkey script under the bridge, events and requests')
    .option('-H, --host <host>', 'broker host (default localhost)')
    .option('-p, --port <port>', 'broker port (default 15234; joins a broker already running there)')
    .option('--ahk <path>', 'AutoHotkey interpreter (default: found automatically, else a stand-in)')
    .option('-n, --events <count>', 'stop after this many hotkey events', '2')
    .option('--keep', 'keep running until Ctrl+C');
  withLogFlags(cmd, 'warning');
  cmd.action(async (flags: DemoFlags) => (await import('./demo.js')).runDemo(flags));
  return cmd;
}
