/**
 * `bridge broker`'s flags as data, and a reader for its everyday command lines that does
 * without commander.
 *
 * The broker is the process that sits idle for days, and commander, loaded to read one
 * command line, held 1.0 MB of it (a CommonJS package: Node's CommonJS loader and the lexer
 * that finds its exports come with it; 2.3 MB in a bare Node). So an everyday `bridge broker ...` (long
 * flags, `--name value` or `--name=value`, and `-c FILE`) is read here (by a loop:
 * `util.parseArgs` measured 0.2 MB more), and anything else (`--help`, `--http` with its optional value, a
 * short flag, a mistake) goes to commander (broker-command.ts), which reads it and words
 * the errors as for every other command. Both read the same table below; a test holds
 * their results equal over every flag.
 */
import { CONFIG_KEYS, FILE_ONLY_KEYS, type BrokerConfig } from '../../src/broker/config.js';

/** Config options given as bare switches. */
export const BOOLEAN_KEYS: ReadonlySet<keyof BrokerConfig> = new Set<keyof BrokerConfig>(['log_messages', 'persistence_enabled', 'allow_anonymous']);
/** Options given as flags; lists and objects (per-client credentials) live in the config file. */
export const FLAG_KEYS = CONFIG_KEYS.filter((key) => !FILE_ONLY_KEYS.has(key));
/** `--log-format` values; the first is the default. */
export const LOG_FORMATS = ['text', 'json'] as const;

/** The flag of a config key: `max_connections` -> `max-connections`. */
export const flagName = (key: string): string => key.replace(/_/g, '-');
/** The key commander gives a flag's value: `stop-on-stdin-close` -> `stopOnStdinClose`. */
const attributeName = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Every flag `parseBrokerFlags` reads, and whether it takes a value: all of the command's but `--http [addr]`. */
const EVERYDAY_FLAGS: ReadonlyMap<string, 'value' | 'switch'> = new Map([
  ['config', 'value'],
  ['log-format', 'value'],
  ['stop-on-stdin-close', 'switch'],
  ['persist', 'value'],
  ['upstream', 'value'],
  ['log-file', 'value'],
  ...FLAG_KEYS.map((key): [string, 'value' | 'switch'] => [flagName(key), BOOLEAN_KEYS.has(key) ? 'switch' : 'value']),
]);

/**
 * The flags of an everyday `bridge broker` command line, keyed as commander keys them
 * (`logFormat`, `maxConnections`, ...) with the same defaults; null when commander must
 * read it (see above).
 * @param args the arguments after `broker`
 */
export function parseBrokerFlags(args: readonly string[]): Record<string, unknown> | null {
  const flags: Record<string, unknown> = { logFormat: LOG_FORMATS[0] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const long = /^--([a-z][a-z0-9-]*)(?:=([^]*))?$/.exec(arg);
    const name = long ? long[1]! : arg === '-c' ? 'config' : null;
    const kind = name === null ? undefined : EVERYDAY_FLAGS.get(name);
    // A positional, a short flag but -c, --help, --http, an unknown flag: commander's.
    if (name === null || kind === undefined) return null;
    const inline = long?.[2];
    if (kind === 'switch') {
      if (inline !== undefined) return null;
      flags[attributeName(name)] = true;
      continue;
    }
    const value = inline ?? args[++i];
    // A missing value, or one that looks like a flag (commander would take it as the value).
    if (value === undefined || (inline === undefined && value.startsWith('-'))) return null;
    // Commander checks each --log-format as it reads it, so a bad one refuses the line even
    // when a good one follows.
    if (name === 'log-format' && !(LOG_FORMATS as readonly string[]).includes(value)) return null;
    flags[attributeName(name)] = value;
  }
  return flags;
}
