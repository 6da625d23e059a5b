/**
 * ahk-bridge as a library: the broker, the client, and the protocol types they share.
 */
export { MessageBroker, type MessageBrokerOptions } from './broker/broker.js';
export { ConfigError, DEFAULT_CONFIG, configFromEnv, loadConfigFile, resolveConfig, type BrokerConfig } from './broker/config.js';
export * from './client/index.js';
export { Logger, parseLogLevel, type LogLevel } from './log/logger.js';
export { topicMatches, patternError, topicError } from './protocol/topics.js';
export type { DeliveryParams, DisconnectReason, PublishResult } from './protocol/messages.js';
export { VERSION } from './version.js';
