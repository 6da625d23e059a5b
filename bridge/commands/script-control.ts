/** `bridge start|stop|restart KEY`: placeholder, being written. */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function scriptControlCommands(): Command[] {
  return ['start', 'stop', 'restart'].map((op) =>
    new Command(op).description('(not written yet)').action(() => {
      throw new CliError(`bridge ${op}: not written yet`);
    }),
  );
}
