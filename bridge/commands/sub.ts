/**
 * `bridge sub PATTERN...`: print every matching message, one line each, like
 * `mosquitto_sub -v` (`topic payload`), one JSON object per line with `--json`, or a
 * `--format` of your own. `-C` stops after a count, `-W` after a time (exit 27, as
 * mosquitto_sub does). Its arguments and flags are in sub-command.ts; this module loads
 * when the command runs.
 */
import type { Message } from '../../src/client/index.js';
import type { ConnectFlags } from '../connect-options.js';
import { CliError } from '../cli-error.js';
import { Listener } from '../listener.js';
import { FormatError, compileFormat, formatMessage } from '../message-format.js';
import { checkPatternArgs } from '../topic-args.js';
import { TIMEOUT_EXIT_CODE } from './sub-command.js';
import { secondsFlag, wholeNumberFlag } from '../number-flags.js';

export { formatMessage } from '../message-format.js';

export interface SubFlags extends ConnectFlags {
  json?: boolean;
  count?: string;
  n?: string;
  timeout?: string;
  verbose?: boolean;
  format?: string;
}

/** A positive whole number from a flag, or `undefined` when the flag is absent. */
export function parseCount(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : wholeNumberFlag(value, flag);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Run `bridge sub` with its parsed arguments. */
export async function runSub(patterns: string[], flags: SubFlags): Promise<void> {
  if (flags.count !== undefined && flags.n !== undefined) throw new CliError('give the count once: -C/--count or -n');
  const limit = parseCount(flags.count ?? flags.n, flags.count !== undefined ? '--count' : '-n') ?? Infinity;
  const timeout = flags.timeout === undefined ? undefined : secondsFlag(flags.timeout, '--timeout');
  if (flags.json && flags.format !== undefined) throw new CliError('use either --json or --format, not both');
  let line = (m: Message): string => formatMessage(m, flags.json ?? false);
  if (flags.format !== undefined) {
    try {
      line = compileFormat(flags.format);
    } catch (err) {
      if (err instanceof FormatError) throw new CliError(`invalid --format ${JSON.stringify(flags.format)}: ${err.message}`);
      throw err;
    }
  }
  checkPatternArgs(patterns);

  const listener = new Listener('sub');
  let received = 0;
  if (timeout !== undefined) {
    // Unref'd: the connection keeps the process alive; a failed start must not wait for this.
    setTimeout(() => {
      const got = limit === Infinity ? plural(received, 'message') : `${received} of ${plural(limit, 'message')}`;
      listener.finishSoon(TIMEOUT_EXIT_CODE, `timed out after ${timeout} s with ${got}`);
    }, timeout * 1000).unref();
  }
  await listener.start(flags, patterns, (message) => {
    if (received >= limit) return undefined;
    received++;
    process.stdout.write(line(message) + '\n');
    if (received >= limit) listener.finishSoon(0);
    return undefined;
  });
  // On stderr, so piped output stays messages only; also tells scripts when it listens.
  if (!listener.stopping) listener.note(`listening on ${patterns.join(', ')} (Ctrl+C to stop)`);
}
