/**
 * The connection and log flags of the commands that are clients of a broker, as data:
 * connect-flags.ts defines them for commander, and a command read without commander
 * (plain-command-line.ts) reads them from here. Loading this loads no commander.
 */
import type { PlainFlag } from './plain-command-line.js';

/** `--log-format` values; the first is the default. */
export const LOG_FORMATS = ['text', 'json'] as const;

/** The flags `withConnectFlags` adds, by long name. */
export const CONNECT_PLAIN_FLAGS: ReadonlyArray<readonly [string, PlainFlag]> = [
  ['host', { kind: 'value', short: 'H' }],
  ['port', { kind: 'value', short: 'p' }],
  ['client-id', { kind: 'value', short: 'i' }],
  ['token', { kind: 'value' }],
  ['log-level', { kind: 'value' }],
  ['log-format', { kind: 'value', choices: LOG_FORMATS }],
];

/** `--log-file`, which `withLogFileFlag` adds. */
export const LOG_FILE_PLAIN_FLAG: readonly [string, PlainFlag] = ['log-file', { kind: 'value' }];
