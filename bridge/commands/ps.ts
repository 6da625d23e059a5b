/** `bridge ps`: placeholder, being written. */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function psCommand(): Command {
  return new Command('ps').description('(not written yet)').action(() => {
    throw new CliError('bridge ps: not written yet');
  });
}
