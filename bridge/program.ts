/**
 * The `bridge` command read with commander, loaded by bridge/cli.ts (and by
 * plain-entry.ts for the `bridge broker` and `bridge tail` lines it leaves to
 * commander). Each subcommand's arguments, flags and help are in
 * bridge/commands/<name>-command.ts, its work in bridge/commands/<name>.ts, which is
 * imported only when that subcommand runs: `bridge broker` must not carry the supervisor,
 * file IPC or the status page (issue 15: idle memory). This file only assembles the
 * definitions (only the running command's: command-definitions.ts) and runs the command;
 * cli-process.ts turns errors into a message and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../src/version.js';
import { guardCliProcess, reportCliFailure } from './cli-process.js';
import { commandsFor } from './command-definitions.js';

/**
 * The program for a process started with `argv` (the arguments after the script): every
 * command's options and help, or only the named command's (command-definitions.ts).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('bridge')
    .description('Local message broker and AutoHotkey bridge for Windows desktop automation')
    .version(VERSION, '-v, --version')
    // Options after a command name are that command's: `bridge sub -v` is sub's -v (as in
    // mosquitto_sub), not the version.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const commands = await commandsFor(argv);
  for (const cmd of commands) {
    program.addCommand(cmd.showHelpAfterError('(run with --help for usage)').exitOverride());
  }
  program.addHelpText(
    'after',
    `
Examples:
  bridge demo                                    see the whole flow in one command
  bridge broker                                  run the broker on localhost:15234
  bridge sub "jobs.*" "scripts.#"                print matching messages
  bridge pub jobs.activated '{"job_id":"12345"}' publish one message
  bridge request status                          ask the broker for its status
  bridge run scripts/cad_hotkeys.ahk --key cad   supervise an AutoHotkey script
  bridge tail C:/temp/broker_queue.txt           publish a legacy FileAppend queue`,
  );
  return program;
}

/**
 * Read the command line with commander and run the command.
 * @param argv the whole `process.argv` (node, script, command, ...)
 */
export async function runProgram(argv: readonly string[]): Promise<void> {
  guardCliProcess();
  try {
    await (await buildProgram(argv.slice(2))).parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode;
      return;
    }
    await reportCliFailure(err);
  }
}
