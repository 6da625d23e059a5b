/**
 * `bridge broker`: the standalone broker, like the seed's `python -m message_broker`. Its
 * flags and help are in broker-command.ts; this module loads when the command runs.
 */
import {
  ConfigError,
  MessageBroker,
  configFromEnv,
  loadConfigFile,
  parseConfigObject,
  resolveConfig,
  type BrokerConfig,
} from '../../src/broker/index.js';
import { Logger } from '../../src/log/logger.js';
import { CliError } from '../cli-error.js';
import { optimizeForLoad, resumeOptimization, resumeOptimizationUnderLoad } from '../deferred-optimization.js';
import { httpFlag, upstreamFlag } from '../hosting-flags.js';
import { logFileSink } from '../log-file.js';
import type { StatusPage } from '../status-page/status-page.js';
import { onShutdownSignal } from '../signals.js';
import { FLAG_KEYS } from './broker-flags.js';

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

/** Run `bridge broker` with its parsed flags. */
export async function runBroker(flags: Record<string, unknown>): Promise<void> {
  let config: BrokerConfig;
  // The status page, and all it loads, only for a broker that serves one.
  let pageModule: typeof import('../status-page/status-page.js') | null = null;
  try {
    const fromFile = typeof flags.config === 'string' ? loadConfigFile(flags.config) : {};
    config = resolveConfig(fromFile, configFromEnv(), configFromFlags(flags));
    if (flags.http !== undefined) config.http = httpFlag(flags.http as string | boolean);
    if (typeof flags.upstream === 'string') config.federation = upstreamFlag(flags.upstream);
    if (config.http) {
      pageModule = await import('../status-page/status-page.js');
      pageModule.checkPageExposure(config.http, config);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const format = flags.logFormat as 'text' | 'json';
  const sink = typeof flags.logFile === 'string' ? logFileSink(flags.logFile, format) : undefined;
  const log = new Logger({ level: config.log_level, format, component: 'broker', sink });
  const broker = new MessageBroker(config, { logger: log, onBulkRead: () => optimizeForLoad({ kind: 'bulk_read' }) });
  // Handlers first: a supervisor (Python's MessageBroker) may signal the moment it reads
  // the "listening" line, which start() logs before it returns.
  let page: StatusPage | null = null;
  const started = broker.start().then(async () => {
    if (!config.http || !pageModule) return;
    page = new pageModule.StatusPage({ broker, setting: config.http, log: log.child('http') });
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
    // Failed: whatever runs from here on (the exit) is not worth holding the compilers for.
    resumeOptimization();
    throw new CliError((err as Error).message);
  }
  // Loaded and listening: from here on what runs hot is the traffic's work, worth
  // optimizing once there is enough of it.
  resumeOptimizationUnderLoad((sign) =>
    log.debug('optimizing compiler on: the broker is under load', sign.kind === 'cpu' ? { sign: sign.kind, cpu_share: Number(sign.share.toFixed(2)) } : { sign: sign.kind }),
  );
}
