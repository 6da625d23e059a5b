/**
 * `bridge pub`'s flags as data, and the reader of its everyday command lines that does
 * without commander (plain-command-line.ts).
 *
 * Scripts and batch files start `bridge pub` once per message, so its start is paid per
 * message; commander and Node's CommonJS loader, which comes with it, took about a tenth
 * of that start. An everyday line (the topic, the payload, long flags and the short
 * aliases below as separate arguments) is read from this table; anything else (`--help`,
 * `-sr`, a payload of `-` or one that starts with `-`, a mistake) goes to commander
 * (pub-command.ts), which words the errors. A test holds both readings equal over every
 * flag of the command.
 */
import { CONNECT_PLAIN_FLAGS } from '../connect-flag-table.js';
import { PlainCommandLine, SWITCH_FLAG, VALUE_FLAG, type PlainFlag } from '../plain-command-line.js';
import type { PubFlags } from './pub.js';

/** `--qos` values; the first is the default. */
export const PUB_QOS_CHOICES = ['0', '1'] as const;

/** The flags a plain line may use: every flag of the command (pub-command.ts). */
export const PUB_PLAIN_FLAGS: ReadonlyMap<string, PlainFlag> = new Map<string, PlainFlag>([
  ['string', { kind: 'switch', short: 's' }],
  ['lines', { kind: 'switch', short: 'l' }],
  ['qos', { kind: 'value', short: 'q', choices: PUB_QOS_CHOICES, default: PUB_QOS_CHOICES[0] }],
  ['ttl', VALUE_FLAG],
  ['retain', { kind: 'switch', short: 'r' }],
  ['json', SWITCH_FLAG],
  ...CONNECT_PLAIN_FLAGS,
]);

/** The topic, then an optional payload. */
const PUB_LINE = new PlainCommandLine(PUB_PLAIN_FLAGS, 1, false, 1);

/**
 * The topic, payload and flags of an everyday `bridge pub` command line, the flags keyed
 * and defaulted as commander gives them; null when commander must read it (see above).
 * @param args the arguments after `pub`
 */
export function parsePubLine(args: readonly string[]): { topic: string; payload: string | undefined; flags: PubFlags } | null {
  const line = PUB_LINE.read(args);
  // The table is pub-command.ts's flags, which the test holds equal to commander's reading:
  // what it gives is what commander hands the action as PubFlags.
  return line && { topic: line.positionals[0]!, payload: line.positionals[1], flags: line.flags as unknown as PubFlags };
}
