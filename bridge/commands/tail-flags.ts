/**
 * `bridge tail`'s flags as data, and the reader of its everyday command lines that does
 * without commander (plain-command-line.ts).
 *
 * A tail runs for as long as its queue file is in use, one process per file, started by
 * a script or at logon with the same flags every time; commander, loaded to read that line,
 * held 1.3-1.4 MB of it and took about 20 ms of its start. An everyday line (the file,
 * long flags, and the short aliases below as separate arguments) is read from this table;
 * anything else (`--help`, `-qe`, `-p15234`, a mistake) goes to commander
 * (tail-command.ts), which words the errors. A test holds both readings equal over every
 * flag of the command.
 */
import { CONNECT_PLAIN_FLAGS, LOG_FILE_PLAIN_FLAG } from '../connect-flag-table.js';
import { PlainCommandLine, VALUE_FLAG, type PlainFlag } from '../plain-command-line.js';
import type { TailFlags } from './tail.js';

/** `--qos` values; the last is the default: the apps' clients ack each line. */
export const TAIL_QOS_CHOICES = ['0', '1'] as const;

/** The flags a plain line may use: every flag of the command (tail-command.ts). */
export const TAIL_PLAIN_FLAGS: ReadonlyMap<string, PlainFlag> = new Map<string, PlainFlag>([
  ['encoding', { kind: 'value', short: 'e' }],
  ['prefix', VALUE_FLAG],
  ['map', { kind: 'repeat', short: 'm' }],
  ['map-file', VALUE_FLAG],
  ['position-file', VALUE_FLAG],
  ['dead-letter-file', VALUE_FLAG],
  ['flush-timeout', VALUE_FLAG],
  ['qos', { kind: 'value', short: 'q', choices: TAIL_QOS_CHOICES, default: TAIL_QOS_CHOICES[1] }],
  ...CONNECT_PLAIN_FLAGS,
  LOG_FILE_PLAIN_FLAG,
]);

const TAIL_LINE = new PlainCommandLine(TAIL_PLAIN_FLAGS, 1);

/**
 * The queue file and flags of an everyday `bridge tail` command line, the flags keyed and
 * defaulted as commander gives them; null when commander must read it (see above).
 * @param args the arguments after `tail`
 */
export function parseTailLine(args: readonly string[]): { file: string; flags: TailFlags } | null {
  const line = TAIL_LINE.read(args);
  // The table is tail-command.ts's flags, which the test holds equal to commander's reading:
  // what it gives is what commander hands the action as TailFlags.
  return line && { file: line.positionals[0]!, flags: line.flags as unknown as TailFlags };
}
