/** `bridge logs`: placeholder, being written. */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function logsCommand(): Command {
  return new Command('logs').description('(not written yet)').action(() => {
    throw new CliError('bridge logs: not written yet');
  });
}
