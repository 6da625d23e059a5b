/**
 * What every `bridge` process does whichever way it reads its command line (program.ts
 * with commander, plain-entry.ts without): survive a closed output, record a crash, and
 * report a failed command as one line and an exit code.
 */
import { RpcError } from '../src/protocol/errors.js';
import { CliError } from './cli-error.js';
import { logFatal } from './log-file.js';
import { leaveAll } from './open-clients.js';

let guarded = false;

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
    // Any other failure (a full disk under `bridge sub ... > log.txt`) ends the command
    // with one line, as a failed command does, not with a stack trace.
    if (stream === process.stdout) process.stderr.write(`bridge: cannot write the output: ${err.message}\n`);
    logFatal(`cannot write the output: ${err.message}`);
    const exit = (): never => process.exit(1);
    leaveAll().then(exit, exit);
  });
}

/** Guard this process's output and record its crashes; once per process. */
export function guardCliProcess(): void {
  if (guarded) return;
  guarded = true;
  surviveClosedOutput(process.stdout);
  surviveClosedOutput(process.stderr);
  // A crash of a bridge nobody watches must still say why where someone will look: the
  // monitor only observes, Node's own report and exit follow unchanged.
  process.on('uncaughtExceptionMonitor', (err) => logFatal(`crashed: ${err.stack ?? String(err)}`));
}

/**
 * Report a command's failure on stderr (and in the log file) and set the exit code, once
 * its broker connections have been left: a session left behind would outlive the command.
 */
export async function reportCliFailure(err: unknown): Promise<void> {
  await leaveAll();
  if (err instanceof CliError) {
    process.stderr.write(`bridge: ${err.message}\n`);
    logFatal(err.message);
    process.exitCode = err.exitCode;
    return;
  }
  if (err instanceof RpcError) {
    // The broker's refusal (a permission, a limit) says what happened; its stack does not.
    process.stderr.write(`bridge: ${err.message} (error ${err.code})\n`);
    logFatal(`${err.message} (error ${err.code})`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`bridge: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  logFatal(`unexpected error: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
}
