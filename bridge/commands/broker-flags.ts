/**
 * `bridge broker`'s flags as data, and the reader of its everyday command lines that does
 * without commander (plain-command-line.ts).
 *
 * The broker is the process that sits idle for days, and commander, loaded to read one
 * command line, held 1.0 MB of it. So an everyday `bridge broker ...` (long flags,
 * `--name value` or `--name=value`, and `-c FILE`, `-H HOST`, `-p PORT`) is read from the table below (by a
 * loop: `util.parseArgs` measured 0.2 MB more), and anything else (`--help`, `--http`
 * with its optional value, another short flag, a mistake) goes to commander
 * (broker-command.ts), which reads it and words the errors as for every other command.
 * Both read the same table; a test holds their results equal over every flag.
 */
import { CONFIG_KEYS, FILE_ONLY_KEYS, type BrokerConfig } from '../../src/broker/config.js';
import { LOG_FILE_PLAIN_FLAG, LOG_FORMAT_PLAIN_FLAG } from '../connect-flag-table.js';
import { PlainCommandLine, SWITCH_FLAG, VALUE_FLAG, type PlainFlag } from '../plain-command-line.js';

/** Config options given as bare switches. */
export const BOOLEAN_KEYS: ReadonlySet<keyof BrokerConfig> = new Set<keyof BrokerConfig>(['log_messages', 'persistence_enabled', 'allow_anonymous']);
/** Options given as flags; lists and objects (per-client credentials) live in the config file. */
export const FLAG_KEYS = CONFIG_KEYS.filter((key) => !FILE_ONLY_KEYS.has(key));

/** The flag of a config key: `max_connections` -> `max-connections`. */
export const flagName = (key: string): string => key.replace(/_/g, '-');

/**
 * The one-letter aliases of config keys: the client commands take `-H`/`-p` for the
 * broker's address, and people (mosquitto's users among them) type `bridge broker -p N`.
 */
export const SHORT_FLAGS: Partial<Record<keyof BrokerConfig, string>> = { host: 'H', port: 'p' };

/** A config key's flag in the plain table: a switch or a value, with its alias if it has one. */
function plainFlag(key: keyof BrokerConfig): PlainFlag {
  if (BOOLEAN_KEYS.has(key)) return SWITCH_FLAG;
  const short = SHORT_FLAGS[key];
  return short === undefined ? VALUE_FLAG : { kind: 'value', short };
}

/** The flags a plain line may use: all of the command's but `--http [addr]`. */
export const BROKER_PLAIN_FLAGS: ReadonlyMap<string, PlainFlag> = new Map<string, PlainFlag>([
  ['config', { kind: 'value', short: 'c' }],
  LOG_FORMAT_PLAIN_FLAG,
  ['stop-on-stdin-close', SWITCH_FLAG],
  ['persist', VALUE_FLAG],
  ['upstream', VALUE_FLAG],
  LOG_FILE_PLAIN_FLAG,
  ...FLAG_KEYS.map((key): [string, PlainFlag] => [flagName(key), plainFlag(key)]),
]);

const BROKER_LINE = new PlainCommandLine(BROKER_PLAIN_FLAGS, 0);

/**
 * The flags of an everyday `bridge broker` command line, keyed as commander keys them
 * (`logFormat`, `maxConnections`, ...) with the same defaults; null when commander must
 * read it (see above).
 * @param args the arguments after `broker`
 */
export function parseBrokerFlags(args: readonly string[]): Record<string, unknown> | null {
  return BROKER_LINE.read(args)?.flags ?? null;
}
