/**
 * `bridge start|stop|restart KEY`: their arguments, flags and help; the work is in
 * script-control.ts, loaded when one of them runs.
 */
import { Command } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import type { ScriptOp as Op } from '../script-ops.js';
import type { ControlFlags } from './script-control.js';

const DESCRIPTIONS: Record<Op, string> = {
  start: 'start a stopped script (on whichever bridge supervises it)',
  stop: 'stop a script: it gets the exit command, then its process tree is killed after its stop grace',
  restart: 'stop a script and start it again',
};

function controlCommand(op: Op): Command {
  const cmd = new Command(op)
    .description(DESCRIPTIONS[op])
    .argument('<key>', 'the script key (bridge ps lists them)')
    .option('-t, --timeout <seconds>', 'how long to wait for the bridge to answer (a stop waits for the stop grace)', '30');
  return withConnectFlags(cmd).action(async (key: string, flags: ControlFlags) => (await import('./script-control.js')).runControl(op, key, flags));
}

/** `bridge start`, `bridge stop` and `bridge restart`. */
export function scriptControlCommands(): Command[] {
  return (['start', 'stop', 'restart'] as const).map(controlCommand);
}
