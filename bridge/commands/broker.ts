/** `bridge broker`: the standalone broker, like the seed's `python -m message_broker`. */
import { Command, Option } from 'commander';
import {
  CONFIG_KEYS,
  ConfigError,
  DEFAULT_CONFIG,
  FILE_ONLY_KEYS,
  FSYNC_POLICIES,
  MessageBroker,
  configFromEnv,
  loadConfigFile,
  parseConfigObject,
  resolveConfig,
  type BrokerConfig,
} from '../../src/broker/index.js';
import { Logger } from '../../src/log/logger.js';
import { CliError } from '../cli-error.js';
import { httpFlag, upstreamFlag, withHttpFlag } from '../connect-options.js';
import { checkPageExposure, StatusPage } from '../status-page/status-page.js';
import { onShutdownSignal } from '../signals.js';

const BOOLEAN_KEYS = new Set<keyof BrokerConfig>(['log_messages', 'persistence_enabled', 'allow_anonymous']);
/** Options given as flags; lists and objects (per-client credentials) live in the config file. */
const FLAG_KEYS = CONFIG_KEYS.filter((key) => !FILE_ONLY_KEYS.has(key));
const HELP: Partial<Record<keyof BrokerConfig, string>> = {
  host: 'interface to listen on; "localhost" = 127.0.0.1 and ::1 (env BROKER_HOST)',
  port: 'TCP port (env BROKER_PORT)',
  log_level: 'debug, info, warning, error, critical (env BROKER_LOG_LEVEL)',
  token: 'shared secret clients must send in connect',
  allow_anonymous: 'accept clients without credentials even when listening beyond loopback (not recommended)',
  legacy_encoding: 'code page for frames that are not UTF-8 (older AHK clients send ANSI)',
  log_messages: 'log every publish',
  persistence_enabled: 'keep retained messages, sessions and unacked QoS 1 messages in persistence_path across restarts',
  persistence_path: 'the persistence directory (created when missing; one broker at a time)',
  persistence_fsync: `when a stored change counts as durable: ${FSYNC_POLICIES.join(', ')}`,
};

const flagName = (key: string): string => key.replace(/_/g, '-');
const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Broker options from parsed flags: only those the user actually gave. */
function configFromFlags(flags: Record<string, unknown>): Partial<BrokerConfig> {
  const given: Record<string, unknown> = {};
  for (const key of FLAG_KEYS) {
    const v = flags[camel(key)];
    if (v !== undefined) given[key] = v;
  }
  // `--persist DIR` is the short way to say both persistence options.
  if (typeof flags.persist === 'string') {
    if (given.persistence_path !== undefined && given.persistence_path !== flags.persist) {
      throw new ConfigError(`command line: --persist ${flags.persist} and --persistence-path ${String(given.persistence_path)} name different directories; give one`);
    }
    given.persistence_enabled = true;
    given.persistence_path = flags.persist;
  }
  return parseConfigObject(given, 'command line');
}

export function brokerCommand(): Command {
  const cmd = new Command('broker')
    .description('run the message broker in the foreground (Ctrl+C stops it cleanly)')
    .option('-c, --config <file>', 'JSON config file with broker options (seed names: port, max_connections, ...)')
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .option('--stop-on-stdin-close', 'stop cleanly when stdin closes (for a parent process that runs the broker)')
    .option('--persist <dir>', 'keep retained messages, sessions and unacked QoS 1 messages in <dir> across restarts (sets persistence_enabled and persistence_path)');
  withHttpFlag(cmd);
  for (const key of FLAG_KEYS) {
    const desc = `${HELP[key] ?? key.replace(/_/g, ' ')} (default ${JSON.stringify(DEFAULT_CONFIG[key])})`;
    cmd.addOption(BOOLEAN_KEYS.has(key) ? new Option(`--${flagName(key)}`, desc) : new Option(`--${flagName(key)} <value>`, desc));
  }
  cmd.addHelpText(
    'after',
    '\nPrecedence: defaults < --config file < BROKER_HOST/BROKER_PORT/BROKER_LOG_LEVEL < flags.\n' +
      'Per-client credentials and permissions ("clients", "anonymous_permissions") are set in the config file.',
  );
  cmd.action(async (flags: Record<string, unknown>) => {
    let config: BrokerConfig;
    try {
      const fromFile = typeof flags.config === 'string' ? loadConfigFile(flags.config) : {};
      config = resolveConfig(fromFile, configFromEnv(), configFromFlags(flags));
      if (flags.http !== undefined) config.http = httpFlag(flags.http as string | boolean);
      if (typeof flags.upstream === 'string') config.federation = upstreamFlag(flags.upstream);
      if (config.http) checkPageExposure(config.http, config);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message);
      throw err;
    }
    const log = new Logger({ level: config.log_level, format: flags.logFormat as 'text' | 'json', component: 'broker' });
    const broker = new MessageBroker(config, { logger: log });
    // Handlers first: a supervisor (Python's MessageBroker) may signal the moment it reads
    // the "listening" line, which start() logs before it returns.
    let page: StatusPage | null = null;
    const started = broker.start().then(async () => {
      if (!config.http) return;
      page = new StatusPage({ broker, setting: config.http, log: log.child('http') });
      await page.start();
    });
    const removeHandlers = onShutdownSignal(async (signal) => {
      await started.catch(() => undefined); // a failed start is reported below
      await page?.stop();
      await broker.stop(signal === 'stdin_closed' ? 'parent_exited' : signal === 'SIGINT' || signal === 'SIGBREAK' ? 'interrupted' : 'terminated');
      process.exit(0);
    }, log, { stdin: flags.stopOnStdinClose === true ? process.stdin : undefined });
    try {
      await started;
    } catch (err) {
      removeHandlers();
      // A status page that cannot listen leaves no broker behind it.
      if (broker.running) await broker.stop('status page failed');
      throw new CliError((err as Error).message);
    }
  });
  return cmd;
}
