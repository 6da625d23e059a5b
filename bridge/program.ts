/**
 * The `bridge` command, loaded by bridge/cli.ts. Each subcommand's arguments, flags and help are in
 * bridge/commands/<name>-command.ts, its work in bridge/commands/<name>.ts, which is
 * imported only when that subcommand runs: `bridge broker` must not carry the supervisor,
 * file IPC or the status page (issue 15: idle memory). This file only assembles the
 * definitions (only the running command's: command-definitions.ts) and turns errors into
 * a message and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../src/version.js';
import { CliError } from './cli-error.js';
import { logFatal } from './log-file.js';
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

async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv.slice(2))).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`bridge: ${err.message}\n`);
      logFatal(err.message);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`bridge: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    logFatal(`unexpected error: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  }
}

/**
 * A parent that reads our output (Python's AHKBridge and MessageBroker) may be gone before
 * we are: writes to its closed pipe fail with EPIPE. A bridge started with no console at
 * all (hidden at logon, where Windows gives it none) has no valid stdout: EBADF. Losing
 * those lines is expected then; dying of an unhandled 'error' event before the scripts
 * are stopped is not.
 */
function surviveClosedOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'EBADF' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

surviveClosedOutput(process.stdout);
surviveClosedOutput(process.stderr);
// A crash of a bridge nobody watches must still say why where someone will look: the
// monitor only observes, Node's own report and exit follow unchanged.
process.on('uncaughtExceptionMonitor', (err) => logFatal(`crashed: ${err.stack ?? String(err)}`));
// Not awaited at the top level: bridge.exe runs this as CommonJS (tools/package-win.mjs),
// which has no top-level await. main() reports its own errors; this catch is the last resort.
main(process.argv).catch((err: unknown) => {
  process.stderr.write(`bridge: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
