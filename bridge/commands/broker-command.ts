/**
 * `bridge broker`: its flags and help. The work is in broker.ts, loaded when the command
 * runs, so that `bridge --help` and every other command do not load the broker's action.
 * Its everyday command lines are read without commander (broker-flags.ts), from the same
 * flag table.
 */
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG, FSYNC_POLICIES, type BrokerConfig } from '../../src/broker/config.js';
import { LOG_LEVELS } from '../../src/log/logger.js';
import { withHttpFlag, withLogFileFlag } from '../connect-flags.js';
import { LOG_FORMATS } from '../connect-flag-table.js';
import { BOOLEAN_KEYS, FLAG_KEYS, SHORT_FLAGS, flagName } from './broker-flags.js';
const HELP: Partial<Record<keyof BrokerConfig, string>> = {
  host: 'interface to listen on; "localhost" = 127.0.0.1 and ::1 (env BROKER_HOST)',
  port: 'TCP port (env BROKER_PORT)',
  log_level: `${LOG_LEVELS.join(', ')} (env BROKER_LOG_LEVEL)`,
  token: 'shared secret clients must send in connect',
  allow_anonymous: 'accept clients without credentials even when listening beyond loopback (not recommended)',
  legacy_encoding: 'code page for frames that are not UTF-8 (older AHK clients send ANSI)',
  log_messages: 'log every publish',
  persistence_enabled: 'keep retained messages, sessions and unacked QoS 1 messages in persistence_path across restarts',
  persistence_path: 'the persistence directory (created when missing; one broker at a time)',
  persistence_fsync: `when a stored change counts as durable: ${FSYNC_POLICIES.join(', ')}`,
};

export function brokerCommand(): Command {
  const cmd = new Command('broker')
    .description('run the message broker in the foreground (Ctrl+C stops it cleanly)')
    .option('-c, --config <file>', 'JSON config file with broker options (seed names: port, max_connections, ...)')
    .addOption(new Option('--log-format <format>', 'log line format').choices(LOG_FORMATS).default(LOG_FORMATS[0]))
    .option('--stop-on-stdin-close', 'stop cleanly when stdin closes (for a parent process that runs the broker)')
    .option('--persist <dir>', 'keep retained messages, sessions and unacked QoS 1 messages in <dir> across restarts (sets persistence_enabled and persistence_path)');
  withHttpFlag(cmd);
  withLogFileFlag(cmd);
  for (const key of FLAG_KEYS) {
    const desc = `${HELP[key] ?? key.replace(/_/g, ' ')} (default ${JSON.stringify(DEFAULT_CONFIG[key])})`;
    const short = SHORT_FLAGS[key];
    const flags = `${short === undefined ? '' : `-${short}, `}--${flagName(key)}`;
    cmd.addOption(BOOLEAN_KEYS.has(key) ? new Option(flags, desc) : new Option(`${flags} <value>`, desc));
  }
  cmd.addHelpText(
    'after',
    '\nPrecedence: defaults < --config file < BROKER_HOST/BROKER_PORT/BROKER_LOG_LEVEL < flags.\n' +
      'Per-client credentials and permissions ("clients", "anonymous_permissions") are set in the config file.',
  );
  cmd.action(async (flags: Record<string, unknown>) => (await import('./broker.js')).runBroker(flags));
  return cmd;
}
