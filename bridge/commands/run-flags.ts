/**
 * `bridge run`'s flags as data, and the reader of its everyday command lines that does
 * without commander (plain-command-line.ts).
 *
 * `bridge run` is one process per supervised script, running as long as the script does,
 * started from a shortcut or at logon with the same line every time; commander, loaded to
 * read that line, would stay in memory all that while. An everyday line (the script, long
 * flags, the short aliases below as separate arguments, and the script's own arguments
 * after `--`) is read from this table; anything else (`--help`, `--http`, whose value is
 * optional, `-kcad`, a mistake) goes to commander (run-command.ts), which words the
 * errors. A test holds both readings equal over every flag.
 */
import { DEFAULT_STOP_GRACE } from '../bridge-config.js';
import { ADDRESS_PLAIN_FLAGS, LOG_FILE_PLAIN_FLAG, LOG_PLAIN_FLAGS } from '../connect-flag-table.js';
import { PlainCommandLine, SWITCH_FLAG, VALUE_FLAG, type PlainFlag } from '../plain-command-line.js';
import { DEFAULT_READY_TIMEOUT } from '../supervisor/ready-gate.js';
import { RESTART_MODES } from '../supervisor/restart-policy.js';
import type { RunFlags } from './run.js';

/** The encoding of a script's output when `--encoding` is not given. */
export const DEFAULT_OUTPUT_ENCODING = 'utf-8';

/** The flags a plain line may use: every flag of the command (run-command.ts) but `--http`. */
export const RUN_PLAIN_FLAGS: ReadonlyMap<string, PlainFlag> = new Map<string, PlainFlag>([
  ['key', { kind: 'value', short: 'k' }],
  ['ahk', VALUE_FLAG],
  ['encoding', { kind: 'value', short: 'e', default: DEFAULT_OUTPUT_ENCODING }],
  ['restart', { kind: 'value', short: 'r', choices: RESTART_MODES }],
  ['stop-grace', { kind: 'value', default: String(DEFAULT_STOP_GRACE) }],
  ['ready-timeout', { kind: 'value', default: String(DEFAULT_READY_TIMEOUT) }],
  ['config', { kind: 'value', short: 'c' }],
  ['queue', { kind: 'repeat', short: 'Q' }],
  ['watch', SWITCH_FLAG],
  ...ADDRESS_PLAIN_FLAGS,
  ['upstream', VALUE_FLAG],
  ...LOG_PLAIN_FLAGS,
  LOG_FILE_PLAIN_FLAG,
]);

const RUN_LINE = new PlainCommandLine(RUN_PLAIN_FLAGS, 1, true);

/**
 * The script, its arguments and the flags of an everyday `bridge run` command line, the
 * flags keyed and defaulted as commander gives them; null when commander must read it
 * (see above).
 * @param args the arguments after `run`
 */
export function parseRunLine(args: readonly string[]): { script: string; args: string[]; flags: RunFlags } | null {
  const line = RUN_LINE.read(args);
  // The table is run-command.ts's flags, which the test holds equal to commander's reading:
  // what it gives is what commander hands the action as RunFlags.
  return line && { script: line.positionals[0]!, args: line.positionals.slice(1), flags: line.flags as unknown as RunFlags };
}
