export { MessageBroker, type MessageBrokerOptions } from './broker.js';
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
export { PersistenceError, type FsyncPolicy, type JournalFs, type PersistenceErrorCode } from './persistence/index.js';
