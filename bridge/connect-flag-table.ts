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

/** `--log-level` and `--log-format`, which `withLogFlags` adds. */
export const LOG_PLAIN_FLAGS: ReadonlyArray<readonly [string, PlainFlag]> = [['log-level', VALUE_FLAG], LOG_FORMAT_PLAIN_FLAG];

/** The broker's address and token, as the client commands and `bridge run` define them. */
export const ADDRESS_PLAIN_FLAGS: ReadonlyArray<readonly [string, PlainFlag]> = [
  ['host', { kind: 'value', short: 'H' }],
  ['port', { kind: 'value', short: 'p' }],
  ['token', VALUE_FLAG],
];

/** The flags `withConnectFlags` adds, by long name. */
export const CONNECT_PLAIN_FLAGS: ReadonlyArray<readonly [string, PlainFlag]> = [
  ...ADDRESS_PLAIN_FLAGS,
  ['client-id', { kind: 'value', short: 'i' }],
  ...LOG_PLAIN_FLAGS,
];

/** `--log-file`, which `withLogFileFlag` adds (and `bridge broker` defines alike). */
export const LOG_FILE_PLAIN_FLAG: readonly [string, PlainFlag] = ['log-file', VALUE_FLAG];
