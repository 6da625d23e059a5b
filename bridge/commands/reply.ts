/** `bridge reply`: placeholder, being written. */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function replyCommand(): Command {
  return new Command('reply').description('(not written yet)').action(() => {
    throw new CliError('bridge reply: not written yet');
  });
}
