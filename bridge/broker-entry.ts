/**
 * `bridge broker ...`: started without commander when commands/broker-flags.ts can read
 * the command line (the broker then holds about 1 MB less for as long as it runs), by the
 * program (program.ts) otherwise: help, `--http`, mistakes.
 */
import { guardCliProcess, reportCliFailure } from './cli-process.js';
import { parseBrokerFlags } from './commands/broker-flags.js';

/**
 * Run `bridge broker` with the process's arguments.
 * @param argv the whole `process.argv` (node, script, `broker`, flags...)
 */
export async function runBrokerCommand(argv: readonly string[]): Promise<void> {
  const flags = parseBrokerFlags(argv.slice(3));
  if (flags === null) {
    await (await import('./program.js')).runProgram(argv);
    return;
  }
  guardCliProcess();
  try {
    await (await import('./commands/broker.js')).runBroker(flags);
  } catch (err) {
    reportCliFailure(err);
  }
}
