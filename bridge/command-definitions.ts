/**
 * Where each `bridge` subcommand's definition lives, by the names it answers to, in the
 * order `bridge --help` lists them.
 *
 * A process runs one subcommand, so it loads that one's definition only: the others
 * import their own helpers (the supervisor's restart policy, the tail's options, ...),
 * and loading all nineteen cost every process about 0.4 MB of memory, a long-running
 * `bridge broker` or `bridge run` included. Anything else on the command line (no
 * subcommand, `help`, a misspelt name, an option first) loads them all, so that help
 * and "did you mean" see every command.
 */
import type { Command } from 'commander';

type Definitions = () => Promise<Command[]>;

/** Names (aliases included) and the definitions that answer to them. */
export const COMMAND_DEFINITIONS: ReadonlyArray<{ readonly names: readonly string[]; readonly load: Definitions }> = [
  { names: ['broker'], load: async () => [(await import('./commands/broker-command.js')).brokerCommand()] },
  { names: ['pub'], load: async () => [(await import('./commands/pub-command.js')).pubCommand()] },
  { names: ['sub'], load: async () => [(await import('./commands/sub-command.js')).subCommand()] },
  { names: ['request'], load: async () => [(await import('./commands/request-command.js')).requestCommand()] },
  { names: ['reply'], load: async () => [(await import('./commands/reply-command.js')).replyCommand()] },
  { names: ['status'], load: async () => [(await import('./commands/status-command.js')).statusCommand()] },
  { names: ['run'], load: async () => [(await import('./commands/run-command.js')).runCommand()] },
  { names: ['up'], load: async () => [(await import('./commands/up-command.js')).upCommand()] },
  { names: ['down'], load: async () => [(await import('./commands/down-command.js')).downCommand()] },
  { names: ['ps', 'ls'], load: async () => [(await import('./commands/ps-command.js')).psCommand()] },
  { names: ['logs'], load: async () => [(await import('./commands/logs-command.js')).logsCommand()] },
  {
    names: ['start', 'stop', 'restart'],
    load: async () => (await import('./commands/script-control-command.js')).scriptControlCommands(),
  },
  { names: ['init'], load: async () => [(await import('./commands/init-command.js')).initCommand()] },
  { names: ['lib'], load: async () => [(await import('./commands/lib-command.js')).libCommand()] },
  {
    names: ['install-startup', 'uninstall-startup'],
    load: async () => (await import('./commands/startup-command.js')).startupCommands(),
  },
  { names: ['tail'], load: async () => [(await import('./commands/tail-command.js')).tailCommand()] },
  { names: ['demo'], load: async () => [(await import('./commands/demo-command.js')).demoCommand()] },
];

/**
 * The definitions a process started with these arguments needs: the named subcommand's
 * alone when `argv[0]` names one, else all of them.
 * @param argv the arguments after the script (`process.argv.slice(2)`)
 */
export async function commandsFor(argv: readonly string[]): Promise<Command[]> {
  const named = COMMAND_DEFINITIONS.find((entry) => entry.names.includes(argv[0] ?? ''));
  if (named) return named.load();
  return (await Promise.all(COMMAND_DEFINITIONS.map((entry) => entry.load()))).flat();
}
