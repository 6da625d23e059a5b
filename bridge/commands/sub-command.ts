/** `bridge sub PATTERN...`: its arguments, flags and help; the work is in sub.ts, loaded when it runs. */
import { Command, Option } from 'commander';
import { withConnectFlags } from '../connect-flags.js';
import { FORMAT_HELP } from '../message-format.js';
import type { SubFlags } from './sub.js';

/** The exit code of `bridge sub -W` when the time runs out (mosquitto_sub's). */
export const TIMEOUT_EXIT_CODE = 27;

export function subCommand(): Command {
  const cmd = new Command('sub')
    .description('print messages matching the patterns until Ctrl+C (e.g. bridge sub "scripts.#" "jobs.*")')
    .argument('<patterns...>', 'topic patterns: exact, * or + for one level, # for any depth (one pattern per argument)')
    .option('--json', 'one JSON object per line with sender, timestamp, message_id, qos')
    .option('-F, --format <format>', 'print each message with this pattern (placeholders below)')
    .option('-C, --count <n>', 'exit 0 after receiving this many messages')
    .addOption(new Option('-n <n>', 'same as --count').hideHelp())
    .option('-W, --timeout <seconds>', `exit ${TIMEOUT_EXIT_CODE} if still running after this long (with --count: the time for all of them)`)
    .option('-v, --verbose', 'accepted for mosquitto_sub habits; the topic is always printed');
  withConnectFlags(cmd).addHelpText(
    'after',
    `
Each message is printed as "topic payload" (the payload as JSON), or as --json or --format says.
Exits 0 after --count messages or on Ctrl+C, ${TIMEOUT_EXIT_CODE} when --timeout runs out, 1 on an error.

${FORMAT_HELP}`,
  );
  cmd.action(async (patterns: string[], flags: SubFlags) => (await import('./sub.js')).runSub(patterns, flags));
  return cmd;
}
