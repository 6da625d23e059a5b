/** `bridge init`: placeholder, being written. */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function initCommand(): Command {
  return new Command('init').description('(not written yet)').action(() => {
    throw new CliError('bridge init: not written yet');
  });
}
