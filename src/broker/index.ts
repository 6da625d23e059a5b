export { MessageBroker, type MessageBrokerOptions } from './broker.js';
export { BrokerMonitor, type BrokerCounters, type BrokerGauges, type BrokerOverview, type ClientRow } from './monitor/broker-monitor.js';
export type { TopicEntry } from './monitor/topic-activity.js';
export { DEFAULT_HTTP_PORT, parseHttpSetting, type HttpSetting } from './http-setting.js';
export { parseFederationSetting, type FederationSetting } from './federation/federation-setting.js';
export type { FederationStatus } from './federation/federation.js';
export {
  CONFIG_KEYS,
  ConfigError,
  DEFAULT_CONFIG,
  FILE_ONLY_KEYS,
  FSYNC_POLICIES,
  configFromEnv,
  loadConfigFile,
  parseConfigObject,
  readJsonConfigFile,
  resolveConfig,
  type BrokerConfig,
} from './config.js';
// From the error's own module: the journal's modules load only when persistence is on.
export { PersistenceError, type PersistenceErrorCode } from './persistence/errors.js';
export type { FsyncPolicy, JournalFs } from './persistence/index.js';
