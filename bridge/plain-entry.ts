/**
 * Where every `bridge` command starts (cli.ts loads it). `bridge broker ...`, `bridge
 * tail ...` and `bridge run ...`, the commands that run for days, are started without
 * commander when their flag tables (commands/broker-flags.ts, commands/tail-flags.ts,
 * commands/run-flags.ts) can read the command line, so that the process does not hold
 * commander for as long as it runs, and so is `bridge pub ...` (commands/pub-flags.ts),
 * which scripts start once per message; every other line goes to the program
 * (program.ts): the other commands, help, `--http`, short flags run together, mistakes.
 */
import { CliError } from './cli-error.js';
import { guardCliProcess, reportCliFailure } from './cli-process.js';

/**
 * Run the `bridge` command the process's arguments name.
 * @param argv the whole `process.argv` (node, script, command, arguments...)
 */
export async function runPlainCommand(argv: readonly string[]): Promise<void> {
  const habit = hostAsHelpFlag(argv.slice(2));
  if (habit) {
    guardCliProcess();
    await reportCliFailure(new CliError(habit));
    return;
  }
  const run = await plainRun(argv[2], argv.slice(3));
  if (run === null) {
    await (await import('./program.js')).runProgram(argv);
    return;
  }
  guardCliProcess();
  try {
    await run();
  } catch (err) {
    await reportCliFailure(err);
  }
}

/**
 * mosquitto_pub and mosquitto_sub take the broker's host as `-h`; here `-h` is help (and
 * the host `-H`), so `bridge pub -h 10.0.0.5 jobs.x 1` printed the help, published
 * nothing and exited 0, which a script takes for success. `-h` followed by a value is
 * that habit: the words to say, or null.
 */
function hostAsHelpFlag(args: readonly string[]): string | null {
  const at = args.indexOf('-h');
  if (at < 0 || at + 1 >= args.length || args[at + 1]!.startsWith('-') || args.includes('--')) return null;
  return `-h is --help here; the broker's host is -H (--host): e.g. bridge ${[...args.slice(0, at), '-H', args[at + 1]].join(' ')} ...`;
}

/**
 * Command `name` with `args` read without commander, ready to run; null when commander
 * must read them. Each command's modules load only for it: a tail must not load the
 * broker's configuration, nor a broker file IPC.
 */
async function plainRun(name: string | undefined, args: readonly string[]): Promise<(() => Promise<void>) | null> {
  switch (name) {
    case 'broker': {
      const flags = (await import('./commands/broker-flags.js')).parseBrokerFlags(args);
      return flags && (async () => (await import('./commands/broker.js')).runBroker(flags));
    }
    case 'tail': {
      const line = (await import('./commands/tail-flags.js')).parseTailLine(args);
      return line && (async () => (await import('./commands/tail.js')).runTail(line.file, line.flags));
    }
    case 'pub': {
      const line = (await import('./commands/pub-flags.js')).parsePubLine(args);
      return line && (async () => (await import('./commands/pub.js')).runPub(line.topic, line.payload, line.flags));
    }
    case 'run': {
      const line = (await import('./commands/run-flags.js')).parseRunLine(args);
      return line && (async () => (await import('./commands/run.js')).runRun(line.script, line.args, line.flags));
    }
    default:
      return null;
  }
}
