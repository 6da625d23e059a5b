export { MessageBroker, type MessageBrokerOptions } from './broker.js';
export {
  CONFIG_KEYS,
  ConfigError,
  DEFAULT_CONFIG,
  FILE_ONLY_KEYS,
  configFromEnv,
  loadConfigFile,
  parseConfigObject,
  readJsonConfigFile,
  resolveConfig,
  type BrokerConfig,
} from './config.js';
