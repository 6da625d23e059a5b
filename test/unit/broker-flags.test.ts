/**
 * `bridge broker`'s everyday command lines are read without commander
 * (bridge/commands/broker-flags.ts); every one of them must give the broker exactly the
 * flags commander gives it (bridge/commands/broker-command.ts), and every other line must
 * be left to commander.
 */
import { describe, expect, it } from 'vitest';
import { brokerCommand } from '../../bridge/commands/broker-command.js';
import { BOOLEAN_KEYS, BROKER_PLAIN_FLAGS, FLAG_KEYS, flagName, parseBrokerFlags } from '../../bridge/commands/broker-flags.js';
import { commanderReading, tableMismatches } from '../helpers/plain-flag-table.js';

/** What commander hands the broker's action for `args`. */
function viaCommander(args: string[]): Record<string, unknown> {
  return commanderReading(brokerCommand(), args).flags;
}

const valueOf = (key: string): string => (key === 'port' ? '15999' : key === 'log_level' ? 'debug' : `v-${key}`);

/** Every flag, in each form, and lines people write. */
const EVERYDAY: string[][] = [
  [],
  ...FLAG_KEYS.flatMap((key) =>
    BOOLEAN_KEYS.has(key) ? [[`--${flagName(key)}`]] : [[`--${flagName(key)}`, valueOf(key)], [`--${flagName(key)}=${valueOf(key)}`]],
  ),
  ['-c', 'broker.json'],
  ['-p', '16380'],
  ['-H', '0.0.0.0'],
  ['-H', '::1', '-p', '16381', '--log-level', 'silent'],
  ['--config', 'C:\\shop\\broker.json'],
  ['--config=broker.json'],
  ['--log-format', 'json'],
  ['--log-format=text'],
  ['--stop-on-stdin-close'],
  ['--persist', 'C:\\ProgramData\\bridge'],
  ['--upstream', 'nats://10.0.0.5:4222'],
  ['--log-file', 'C:\\logs\\broker.log'],
  ['--port', '15234', '--log-level', 'info', '--stop-on-stdin-close', '--log-format', 'json'],
  ['--port', '1', '--port', '2'],
  ['--token='],
  ['--token=a=b'],
  ['--token', 'with spaces'],
  ['--token=-starts-with-a-dash'],
];

/** Lines commander must read: help, --http's optional value, short flags, mistakes. */
const COMMANDERS: string[][] = [
  ['--help'],
  ['-h'],
  ['--http'],
  ['--http', '8080'],
  ['--http=8080'],
  ['--bogus'],
  ['extra'],
  ['--port'],
  ['--port', '--log-level', 'info'],
  ['--token', '-starts-with-a-dash'],
  ['--log-messages=true'],
  ['--log-format', 'xml'],
  ['--log-format', 'xml', '--log-format', 'json'],
  ['-cbroker.json'],
  ['-c=broker.json'],
  ['-c'],
  ['--', '--port', '1'],
  ['-p16380'],
  ['-p'],
  ['-P', '1'],
  ['-x', '1'],
  ['--Port', '1'],
  ['--no-log-messages'],
];

describe('bridge broker flags without commander', () => {
  it('every everyday line gives exactly what commander gives', () => {
    for (const args of EVERYDAY) {
      expect(parseBrokerFlags(args), JSON.stringify(args)).toEqual(viaCommander(args));
    }
  });

  it('every other line is left to commander', () => {
    for (const args of COMMANDERS) expect(parseBrokerFlags(args), JSON.stringify(args)).toBeNull();
  });

  it('lists no flag, alias, kind, choice or default that commander does not', () => {
    expect(tableMismatches(BROKER_PLAIN_FLAGS, brokerCommand().options)).toEqual([]);
  });

  it('takes -H and -p, as the client commands do', () => {
    expect(parseBrokerFlags(['-H', '0.0.0.0', '-p', '16380'])).toMatchObject({ host: '0.0.0.0', port: '16380' });
    expect(viaCommander(['-H', '0.0.0.0', '-p', '16380'])).toMatchObject({ host: '0.0.0.0', port: '16380' });
  });

  it('lists every log level, silent too, in --log-level\'s help', () => {
    const help = brokerCommand().options.find((option) => option.long === '--log-level')!.description;
    expect(help).toContain('silent');
  });

  it('reads every flag of the command but --http', () => {
    const flags = brokerCommand().options.map((option) => option.long!);
    const read = flags.filter((flag) => parseBrokerFlags(flag.startsWith('--log-format') ? [flag, 'json'] : [flag, 'x']) !== null || parseBrokerFlags([flag]) !== null);
    expect(flags.filter((flag) => !read.includes(flag))).toEqual(['--http']);
  });
});
