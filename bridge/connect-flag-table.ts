/**
 * The connection and log flags of the commands that are clients of a broker, as data:
 * connect-flags.ts defines them for commander, and a command read without commander
 * (plain-command-line.ts) reads them from here. Loading this loads no commander.
 */
import { VALUE_FLAG, type PlainFlag } from './plain-command-line.js';

/** `--log-format` values; the first is the default. */
export const LOG_FORMATS = ['text', 'json'] as const;

/** `--log-format`, which `withLogFlags` adds (and `bridge broker` defines alike). */
export const LOG_FORMAT_PLAIN_FLAG: readonly [string, PlainFlag] = ['log-format', { kind: 'value', choices: LOG_FORMATS, default: LOG_FORMATS[0] }];

/** The flags `withConnectFlags` adds, by long name. */
export const CONNECT_PLAIN_FLAGS: ReadonlyArray<readonly [string, PlainFlag]> = [
  ['host', { kind: 'value', short: 'H' }],
  ['port', { kind: 'value', short: 'p' }],
  ['client-id', { kind: 'value', short: 'i' }],
  ['token', VALUE_FLAG],
  ['log-level', VALUE_FLAG],
  LOG_FORMAT_PLAIN_FLAG,
];

/** `--log-file`, which `withLogFileFlag` adds (and `bridge broker` defines alike). */
export const LOG_FILE_PLAIN_FLAG: readonly [string, PlainFlag] = ['log-file', VALUE_FLAG];
