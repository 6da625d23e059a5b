/**
 * `bridge run <script.ahk>`: its arguments, flags and help; the work is in run.ts, loaded
 * when it runs. Everyday lines are read without this (run-flags.ts).
 */
import { Command, Option } from 'commander';
import { DEFAULT_STOP_GRACE } from '../bridge-config.js';
import { withHttpFlag, withLogFileFlag, withLogFlags } from '../connect-flags.js';
import { DEFAULT_READY_TIMEOUT } from '../supervisor/ready-gate.js';
import { RESTART_MODES } from '../supervisor/restart-policy.js';
import type { RunFlags } from './run.js';
import { DEFAULT_OUTPUT_ENCODING } from './run-flags.js';

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('run an AutoHotkey script under the broker: its output becomes messages, command topics go to its stdin')
    .argument('<script>', 'the .ahk script')
    .argument('[args...]', 'arguments for the script (put them after --)')
    .option('-k, --key <key>', 'topic key: events go to scripts.<key>.* (default: the script name)')
    .option('--ahk <path>', 'AutoHotkey interpreter (env AHK_PATH; found automatically on Windows)')
    .option('-e, --encoding <name>', "encoding of the script's output: utf-8, cp1252, ...", DEFAULT_OUTPUT_ENCODING)
    .addOption(new Option('-r, --restart <mode>', 'restart policy (default on-failure; timings from --config "restart")').choices([...RESTART_MODES]))
    .option('--stop-grace <seconds>', 'time the script gets to exit after the exit command', String(DEFAULT_STOP_GRACE))
    .option('--ready-timeout <seconds>', 'how long commands wait for the script to print @ready', String(DEFAULT_READY_TIMEOUT))
    .option('-c, --config <file>', 'bridge.config.json (interpreter, broker options, restart timings, queues)')
    .option('-Q, --queue <file>', 'also publish a legacy FileAppend queue file (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--watch', 'restart the script when it or a file it #Includes is saved; keep running after it ends')
    .option('-H, --host <host>', 'broker host (env BROKER_HOST, default localhost)')
    .option('-p, --port <port>', 'broker port (env BROKER_PORT, default 15234)')
    .option('--token <token>', 'broker token (env BROKER_TOKEN)');
  withHttpFlag(cmd);
  withLogFlags(cmd, 'info');
  withLogFileFlag(cmd);
  cmd.addHelpText('after', '\nExample:\n  bridge run scripts/cad_hotkeys.ahk --key cad -- --job 12345');
  cmd.action(async (script: string, args: string[], flags: RunFlags) => (await import('./run.js')).runRun(script, args, flags));
  return cmd;
}
